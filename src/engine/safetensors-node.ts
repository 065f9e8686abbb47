// Node-only file access for safetensors (kept apart from safetensors.ts so browser bundles never
// pull in node:fs).
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { parseSafetensors, safetensorsParts, type ParsedSafetensors, type SerializableTensors } from './safetensors.ts';

/**
 * Read a whole file into memory. Unlike fs.readFileSync this also works above 2 GiB (the
 * ImageNet 256 ADM checkpoint is ~2.2 GB), by reading into one preallocated buffer in chunks.
 */
export function readFileBytes(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const out = new Uint8Array(size);
    const CHUNK = 1 << 30;
    let pos = 0;
    while (pos < size) {
      const n = readSync(fd, out, pos, Math.min(CHUNK, size - pos), pos);
      if (n === 0) throw new Error(`${path}: file shrank while reading (got ${pos} of ${size} bytes)`);
      pos += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Write a sequence of buffers to a file without concatenating them first. */
export function writeFileParts(path: string, parts: Iterable<Uint8Array>): void {
  const fd = openSync(path, 'w');
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, Math.min(p.length - off, 1 << 30));
    }
  } finally {
    closeSync(fd);
  }
}

export function readSafetensorsFile(path: string): ParsedSafetensors {
  return parseSafetensors(readFileBytes(path), path);
}

export function writeSafetensorsFile(
  path: string,
  tensors: SerializableTensors,
  metadata?: Record<string, string>,
): void {
  writeFileParts(path, safetensorsParts(tensors, metadata));
}
