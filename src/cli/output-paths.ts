// Output paths are checked before any work, so a typo costs nothing and no run destroys an input:
//   - the extension is one the command writes (a usage error, exit 2, otherwise);
//   - the directory exists (or, where the command creates it, its nearest existing ancestor is a directory)
//     and is writable;
//   - no output is an existing directory, and none is the same file as any input (real paths and inode
//     compared, so `./a.png`, a symlink to it or a hard link all count as the same file);
//   - files the command writes beside the named one (`out-mask.png`) or inside a named directory are not
//     overwritten unless the user passed the command's --force flag (they did not name those files).
// Use: `checkOutputPaths([{ path: f.output, extensions: ['.png', '.safetensors'], siblings }], { inputs: [f.input] })`
// at the top of run(), then write through src/io/atomic.ts.
import { accessSync, constants, existsSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { UsageError } from './args.ts';

export interface OutputSpec {
  /** the path the user gave (a file, or a directory when `directory` is set) */
  path: string;
  /** the flag that named it, for messages (default --output) */
  flag?: string;
  /** allowed extensions, with the dot, case-insensitive (e.g. ['.png', '.safetensors']); omit for any */
  extensions?: readonly string[];
  /** files written beside `path` that the user did not name (full paths) */
  siblings?: readonly string[];
  /** `path` is a directory the command writes into (created if missing); `contents` are the files it writes */
  directory?: boolean;
  contents?: readonly string[];
  /** create missing parent directories (the command's documented behaviour) instead of refusing */
  createDirs?: boolean;
}

export interface OutputCheckOptions {
  /** input files of the command (undefined entries are skipped) */
  inputs?: readonly (string | undefined)[];
  /** overwrite files the user did not name */
  force?: boolean;
  /** the flag that allows it, for the message (default --force) */
  forceFlag?: string;
}

export class OutputPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputPathError';
  }
}

const statOf = (p: string): Stats | null => {
  try {
    return statSync(p);
  } catch {
    return null;
  }
};

/** Throws a UsageError (bad extension) or an OutputPathError (`<path>: <what is wrong>`). */
export function checkOutputPaths(outputs: readonly OutputSpec[], opts: OutputCheckOptions = {}): void {
  const inputs = (opts.inputs ?? [])
    .filter((p): p is string => typeof p === 'string' && p !== '')
    .map((p) => ({ path: p, st: statOf(p) }))
    .filter((i) => i.st !== null);
  const fail = (p: string, why: string): never => {
    throw new OutputPathError(`${p}: ${why}`);
  };
  const sameAsInput = (p: string, st: Stats | null) => {
    const real = realOrResolved(p);
    return inputs.find((i) => (st && i.st!.dev === st.dev && i.st!.ino === st.ino) || realOrResolved(i.path) === real);
  };
  const seen = new Map<string, string>();
  for (const o of outputs) {
    const flag = o.flag ?? '--output';
    if (o.path === '') throw new UsageError(`${flag} needs a non-empty path`);
    if (o.extensions && !o.directory) {
      const ext = extname(o.path).toLowerCase();
      if (!o.extensions.includes(ext))
        throw new UsageError(
          `${flag} ${o.path}: must end in ${o.extensions.join(' or ')}${ext ? ` (not ${ext})` : ''}`,
        );
    }
    const st = statOf(o.path);
    if (o.directory) {
      if (st && !st.isDirectory()) fail(o.path, 'exists and is not a directory');
      checkDirectory(st ? o.path : dirname(resolve(o.path)), o.path, !st || o.createDirs !== false);
    } else {
      if (st?.isDirectory()) fail(o.path, `is a directory; ${flag} names a file`);
      checkDirectory(dirname(resolve(o.path)), o.path, o.createDirs ?? false);
    }
    const files = [
      { p: o.path, named: !o.directory, st },
      ...(o.siblings ?? []).map((p) => ({ p, named: false, st: statOf(p) })),
      // a named directory's documented contents are the user's to replace (they named the directory)
      ...(o.contents ?? []).map((p) => ({ p: join(o.path, p), named: true, st: statOf(join(o.path, p)) })),
    ];
    for (const f of files) {
      if (o.directory && f.p === o.path) continue;
      const clash = sameAsInput(f.p, f.st);
      if (clash)
        fail(
          f.p,
          `is the same file as the input ${clash.path}; writing it would destroy the input (choose another output)`,
        );
      const key = realOrResolved(f.p);
      if (seen.has(key)) fail(f.p, `would be written twice (also as ${seen.get(key)})`);
      seen.set(key, f.p);
      if (f.st?.isDirectory()) fail(f.p, 'is a directory; the command needs to write a file there');
      if (!f.named && f.st && !opts.force)
        fail(
          f.p,
          `exists and would be overwritten, but you did not name it (it is written beside ${o.path}); ` +
            `remove it, choose another output, or pass ${opts.forceFlag ?? '--force'}`,
        );
    }
  }
}

/** The real path of p, or of its nearest existing ancestor joined with the rest (p need not exist). */
function realOrResolved(p: string): string {
  const abs = resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return abs;
      tail.push(head.slice(up.length).replace(/^[\\/]/, ''));
      head = up;
    }
  }
}

function checkDirectory(dir: string, output: string, create: boolean): void {
  let d = dir;
  if (!existsSync(d)) {
    if (!create) throw new OutputPathError(`${output}: directory ${dir} does not exist`);
    while (!existsSync(d)) {
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  const st = statOf(d);
  if (!st?.isDirectory())
    throw new OutputPathError(`${output}: ${d} is not a directory, so nothing can be written under it`);
  try {
    accessSync(d, constants.W_OK | constants.X_OK);
  } catch {
    throw new OutputPathError(`${output}: directory ${d} is not writable`);
  }
}

/**
 * `posterior <args>` as written into output files (reports, tables): absolute paths become relative to the
 * working directory, or just the file name outside it — written files never reveal a user's directories.
 */
export function portableCommand(argv: readonly string[]): string {
  return `posterior ${argv.map(portablePath).join(' ')}`;
}

/** A path (or `--flag=path`, `prefix:path`) made relative to the working directory, or its file name. */
export function portablePath(a: string): string {
  const m = /^((?:[\w-]*[:=])?)(\/.*)$/.exec(a);
  if (!m || !isAbsolute(m[2])) return a;
  const rel = relative(process.cwd(), m[2]);
  return m[1] + (rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? basename(m[2]) : rel);
}
