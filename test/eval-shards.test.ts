// Sharded evaluation (src/cli/eval-shards.ts, `posterior eval --shard`, `eval merge`, `--resume`): two shards
// merged give the same table, CSVs and grid as one unsharded run, byte for byte except the timing columns;
// a rerun with --resume runs nothing new; a killed shard resumes where it stopped; merge refuses
// incomplete or mixed shards. Tiny runs (2 images, 2 steps, one task, two methods) of the embedded model.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enumerateUnits, parseShard, shardUnits } from '../src/cli/eval-shards.js';
import { main } from '../src/cli/main.js';

const tmp = mkdtempSync(join(tmpdir(), 'posterior-eval-shards-'));
const ARGS = ['--n', '3', '--batch', '2', '--steps', '2', '--tasks', 'sr4', '--methods', 'dps,ddrm', '--name', 't'];

async function posterior(args: string[]) {
  const out: string[] = [],
    err: string[] = [];
  const code = await main(args, { log: (s) => out.push(s), error: (s) => err.push(s) }, { DEBUG: '' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const read = (dir: string, f: string) => readFileSync(join(dir, f));
/** The table and CSV with their timing column blanked (s / image; seconds_per_image) and --output as DIR. */
function withoutTimings(dir: string) {
  const md = read(dir, 't.md')
    .toString()
    .replace(/--output \S+/, '--output DIR')
    .split('\n')
    .map((l) => (l.startsWith('| sr4 |') ? l.replace(/\| [^|]* \|$/, '| – |') : l))
    .join('\n');
  const csv = read(dir, 't.csv')
    .toString()
    .split('\n')
    .map((l) =>
      l
        .split(',')
        .map((c, i) => (i === 6 ? '' : c))
        .join(','),
    )
    .join('\n');
  return { md, csv };
}

describe('eval shards', () => {
  it('units are enumerated in one order and dealt round-robin', () => {
    const units = enumerateUnits(['sr4', 'inpaint-box'], ['dps', 'ddrm'], 5, 2);
    expect(units.length).toBe(2 * 2 * 3);
    expect(units[3]).toMatchObject({ task: 'sr4', method: 'ddrm', b0: 0, nb: 2 });
    const s0 = shardUnits(units, parseShard('0/3')),
      s2 = shardUnits(units, parseShard('2/3'));
    expect(s0.map((u) => u.index)).toEqual([0, 3, 6, 9]);
    expect(s2.map((u) => u.index)).toEqual([2, 5, 8, 11]);
    for (const bad of ['3/3', '1', '-1/2', 'a/b', '0/0']) expect(() => parseShard(bad)).toThrow(/--shard/);
  });

  it('two shards merged = one unsharded run (except timings); --resume; incomplete merges refused', async () => {
    const one = join(tmp, 'one'),
      sh = join(tmp, 'sharded');
    expect((await posterior(['eval', ...ARGS, '--output', one])).code).toBe(0);
    const s1 = await posterior(['eval', ...ARGS, '--output', sh, '--shard', '1/2']);
    expect(s1.code).toBe(0);
    // merging before shard 0 exists: refused, naming the shard to rerun
    const early = await posterior(['eval', 'merge', '--output', sh, '--name', 't']);
    expect(early.code).toBe(1);
    expect(early.err).toMatch(/units missing.*--shard 0\/2/);
    expect((await posterior(['eval', ...ARGS, '--output', sh, '--shard', '0/2'])).code).toBe(0);
    const merged = await posterior(['eval', 'merge', '--output', sh, '--name', 't']);
    expect(merged.code, merged.err).toBe(0);
    const a = withoutTimings(one),
      b = withoutTimings(sh);
    expect(b.md).toBe(a.md);
    expect(b.csv).toBe(a.csv);
    expect(read(sh, 't-images.csv').equals(read(one, 't-images.csv'))).toBe(true);
    expect(read(sh, 't-grid.png').equals(read(one, 't-grid.png'))).toBe(true);
    expect(a.md).toMatch(/\| sr4 \| ddrm \|/);

    // --resume on a finished shard runs nothing and leaves its rows as they were
    const f0 = join(sh, 't.shard-0-of-2.jsonl');
    const before = read(sh, 't.shard-0-of-2.jsonl');
    const again = await posterior(['eval', ...ARGS, '--output', sh, '--shard', '0/2', '--resume']);
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/2 units already in .*, 0 to run/);
    expect(read(sh, 't.shard-0-of-2.jsonl').equals(before)).toBe(true);
    // a shard killed mid-write (last record torn) resumes: the torn unit is run again
    const lines = before.toString().trimEnd().split('\n');
    writeFileSync(f0, [...lines.slice(0, -1), lines.at(-1)!.slice(0, 40)].join('\n'));
    const resumed = await posterior(['eval', ...ARGS, '--output', sh, '--shard', '0/2', '--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.err).toMatch(/1 units already in .*, 1 to run/);
    expect((await posterior(['eval', 'merge', '--output', sh, '--name', 't'])).code).toBe(0);
    expect(withoutTimings(sh).md).toBe(a.md);
    // --resume with other settings is a usage error
    const other = await posterior(['eval', ...ARGS, '--output', sh, '--shard', '0/2', '--resume', '--seed', '5']);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/other settings/);
    // shards of different runs are not merged
    const mixed = join(tmp, 'mixed');
    expect((await posterior(['eval', ...ARGS, '--output', mixed, '--shard', '0/2', '--seed', '5'])).code).toBe(0);
    const bad = await posterior([
      'eval',
      'merge',
      '--output',
      mixed,
      '--name',
      't',
      join(mixed, 't.shard-0-of-2.jsonl'),
      join(sh, 't.shard-1-of-2.jsonl'),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/settings differ/);
  }, 600_000);
});
