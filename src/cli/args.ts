// A small typed flag parser. Each command declares its flags in one table; the parser, the parsed
// options' TypeScript type and the `--help` text are all derived from that table, so they cannot drift.
//
// Accepted forms: `--flag value`, `--flag=value`, `-f value` (declared short names), `--bool`,
// `--no-bool`, `--bool=true|false`, lists as repeats and/or commas (`--tasks a,b --tasks c`), and `--`
// to end flag parsing. Problems are thrown as UsageError (exit code 2), all missing required flags at once.

export type FlagType = 'string' | 'number' | 'int' | 'boolean' | 'list' | 'number-list';

export interface FlagSpec {
  type: FlagType;
  help: string;
  required?: boolean;
  default?: string | number | boolean | readonly string[] | readonly number[];
  /** allowed values (for 'string' and each item of 'list') */
  choices?: readonly string[];
  /** one-letter alias, without the dash */
  short?: string;
  /** shown in help instead of the type, e.g. 'W.safetensors' */
  placeholder?: string;
  /** inclusive bounds of a 'number' / 'int' value (and of each item of a 'number-list'), shown in help */
  min?: number;
  max?: number;
  /** validates a string value (e.g. a method name); what it throws becomes a usage error (exit 2) */
  check?: (value: string) => void;
}

export type FlagTable = Record<string, FlagSpec>;

/** a string flag's value: the union of its choices when it declares them */
type Str<F extends FlagSpec> = F extends { choices: readonly (infer C extends string)[] } ? C : string;

type ValueOf<F extends FlagSpec> = F['type'] extends 'string'
  ? Str<F>
  : F['type'] extends 'number' | 'int'
    ? number
    : F['type'] extends 'boolean'
      ? boolean
      : F['type'] extends 'list'
        ? Str<F>[]
        : number[];

/** 'out-dir' -> 'outDir' */
export type CamelCase<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<CamelCase<B>>}` : S;

/** Booleans and lists always have a value (false / []); other flags only when required or defaulted. */
type Present<F extends FlagSpec> = F extends
  { required: true } | { default: unknown } | { type: 'boolean' | 'list' | 'number-list' }
  ? true
  : false;

export type ParsedFlags<T extends FlagTable> = {
  [K in keyof T & string as CamelCase<K>]: Present<T[K]> extends true ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

export class UsageError extends Error {
  constructor(
    message: string,
    /** the command whose --help the hint should point at (undefined: the top level) */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** 'out-dir' → 'outDir', 'x-T' → 'xT' (as the CamelCase type: the letter after a dash is capitalised). */
export const camelCase = (s: string) => s.replace(/-([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * One flag table from several (a command's own and shared ones). Two tables declaring the same flag —
 * or two flags that parse to the same option key — is a programming error: it throws, rather than letting
 * the later table silently redefine what the flag means.
 */
export function mergeFlags<A extends FlagTable, B extends FlagTable>(a: A, b: B): A & B;
export function mergeFlags<A extends FlagTable, B extends FlagTable, C extends FlagTable>(a: A, b: B, c: C): A & B & C;
export function mergeFlags(...tables: FlagTable[]): FlagTable {
  const out: FlagTable = {};
  const keys = new Map<string, string>();
  const shorts = new Map<string, string>();
  for (const t of tables)
    for (const [name, spec] of Object.entries(t)) {
      const key = camelCase(name);
      if (keys.has(key))
        throw new Error(`flag tables both define --${name}${keys.get(key) !== name ? ` (as --${keys.get(key)})` : ''}`);
      if (spec.short && shorts.has(spec.short))
        throw new Error(`flags --${shorts.get(spec.short)} and --${name} share the short name -${spec.short}`);
      keys.set(key, name);
      if (spec.short) shorts.set(spec.short, name);
      out[name] = spec;
    }
  return out;
}

export interface ParseResult<T extends FlagTable> {
  flags: ParsedFlags<T>;
  positionals: string[];
  help: boolean;
}

/**
 * Parse argv against a flag table. `--help`/`-h` anywhere sets `help` and skips the required checks (so
 * `cmd --help` works without the required flags). `maxPositionals` (default 0) bounds bare arguments.
 */
export function parseFlags<T extends FlagTable>(
  argv: readonly string[],
  table: T,
  opts: { command?: string; maxPositionals?: number } = {},
): ParseResult<T> {
  const fail = (msg: string): never => {
    throw new UsageError(msg, opts.command);
  };
  const shortToName = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) {
    if (spec.short) shortToName.set(spec.short, name);
  }
  const raw = new Map<string, string[]>();
  const positionals: string[] = [];
  let help = false;
  let flagsEnded = false;

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (flagsEnded || !a.startsWith('-') || a === '-' || /^-\d/.test(a)) {
      positionals.push(a);
      continue;
    }
    if (a === '--') {
      flagsEnded = true;
      continue;
    }
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else {
      const s = shortToName.get(a.slice(1, 2));
      if (!s) return fail(`unknown option ${a}`);
      name = s;
      inline = a.length > 2 ? a.slice(2).replace(/^=/, '') : undefined;
    }
    let spec = table[name];
    if (!spec && name.startsWith('no-') && table[name.slice(3)]?.type === 'boolean') {
      if (inline !== undefined) fail(`--${name} takes no value`);
      raw.set(name.slice(3), ['false']);
      continue;
    }
    if (!spec) {
      const near = closest(name, Object.keys(table));
      return fail(`unknown option --${name}${near ? ` (did you mean --${near}?)` : ''}`);
    }
    let value: string;
    if (spec.type === 'boolean') {
      value = inline ?? 'true';
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) fail(`--${name} needs a value`);
      value = argv[++i];
    }
    const prev = raw.get(name) ?? [];
    if (prev.length && !spec.type.endsWith('list')) fail(`--${name} given more than once`);
    raw.set(name, [...prev, value]);
  }

  if (positionals.length > (opts.maxPositionals ?? 0)) {
    fail(`unexpected argument "${positionals[opts.maxPositionals ?? 0]}"`);
  }

  const out: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const [name, spec] of Object.entries(table)) {
    const values = raw.get(name);
    const key = camelCase(name);
    if (values === undefined) {
      if (spec.default !== undefined) out[key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
      else if (spec.type === 'boolean') out[key] = false;
      else if (spec.type.endsWith('list')) out[key] = [];
      if (spec.required) missing.push(`--${name}`);
      continue;
    }
    out[key] = convert(name, spec, values, fail);
  }
  if (missing.length && !help) fail(`missing required option${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return { flags: out as ParsedFlags<T>, positionals, help };
}

function convert(name: string, spec: FlagSpec, values: string[], fail: (m: string) => never): unknown {
  const num = (s: string): number => {
    // Plain decimal only: Number() would also take "0x10", "1_0"-free binary/octal forms and whitespace.
    const v = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s.trim()) ? Number(s) : NaN;
    if (!Number.isFinite(v)) fail(`--${name} expects a number, got "${s}"`);
    if (spec.type === 'int' && !Number.isSafeInteger(v)) fail(`--${name} expects an integer, got "${s}"`);
    if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max))
      fail(`--${name} must be in [${spec.min ?? '-∞'}, ${spec.max ?? '∞'}], got ${s}`);
    return v;
  };
  const choice = (s: string): string => {
    if (spec.choices && !spec.choices.includes(s)) {
      fail(`--${name} must be one of ${spec.choices.join(', ')} (got "${s}")`);
    }
    if (spec.check) {
      try {
        spec.check(s);
      } catch (e) {
        fail(`--${name}: ${(e as Error).message}`);
      }
    }
    return s;
  };
  const items = () =>
    values
      .flatMap((v) => v.split(','))
      .map((s) => s.trim())
      .filter((s) => s !== '');
  switch (spec.type) {
    case 'string':
      return choice(values[0]);
    case 'number':
    case 'int':
      return num(values[0]);
    case 'boolean': {
      const v = values[values.length - 1].toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return true;
      if (['false', '0', 'no'].includes(v)) return false;
      return fail(`--${name} expects true or false, got "${values[0]}"`);
    }
    case 'list':
      return items().map(choice);
    case 'number-list':
      return items().map(num);
  }
}

/** Nearest name by edit distance, when it is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The options section of a command's --help, generated from its flag table. */
export function formatFlagHelp(table: FlagTable, width = 100): string {
  const rows = Object.entries(table).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const ph = spec.type === 'boolean' ? '' : ` <${spec.placeholder ?? placeholderOf(spec)}>`;
    const notes: string[] = [];
    if (spec.choices) notes.push(`one of: ${spec.choices.join(', ')}`);
    if (spec.min !== undefined && spec.max !== undefined) notes.push(`range: ${spec.min} to ${spec.max}`);
    else if (spec.min !== undefined) notes.push(`≥ ${spec.min}`);
    else if (spec.max !== undefined) notes.push(`≤ ${spec.max}`);
    if (spec.required) notes.push('required');
    else if (spec.default !== undefined && spec.default !== false)
      notes.push(`default: ${[spec.default].flat().join(',')}`);
    if (spec.type.endsWith('list')) notes.push('comma list or repeated');
    return { left: `  ${short}--${name}${ph}`, right: spec.help + (notes.length ? ` [${notes.join('; ')}]` : '') };
  });
  rows.push({ left: '  -h, --help', right: 'show this help' });
  const col = Math.min(Math.max(...rows.map((r) => r.left.length)) + 2, 40);
  return rows
    .map((r) => {
      const lines = wrap(r.right, Math.max(30, width - col));
      const first =
        r.left.length + 2 > col
          ? [r.left, ...lines.map((l) => ' '.repeat(col) + l)]
          : [r.left.padEnd(col) + lines[0], ...lines.slice(1).map((l) => ' '.repeat(col) + l)];
      return first.join('\n');
    })
    .join('\n');
}

function placeholderOf(spec: FlagSpec): string {
  if (spec.type === 'int' || spec.type === 'number') return 'n';
  if (spec.type === 'number-list') return 'n,...';
  if (spec.type === 'list') return 'a,...';
  return spec.choices ? spec.choices.join('|') : 'value';
}

export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}
