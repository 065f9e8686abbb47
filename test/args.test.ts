import { describe, expect, it } from 'vitest';
import { formatFlagHelp, mergeFlags, parseFlags, UsageError, type FlagTable } from '../src/cli/args.ts';

const TABLE = {
  weights: { type: 'string', required: true, short: 'w', help: 'weights' },
  steps: { type: 'int', default: 100, help: 'steps' },
  zeta: { type: 'number', help: 'step size' },
  tasks: { type: 'list', choices: ['box', 'sr4', 'gauss'], default: ['box'], help: 'tasks' },
  seeds: { type: 'number-list', help: 'seeds' },
  'out-dir': { type: 'string', default: 'out', help: 'output' },
  verbose: { type: 'boolean', help: 'chatty' },
  method: { type: 'string', choices: ['dps', 'pigdm'], help: 'method' },
} as const satisfies FlagTable;

const parse = (argv: string[], maxPositionals = 0) => parseFlags(argv, TABLE, { command: 'x', maxPositionals });
const usage = (argv: string[]) => {
  try {
    parse(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('parseFlags', () => {
  it('parses every form into typed values with defaults', () => {
    const r = parse([
      '-w',
      'a.st',
      '--steps=20',
      '--zeta',
      '-0.5',
      '--tasks',
      'sr4,gauss',
      '--tasks=box',
      '--seeds',
      '1,2',
      '--out-dir',
      'o',
      '--verbose',
    ]);
    const f = r.flags;
    // compile-time: f.weights is string, f.zeta number | undefined, f.outDir string, f.tasks string[]
    const typed: {
      weights: string;
      steps: number;
      zeta: number | undefined;
      outDir: string;
      tasks: string[];
      seeds: number[];
      verbose: boolean;
    } = f;
    expect(typed).toEqual({
      weights: 'a.st',
      steps: 20,
      zeta: -0.5,
      tasks: ['sr4', 'gauss', 'box'],
      seeds: [1, 2],
      outDir: 'o',
      verbose: true,
      method: undefined,
    });
    expect(parse(['--weights', 'w']).flags).toMatchObject({
      steps: 100,
      tasks: ['box'],
      seeds: [],
      outDir: 'out',
      verbose: false,
    });
    expect(parse(['--weights', 'w', '--no-verbose']).flags.verbose).toBe(false);
    expect(parse(['--weights', 'w', '--verbose=false']).flags.verbose).toBe(false);
  });

  it('reports problems clearly', () => {
    expect(usage([])).toBe('missing required option --weights');
    expect(usage(['-w', 'a', '--stpes', '3'])).toBe('unknown option --stpes (did you mean --steps?)');
    expect(usage(['-w', 'a', '--steps', 'ten'])).toBe('--steps expects a number, got "ten"');
    expect(usage(['-w', 'a', '--steps', '2.5'])).toBe('--steps expects an integer, got "2.5"');
    expect(usage(['-w', 'a', '--tasks', 'box,foo'])).toBe('--tasks must be one of box, sr4, gauss (got "foo")');
    expect(usage(['-w', 'a', '--method', 'ddim'])).toBe('--method must be one of dps, pigdm (got "ddim")');
    expect(usage(['-w', 'a', '--steps'])).toBe('--steps needs a value');
    expect(usage(['-w', 'a', '--zeta', '--verbose'])).toBe('--zeta needs a value');
    expect(usage(['-w', 'a', '-w', 'b'])).toBe('--weights given more than once');
    expect(usage(['-w', 'a', 'extra'])).toBe('unexpected argument "extra"');
    expect(usage(['-w', 'a', '-q'])).toBe('unknown option -q');
  });

  it('handles --help (skipping required checks), positionals and --', () => {
    expect(parse(['--help']).help).toBe(true);
    const r = parse(['-w', 'a', 'in.png', '--', '--not-a-flag'], 2);
    expect(r.positionals).toEqual(['in.png', '--not-a-flag']);
  });

  it('generates help from the table', () => {
    const h = formatFlagHelp(TABLE);
    expect(h).toMatch(/-w, --weights <value>\s+weights \[required\]/);
    expect(h).toMatch(/--steps <n>\s+steps \[default: 100\]/);
    expect(h).toMatch(/--tasks <box\|sr4\|gauss>|--tasks <a,...>/);
    expect(h).toContain('one of: box, sr4, gauss');
    expect(h).toMatch(/-h, --help\s+show this help/);
  });
});

describe('flags with capitals and merged tables', () => {
  it('--x-T parses to the key xT (what the ParsedFlags type says)', () => {
    const t = { 'x-T': { type: 'string', help: 'x_T' }, 'noise-from': { type: 'string', help: 'n' } } as const;
    const r = parseFlags(['--x-T', 'a.st', '--noise-from=b.st'], t);
    expect(r.flags.xT).toBe('a.st');
    expect(r.flags.noiseFrom).toBe('b.st');
    expect(Object.keys(r.flags)).toEqual(['xT', 'noiseFrom']);
  });

  it('merging two flag tables that share a flag (or its option key, or a short name) throws', () => {
    const a = { scale: { type: 'number', help: 'ζ' } } as const satisfies FlagTable;
    const b = { scale: { type: 'number', help: 'SR factor' } } as const satisfies FlagTable;
    expect(() => mergeFlags(a, b)).toThrow(/both define --scale/);
    expect(() =>
      mergeFlags({ 'x-t': { type: 'string', help: '' } }, { xT: { type: 'string', help: '' } } as FlagTable),
    ).toThrow(/both define --xT \(as --x-t\)/);
    expect(() =>
      mergeFlags({ a: { type: 'string', short: 'o', help: '' } }, { b: { type: 'string', short: 'o', help: '' } }),
    ).toThrow(/share the short name -o/);
    const m = mergeFlags(a, { 'sr-factor': { type: 'number', help: 'SR' } } as const);
    expect(Object.keys(m)).toEqual(['scale', 'sr-factor']);
  });

  it('the sample command’s table has --zeta and --sr-factor, and no --scale', async () => {
    const sample = (await import('../src/cli/commands/sample.ts')).default;
    expect(Object.keys(sample.flags)).toContain('zeta');
    expect(Object.keys(sample.flags)).toContain('sr-factor');
    expect(Object.keys(sample.flags)).not.toContain('scale');
    const r = parseFlags(['--method', 'dps', '-o', 'x.png', '--zeta', '0.3', '--sr-factor', '4'], sample.flags);
    expect(r.flags.zeta).toBe(0.3);
    expect(r.flags.srFactor).toBe(4);
  });
});
