// `posterior`: subcommand dispatch, generated help, and the CLI's exit-code contract:
//   0 success; 1 the command failed (prints "error: <message>", no stack unless --debug or DEBUG is set);
//   2 usage error (unknown command or option, missing or malformed value: one line plus a hint).
import { readFileSync } from 'node:fs';
import { closest, formatFlagHelp, parseFlags, UsageError, wrap } from './args.ts';
import { defaultProgress, type CliIO, type CommandDef } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { installInterruptHandler } from '../io/atomic.ts';

const BIN = 'posterior';
const defaultIO: CliIO = { log: (s) => console.log(s), error: (s) => console.error(s) };

export function topHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  return [
    `Usage: ${BIN} <command> [options]`,
    '',
    'Diffusion posterior sampling (DPS, ΠGDM, DSG, MCG, DDRM, with and without CMI) on WebGPU.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
    '',
    'Global options:',
    '  --debug      print stack traces and extra diagnostics (also: DEBUG=1 in the environment)',
    '  --version    print the version',
    '  -h, --help   show this help',
    '',
    `Run '${BIN} <command> --help' for a command's options.`,
  ].join('\n');
}

/** A command's one-line summary: the registry's (commands/index.ts), its only copy. */
function summaryOf(name: string): string {
  return COMMANDS.find((c) => c.name === name)?.summary ?? '';
}

export function commandHelp(def: CommandDef): string {
  const required = Object.entries(def.flags)
    .filter(([, s]) => s.required)
    .map(([n, s]) => `--${n} <${s.placeholder ?? 'value'}>`);
  const usage =
    def.usage ?? [...required, ...(required.length < Object.keys(def.flags).length ? ['[options]'] : [])].join(' ');
  const parts = [
    `Usage: ${BIN} ${def.name}${usage ? ` ${usage}` : ''}`,
    '',
    wrap(summaryOf(def.name).replace(/^./, (c) => c.toUpperCase()) + '.', 100).join('\n'),
  ];
  if (def.description) parts.push('', def.description);
  parts.push('', 'Options:', formatFlagHelp(def.flags));
  if (def.examples?.length) parts.push('', 'Examples:', ...def.examples.map((e) => `  ${e}`));
  return parts.join('\n');
}

function version(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

export function debugFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const d = env.DEBUG;
  return d !== undefined && d !== '' && d !== '0' && d.toLowerCase() !== 'false';
}

/** Run the CLI on argv (without node and script); returns the exit code. Never throws. */
export async function main(
  argv: readonly string[],
  io: CliIO = defaultIO,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const dashdash = argv.indexOf('--');
  const head = dashdash < 0 ? [...argv] : argv.slice(0, dashdash);
  const debug = head.includes('--debug') || debugFromEnv(env);
  const args = [...head.filter((a) => a !== '--debug'), ...(dashdash < 0 ? [] : argv.slice(dashdash))];
  let command: string | undefined;
  try {
    const first = args[0];
    if (first === undefined) {
      io.error(topHelp());
      return 2;
    }
    if (first === '--help' || first === '-h' || (first === 'help' && args.length === 1)) {
      io.log(topHelp());
      return 0;
    }
    if (first === '--version' || first === '-V') {
      io.log(version());
      return 0;
    }
    if (first.startsWith('-')) throw new UsageError(`unknown option ${first.split('=')[0]}`);
    const helpFor = first === 'help' ? args[1] : undefined;
    const name = helpFor ?? first;
    const entry = COMMANDS.find((c) => c.name === name);
    if (!entry) {
      const near = closest(
        name,
        COMMANDS.map((c) => c.name),
      );
      throw new UsageError(`unknown command "${name}"${near ? ` (did you mean "${near}"?)` : ''}`);
    }
    command = entry.name;
    const def = (await entry.load()).default;
    if (helpFor) {
      io.log(commandHelp(def));
      return 0;
    }
    const parsed = parseFlags(args.slice(1), def.flags, { command: def.name, maxPositionals: def.positionals ?? 0 });
    if (parsed.help) {
      io.log(commandHelp(def));
      return 0;
    }
    const code = await def.run(parsed.flags, { io, debug, positionals: parsed.positionals, progress: defaultProgress });
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      const cmd = e.command ?? command;
      io.error(`${BIN}${cmd ? ` ${cmd}` : ''}: ${e.message}`);
      io.error(`Run '${BIN}${cmd ? ` ${cmd}` : ''} --help' for usage.`);
      return 2;
    }
    io.error(formatError(e, debug));
    return 1;
  }
}

export function formatError(e: unknown, debug: boolean): string {
  if (!(e instanceof Error)) return `error: ${String(e)}`;
  if (debug) return `error: ${e.stack ?? e.message}`;
  return `error: ${e.message}`;
}

/**
 * Entry for the executable: runs main on process.argv, turns stray async errors into the same one-line
 * report, and makes sure the process ends even if a command left a handle open (a Dawn instance that was
 * not destroyed keeps Node alive).
 */
export async function cli(): Promise<void> {
  const debug = process.argv.includes('--debug') || debugFromEnv();
  const fatal = (e: unknown) => {
    console.error(formatError(e, debug));
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  // Ctrl-C: unfinished temporary files are removed and the user is told what was kept (src/io/atomic.ts).
  installInterruptHandler();
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2000).unref();
}
