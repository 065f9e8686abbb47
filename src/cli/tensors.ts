// Image and tensor files for the CLI: PNG (gray or RGB, values mapped to [−1, 1]) or safetensors (a named
// tensor, NCHW float).
import { existsSync } from 'node:fs';
import { firstNonFinite, parseSafetensors, tensorToFloat32, type SerializableTensor } from '../engine/safetensors.ts';
import { readFileBytes } from '../engine/safetensors-node.ts';
import { writeFilesAtomic, writeSafetensorsFile } from '../io/atomic.ts';
import { encodePng, readPng } from '../io/png.ts';

export interface HostTensor {
  data: Float32Array;
  shape: number[];
}

export const isPng = (p: string) => /\.png$/i.test(p);
export const isSafetensors = (p: string) => /\.safetensors$/i.test(p);

function mustExist(path: string, what: string) {
  if (!existsSync(path)) throw new Error(`${what}: no such file '${path}'`);
}

/** An image [1, C, H, W] from a PNG, or tensor `name` from a safetensors file. */
export function readImage(path: string, opts: { channels?: number; size?: number; name?: string } = {}): HostTensor {
  mustExist(path, 'input');
  if (isPng(path)) {
    const img = readPng(path, { channels: opts.channels as 1 | 3 | undefined });
    const [, c, h, w] = img.shape;
    if (opts.size && (h !== opts.size || w !== opts.size)) {
      throw new Error(
        `${path}: the model takes ${opts.size}×${opts.size} images, this one is ${h}×${w} (resize it first)`,
      );
    }
    if (opts.channels && c !== opts.channels)
      throw new Error(`${path}: the model takes ${opts.channels}-channel images, this one has ${c}`);
    return { data: img.data, shape: [...img.shape] };
  }
  if (isSafetensors(path)) return readTensor(path, opts.name ?? 'x');
  throw new Error(`${path}: expected a .png or .safetensors file`);
}

export function readTensors(path: string): Map<string, HostTensor> {
  mustExist(path, 'tensor file');
  const parsed = parseSafetensors(readFileBytes(path), path);
  const out = new Map<string, HostTensor>();
  for (const [k, t] of parsed.tensors) {
    const data = tensorToFloat32(t);
    // a NaN or Inf in an image, a measurement or replayed noise would run to an all-NaN result with exit 0
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new Error(`${path}: tensor '${k}' holds a non-finite value (${data[bad]} at index ${bad})`);
    out.set(k, { data, shape: [...t.shape] });
  }
  return out;
}

export function readTensor(path: string, name: string): HostTensor {
  const all = readTensors(path);
  const t = all.get(name);
  if (!t) throw new Error(`${path}: no tensor '${name}' (has: ${[...all.keys()].join(', ') || 'none'})`);
  return t;
}

export function readMetadata(path: string): Record<string, string> {
  return parseSafetensors(readFileBytes(path), path).metadata;
}

/**
 * The files writeOutputs(path, tensors named `names`, main) writes: `path` itself, and for a .png output one
 * `OUT-<name>.png` beside it per other tensor. Check them with checkOutputPaths before any work.
 */
export function outputFiles(path: string, names: readonly string[], main: string): string[] {
  if (!isPng(path)) return [path];
  return names.map((k) => (k === main ? path : path.replace(/\.png$/i, `-${k}.png`)));
}

/**
 * Writes tensors to a safetensors file, or — for a .png path — `main` as PNG and the others beside it. Atomic,
 * and for PNG sets all-or-nothing (src/io/atomic.ts).
 */
export function writeOutputs(
  path: string,
  tensors: Record<string, HostTensor>,
  main: string,
  metadata: Record<string, string> = {},
): string[] {
  if (isSafetensors(path)) {
    const st: Record<string, SerializableTensor> = {};
    for (const [k, v] of Object.entries(tensors)) st[k] = { shape: v.shape, data: v.data };
    writeSafetensorsFile(path, st, metadata);
    return [path];
  }
  if (!isPng(path)) throw new Error(`${path}: output must be .png or .safetensors`);
  const names = Object.keys(tensors);
  const files = outputFiles(path, names, main);
  writeFilesAtomic(
    names.map((k, i) => {
      const v = tensors[k];
      return {
        path: files[i],
        data: encodePng(toImageRange(k, v), v.shape.length === 4 ? v.shape : [1, 1, ...v.shape.slice(-2)]),
      };
    }),
  );
  return files;
}

/** Masks (0/1) and blur kernels (sum 1) are rescaled to [−1, 1] for viewing; images pass as they are. */
function toImageRange(name: string, t: HostTensor): Float32Array {
  if (name === 'mask') return t.data.map((v) => 2 * v - 1);
  if (name === 'kernel' || name === 'magnitude') {
    let m = 0;
    for (const v of t.data) m = Math.max(m, Math.abs(v));
    return t.data.map((v) => (2 * v) / (m || 1) - 1);
  }
  return t.data;
}
