// Atomic output files: every file is written under a temporary name in its own directory, flushed to disk
// (fsync), and only then renamed over its final name — rename(2) within one file system replaces the name in
// one step, so a reader (or a run killed at any instant, SIGKILL included) sees the previous file or the
// complete new one, never a truncated one. A set of files (e.g. `out.png` + `out-mask.png`, or eval's table,
// CSV and grid) is written completely under temporary names first, and renamed only once every member is on
// disk: a failure while writing (full disk, permissions) replaces none of them. The renames themselves follow
// back to back (microseconds); no portable API renames several names at once.
//
// SIGINT/SIGTERM while a command runs: installInterruptHandler() removes the temporary files being written,
// reports which outputs this run had already committed (the rest are as they were before) and exits 130.
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { safetensorsParts, type SerializableTensors } from '../engine/safetensors.ts';
import { describeFsError } from '../engine/safetensors-node.ts';

/** File contents: bytes, text (UTF-8), or a list of byte chunks written one after another (no concatenation). */
export type FileData = Uint8Array | string | readonly Uint8Array[];

/** Temporary files being written now (removed on SIGINT / on failure). */
const pending = new Set<string>();
/** Final paths this process has committed (reported on SIGINT). */
const committed: string[] = [];

/** Outputs committed so far by this process, in order. */
export function committedOutputs(): readonly string[] {
  return committed;
}

/** Write one file atomically (see the header). Creates missing parent directories. */
export function writeFileAtomic(path: string, data: FileData): void {
  writeFilesAtomic([{ path, data }]);
}

/**
 * Write a set of files all-or-nothing: all are written and fsynced under temporary names first; any failure
 * removes the temporaries and leaves every final name untouched; then each is renamed into place.
 */
export function writeFilesAtomic(files: readonly { path: string; data: FileData }[]): void {
  const staged: { tmp: string; path: string }[] = [];
  try {
    for (const f of files) staged.push({ tmp: stage(f.path, f.data), path: f.path });
  } catch (e) {
    for (const s of staged) discard(s.tmp);
    throw e;
  }
  for (const s of staged) {
    try {
      renameSync(s.tmp, s.path);
    } catch (e) {
      for (const r of staged) if (pending.has(r.tmp)) discard(r.tmp);
      throw new Error(`${s.path}: could not move the finished file into place: ${describeFsError(e)}`);
    }
    pending.delete(s.tmp);
    committed.push(s.path);
  }
  // Persist the renames too (directory entries); best effort where a directory cannot be opened.
  for (const dir of new Set(staged.map((s) => dirname(s.path)))) {
    try {
      const fd = openSync(dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      /* not supported on this platform/file system */
    }
  }
}

/** A safetensors file written atomically, streamed tensor by tensor (no whole-file buffer). */
export function writeSafetensorsFile(
  path: string,
  tensors: SerializableTensors,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, safetensorsParts(tensors, metadata));
}

function stage(path: string, data: FileData): string {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`${path}: cannot create its directory: ${describeFsError(e)}`);
  }
  removeStale(dir, basename(path));
  // A dotfile in the same directory (same file system, so the rename is atomic), unique per process and call.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o666);
  } catch (e) {
    throw new Error(`${path}: cannot write in ${dir}: ${describeFsError(e)}`);
  }
  pending.add(tmp);
  try {
    const parts =
      typeof data === 'string' ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, Math.min(p.length - off, 1 << 30));
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    discard(tmp);
    throw new Error(`${path}: writing failed: ${describeFsError(e)}`);
  }
  closeSync(fd);
  // Keep the permissions of a file being replaced (a new file gets the umask's, like any other).
  try {
    chmodSync(tmp, statSync(path).mode & 0o7777);
  } catch {
    /* no previous file */
  }
  return tmp;
}

/** Temporaries of this output left by a process that was killed (SIGKILL cannot be caught) are removed. */
function removeStale(dir: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `.${name}.`;
  for (const e of entries) {
    if (!e.startsWith(prefix) || !e.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(e.slice(prefix.length));
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, e));
    } catch {
      /* another process got there first */
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function discard(tmp: string): void {
  pending.delete(tmp);
  try {
    unlinkSync(tmp);
  } catch {
    /* already gone */
  }
}

/** Remove every temporary file still being written (synchronous: safe in a signal or exit handler). */
export function discardPending(): void {
  for (const t of [...pending]) discard(t);
}

let installed = false;
/**
 * On SIGINT / SIGTERM: remove unfinished temporary files, say what was kept, exit 130 (143 for SIGTERM).
 * A second signal while that runs exits at once.
 */
export function installInterruptHandler(report: (line: string) => void = (s) => process.stderr.write(s + '\n')): void {
  if (installed) return;
  installed = true;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (stopping) process.exit(code);
    stopping = true;
    discardPending();
    report(
      `interrupted (${signal}): ` +
        (committed.length
          ? `kept ${committed.join(', ')} (written completely before the interruption); nothing else was changed`
          : 'no output was written; existing files are unchanged'),
    );
    process.exit(code);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
