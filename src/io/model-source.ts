// Where a model's bytes come from — a Uint8Array, a file (Node), or a URL (fetch; file: URLs are read from
// disk on Node) — and the embedded Fashion-MNIST prior. No static Node import: this module is part of the
// browser build of the library, which reaches the file system only through process.getBuiltinModule.
import type { Engine } from '../engine/executor.js';
import { loadUNet } from '../unet/index.js';
import type { UNet } from '../unet/model.js';

/**
 * The embedded prior (models/README.md): a 1.37 M-parameter ADM UNet trained on Fashion-MNIST, 32×32 gray.
 * Resolved relative to this module, which sits two folders below the package root both as a source file
 * (src/io/) and in the Node build (dist/node/); in a browser, serve the file and pass its URL instead.
 */
export const EMBEDDED_MODEL_URL: URL = new URL('../../models/fmnist-unet.safetensors', import.meta.url);

export type ModelSource = Uint8Array | ArrayBuffer | string | URL;

function nodeFs(): { readFileSync(p: string | URL): Uint8Array } | undefined {
  return (globalThis as any).process?.getBuiltinModule?.('fs');
}

/** The bytes of a model source; `label` names it in error messages. */
export async function readSource(source: ModelSource): Promise<{ bytes: Uint8Array; label: string }> {
  if (source instanceof Uint8Array) return { bytes: source, label: 'model bytes' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), label: 'model bytes' };
  const text = source instanceof URL ? source.href : source;
  // a URL scheme (http:, https:, file:, data:, blob:); one letter is a Windows drive ("C:\\...")
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(text)?.[1]?.toLowerCase();
  const fs = nodeFs();
  if (fs && (scheme === undefined || scheme === 'file')) {
    const path = scheme === 'file' ? new URL(text) : text;
    const label = scheme === 'file' ? decodeURIComponent(new URL(text).pathname) : text;
    try {
      const buf = fs.readFileSync(path);
      return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), label };
    } catch (e) {
      throw new Error(`${label}: cannot read (${(e as { code?: string }).code ?? (e as Error).message})`);
    }
  }
  // in a browser a plain path is a URL relative to the page
  const url = text;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`${url}: fetch failed (${(e as Error).message})`);
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), label: url };
}

/**
 * A UNet prior from a weight file written by `posterior convert` (safetensors with the model config in its
 * metadata): bytes, a file path (Node), or a URL. Without a source, the embedded Fashion-MNIST model.
 */
export async function loadModel(engine: Engine, source: ModelSource = EMBEDDED_MODEL_URL): Promise<UNet> {
  const { bytes, label } = await readSource(source);
  return loadUNet(engine, bytes, label);
}
