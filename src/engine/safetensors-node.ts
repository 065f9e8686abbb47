// Node-only file reading for safetensors (kept apart from safetensors.ts so browser bundles never pull in
// node:fs). Writing goes through src/io/atomic.ts (temporary file + rename), which the engine must not import.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseSafetensors, type ParsedSafetensors } from './safetensors.ts';

/**
 * Read a whole file into memory. Unlike fs.readFileSync this also works above 2 GiB (the
 * ImageNet 256 ADM checkpoint is ~2.2 GB), by reading into one preallocated buffer in chunks.
 * Errors name the file: "<path>: no such file", "<path>: is a directory", ….
 */
export function readFileBytes(path: string, maxBytes = 16 * 2 ** 30): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`${path}: ${describeFsError(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new Error(`${path}: is a directory, not a file`);
    const size = st.size;
    if (size > maxBytes) throw new Error(`${path}: ${size} bytes, above the ${maxBytes}-byte limit for this file`);
    const out = new Uint8Array(size);
    const CHUNK = 1 << 30;
    let pos = 0;
    while (pos < size) {
      const n = readSync(fd, out, pos, Math.min(CHUNK, size - pos), pos);
      if (n === 0) throw new Error(`${path}: file shrank while reading (got ${pos} of ${size} bytes)`);
      pos += n;
    }
    return out;
  } catch (e) {
    if (e instanceof Error && e.message.startsWith(`${path}: `)) throw e;
    throw new Error(`${path}: ${describeFsError(e)}`);
  } finally {
    closeSync(fd);
  }
}

/** "no such file", "permission denied", … from a Node fs error, without the syscall noise. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const known: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory, not a file',
    ENOTDIR: 'a component of the path is not a directory',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
    EMFILE: 'too many open files',
    ENAMETOOLONG: 'file name too long',
    ELOOP: 'too many levels of symbolic links',
  };
  if (code && known[code]) return known[code];
  return e instanceof Error ? e.message : String(e);
}

export function readSafetensorsFile(path: string): ParsedSafetensors {
  return parseSafetensors(readFileBytes(path), path);
}
