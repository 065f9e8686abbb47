// What a `posterior` subcommand is: one flag table (parsing, types and --help all come from it) and a run
// function. Each command lives in src/cli/commands/<name>.ts as `export default defineCommand({...})` and
// is listed in src/cli/commands/index.ts.
import { Progress, type ProgressOptions } from './progress.ts';
import type { FlagTable, ParsedFlags } from './args.ts';

export interface CliIO {
  /** results and reports (stdout) */
  log: (s: string) => void;
  /** diagnostics (stderr) */
  error: (s: string) => void;
}

export interface CommandContext {
  io: CliIO;
  /** --debug or DEBUG set: commands may print extra diagnostics */
  debug: boolean;
  /** bare arguments, when the command accepts them (`positionals` in its definition) */
  positionals: string[];
  /** a progress bar on stderr (a TTY bar, or plain periodic lines when stderr is a pipe or file) */
  progress: (opts: ProgressOptions) => Progress;
}

export interface CommandDef<T extends FlagTable = FlagTable> {
  /** the command's name; its one-line summary lives in the registry (commands/index.ts) only */
  name: string;
  /** paragraphs shown in `posterior <name> --help` after the usage line */
  description?: string;
  /** usage line after `posterior <name>`; generated from required flags when omitted */
  usage?: string;
  flags: T;
  /** how many bare arguments the command takes (default 0) */
  positionals?: number;
  examples?: string[];
  /** exit code, or nothing for success; throw UsageError for bad input (exit 2), anything else exits 1 */
  run(flags: ParsedFlags<T>, ctx: CommandContext): Promise<number | void> | number | void;
}

/** Identity with inference: `defineCommand({ flags: {...}, run(f) { f.outDir } })` types `f` from the table. */
export function defineCommand<const T extends FlagTable>(def: CommandDef<T>): CommandDef<T> {
  return def;
}

export function defaultProgress(opts: ProgressOptions): Progress {
  return new Progress(opts);
}
