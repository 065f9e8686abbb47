// The `posterior` executable end to end: spawned as a user would run it (node bin/posterior.mjs), from
// another working directory, checking output and the exit-code contract (0 ok, 1 failure, 2 usage).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readSafetensorsFile } from '../src/engine/safetensors-node.ts';
import { debugFromEnv, formatError, main } from '../src/cli/main.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/posterior.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'posterior-cli-'));

function posterior(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: tmp,
    encoding: 'utf8',
    env: { ...process.env, DEBUG: '', ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('posterior (spawned)', () => {
  it('--help lists every command and exits 0', () => {
    const r = posterior(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['convert', 'run-unet', 'measure', 'sample', 'study', 'eval', 'bench', 'profile', 'demo'])
      expect(r.stdout).toContain(`  ${c} `);
  });

  it('convert --help shows the generated options', () => {
    const r = posterior(['convert', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: posterior convert --input/);
    for (const f of ['--input', '--config', '--output', '--help']) expect(r.stdout).toContain(f);
  });

  it('an unknown command exits 2 with one line and a hint', () => {
    const r = posterior(['smaple']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'posterior: unknown command "smaple" (did you mean "sample"?)',
      "Run 'posterior --help' for usage.",
    ]);
    expect(r.stdout).toBe('');
  });

  it('an unknown or incomplete option exits 2', () => {
    expect(posterior(['convert', '--inptu', 'x']).stderr).toMatch(/unknown option --inptu \(did you mean --input\?\)/);
    const r = posterior(['convert', '--input', 'a.pt']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required options --config, --output/);
  });

  it('converts the adm-tiny fixture into a new directory (exit 0)', () => {
    const out = join(tmp, 'sub', 'adm-tiny.safetensors');
    const r = posterior([
      'convert',
      '--input',
      join(ROOT, 'test/fixtures/adm-tiny/model.pt'),
      '--config',
      join(ROOT, 'test/fixtures/adm-tiny/config.json'),
      '--output',
      out,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*adm-tiny\.safetensors: \d+ tensors/);
    expect(existsSync(out)).toBe(true);
    expect(readSafetensorsFile(out).tensors.size).toBeGreaterThan(100);
  });

  it('a runtime failure prints "error: <message>" without a stack and exits 1', () => {
    const r = posterior([
      'convert',
      '-i',
      'missing.pt',
      '-c',
      join(ROOT, 'test/fixtures/adm-tiny/config.json'),
      '-o',
      'x.safetensors',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*missing\.pt/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('main (in process)', () => {
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const out: string[] = [],
      err: string[] = [];
    const code = await main(args, { log: (s) => out.push(s), error: (s) => err.push(s) }, env);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('prints usage for no command (exit 2), the version, and help for every command', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['--version'])).out).toMatch(/^\d+\.\d+\.\d+/);
    for (const c of ['run-unet', 'measure', 'sample', 'study', 'eval', 'bench', 'profile', 'demo']) {
      const r = await run([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: posterior ${c}`);
      expect((await run(['help', c])).out).toBe(r.out);
    }
  });

  it('rejects an unknown global option with exit 2', async () => {
    const r = await run(['--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option --frobnicate/);
  });

  it('formats thrown errors without a stack unless debugging', () => {
    const e = new Error('boom');
    expect(formatError(e, false)).toBe('error: boom');
    expect(formatError(e, true)).toMatch(/^error: Error: boom\n\s+at /);
    expect(formatError('plain', false)).toBe('error: plain');
    expect(debugFromEnv({ DEBUG: '1' })).toBe(true);
    expect(debugFromEnv({ DEBUG: '0' })).toBe(false);
    expect(debugFromEnv({})).toBe(false);
  });
});
