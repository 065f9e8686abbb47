// One source for the command summaries: the registry (src/cli/commands/index.ts). `posterior --help` lists
// each, `posterior <name> --help` opens with the same line, every entry loads the command of its name, and
// the README's command table names exactly the registered commands.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands/index.js';
import { main } from '../src/cli/main.js';

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { log: (s: string) => void (out += s + '\n'), error: (s: string) => void (out += s + '\n') };
  const code = await main(argv, io, {});
  return { code, out };
}

describe('command summaries', () => {
  it('the registry is the one source: top-level help and each command’s help show the same line', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) {
      expect(top.out).toContain(`${c.name}`);
      expect(top.out).toContain(c.summary);
      const def = (await c.load()).default;
      expect(def.name).toBe(c.name);
      expect(Object.keys(def)).not.toContain('summary');
      const own = await run([c.name, '--help']);
      expect(own.code).toBe(0);
      // the paragraph after the usage line is the registry's summary (wrapped at 100 columns)
      const paragraph = own.out.split('\n\n')[1].replace(/\s+/g, ' ');
      expect(paragraph).toBe(c.summary.replace(/^./, (ch) => ch.toUpperCase()) + '.');
    }
  });

  it('the README’s command table lists exactly the registered commands', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## The `posterior` command'));
    const names = [...section.matchAll(/^\| `([a-z-]+)`\s+\|/gm)].map((m) => m[1]);
    expect(names).toEqual(COMMANDS.map((c) => c.name));
  });
});
