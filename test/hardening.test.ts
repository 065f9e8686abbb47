// Hostile and careless use, case by case (the hardening issue's list): each refusal's exit code and message,
// no output left behind, inputs unchanged — and interrupted runs that keep the previous output intact.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseFlags, UsageError } from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { readMeasurement } from '../src/cli/measure-file.ts';
import { checkOutputPaths, portableCommand } from '../src/cli/output-paths.ts';
import { parseSafetensors, serializeSafetensors } from '../src/engine/safetensors.ts';
import { writeFilesAtomic, writeSafetensorsFile } from '../src/io/atomic.ts';
import { decodePng, encodePng } from '../src/io/png.ts';
import { parseModelConfig, parseStoredConfig } from '../src/unet/config.ts';
import { loadUNet } from '../src/unet/index.ts';
import { getTestEngine } from './helpers.ts';
import { runConvert } from '../tools/convert-weights/main.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/posterior.mjs');
const ADM = {
  pt: join(ROOT, 'test/fixtures/adm-tiny/model.pt'),
  config: join(ROOT, 'test/fixtures/adm-tiny/config.json'),
};
const hash = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const newDir = () => mkdtempSync(join(tmpdir(), 'posterior-hard-'));
/** The directory's entries, temporaries included (a refused command must leave nothing). */
const ls = (d: string) => readdirSync(d).sort();

function posterior(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DEBUG: '' },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function convert(args: string[]) {
  const err: string[] = [];
  const code = runConvert(args, { log: () => {}, error: (s) => err.push(s) });
  return { code, err: err.join('\n') };
}
/** A 32×32 gray PNG (the embedded model's size). */
function png(path: string) {
  const v = new Float32Array(32 * 32).map((_, i) => Math.sin(i / 7));
  writeFileSync(path, encodePng(v, [1, 1, 32, 32]));
}

describe('convert refuses hostile configs and outputs before doing any work', () => {
  it('--output equal to --input (also through a symlink or a hard link) leaves the input intact', () => {
    const d = newDir();
    const pt = join(d, 'model.pt');
    writeFileSync(pt, readFileSync(ADM.pt));
    symlinkSync(pt, join(d, 'link.safetensors'));
    linkSync(pt, join(d, 'hard.safetensors'));
    const before = hash(pt);
    for (const out of ['link.safetensors', 'hard.safetensors']) {
      const r = convert(['--input', pt, '--config', ADM.config, '--output', join(d, out)]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        new RegExp(`${out}: is the same file as the input .*model\\.pt; writing it would destroy the input`),
      );
    }
    const same = convert(['--input', pt, '--config', ADM.config, '--output', pt]);
    expect(same.code).toBe(2); // .pt is not a .safetensors output: refused as usage
    expect(hash(pt)).toBe(before);
    expect(ls(d)).toEqual(['hard.safetensors', 'link.safetensors', 'model.pt']);
  });

  it('an output that is not .safetensors is a usage error (exit 2)', () => {
    const d = newDir();
    const r = convert(['--input', ADM.pt, '--config', ADM.config, '--output', join(d, 'out.bin')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--output .*out\.bin: must end in \.safetensors \(not \.bin\)/);
    expect(ls(d)).toEqual([]);
  });

  const hostileConfigs: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    [
      'num_res_blocks 1e300',
      (m) => (m.num_res_blocks = 1e300),
      /numResBlocks must be an integer in \[1, 16\], got 1e\+300/,
    ],
    ['num_res_blocks 1e7', (m) => (m.num_res_blocks = 1e7), /numResBlocks must be an integer in \[1, 16\]/],
    [
      '200,000-entry channel_mult',
      (m) => (m.channel_mult = Array(200_000).fill(1).join(',')),
      /"channel_mult" has 200000 levels; at most 8/,
    ],
    [
      '2-million-entry channel_mult',
      (m) => (m.channel_mult = Array(2_000_000).fill(1)),
      /config\.json: \d+ bytes, above the 1048576-byte limit/,
    ],
    [
      'heads not dividing channels',
      (m) => ((m.num_head_channels = -1), (m.num_heads = 3)),
      /attention channels 64 are not divisible by numHeads 3/,
    ],
    ['image size not halvable', (m) => (m.image_size = 30), /imageSize 30 cannot be halved 2 times/],
    ['channels not a multiple of 32', (m) => (m.num_channels = 40), /level 0 has 40 channels .*multiple of 32/],
  ];
  for (const [name, edit, msg] of hostileConfigs) {
    it(`a config with ${name} is refused quickly, naming the config file`, () => {
      const d = newDir();
      const cfg = JSON.parse(readFileSync(ADM.config, 'utf8'));
      edit(cfg.model);
      writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
      const t0 = performance.now();
      const r = convert([
        '--input',
        ADM.pt,
        '--config',
        join(d, 'config.json'),
        '--output',
        join(d, 'out.safetensors'),
      ]);
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/config\.json: (model config: |option |\d+ bytes)/);
      expect(r.err).toMatch(msg);
      expect(ls(d)).toEqual(['config.json']);
    });
  }

  it('learn_sigma disagreeing with out_channels is refused, in a config file and in stored metadata', () => {
    const d = newDir();
    const cfg = JSON.parse(readFileSync(ADM.config, 'utf8'));
    cfg.model.learn_sigma = false; // out_channels stays 6 = 2 × 3
    writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
    const r = convert(['--input', ADM.pt, '--config', join(d, 'config.json'), '--output', join(d, 'o.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/outChannels is 6 but learnSigma false with 3 input channels means 3/);
    const stored = { ...parseModelConfig(JSON.parse(readFileSync(ADM.config, 'utf8'))), learnSigma: false };
    expect(() => parseStoredConfig(JSON.stringify(stored))).toThrow(/outChannels is 6 but learnSigma false/);
    expect(ls(d)).toEqual(['config.json']);
  });
});

describe('weight files', () => {
  it('NaN weights and a config whose learnSigma disagrees with its outputs are refused on load', async () => {
    const e = await getTestEngine();
    const good = new Uint8Array(readFileSync(join(ROOT, 'models/fmnist-unet.safetensors')));
    const st = parseSafetensors(good);
    const tensors = new Map(
      [...st.tensors].map(([k, t]) => [k, { shape: t.shape, data: new Float32Array(t.data.slice().buffer) }]),
    );
    const name = [...tensors.keys()][3];
    tensors.get(name)!.data[5] = NaN;
    expect(() => loadUNet(e, serializeSafetensors(tensors, st.metadata), 'nan.safetensors')).toThrow(
      new RegExp(
        `^nan\\.safetensors: tensor "${name.replace(/\./g, '\\.')}" holds a non-finite value \\(NaN at index 5\\)`,
      ),
    );
    tensors.get(name)!.data[5] = 0;
    const meta = { ...st.metadata, config: st.metadata.config.replace('"learnSigma":true', '"learnSigma":false') };
    expect(() => loadUNet(e, serializeSafetensors(tensors, meta), 'sigma.safetensors')).toThrow(
      /^sigma\.safetensors: model config: outChannels is 2 but learnSigma false with 1 input channels means 1/,
    );
  });
});

describe('measurement files', () => {
  const d = newDir();
  const write = (name: string, y: Float32Array, meta: Record<string, string>) => {
    const p = join(d, name);
    writeSafetensorsFile(p, { y: { shape: [1, 1, 2, 2], data: y } }, { task: 'sr4', ...meta });
    return p;
  };
  const ok = new Float32Array([0, 0.5, -0.5, 1]);
  it('refuses non-finite y, unknown noise kinds and bad σ_y, naming the file', () => {
    const cases: [Float32Array, Record<string, string>, RegExp][] = [
      [
        new Float32Array([0, NaN, 0, 0]),
        { noise: 'gaussian', sigma_y: '0.05' },
        /tensor 'y' holds a non-finite value \(NaN at index 1\)/,
      ],
      [new Float32Array([0, Infinity, 0, 0]), { noise: 'gaussian', sigma_y: '0.05' }, /non-finite value \(Infinity/],
      [ok, { noise: 'laplace', sigma_y: '0.05' }, /noise "laplace" is not one of gaussian, poisson, none/],
      [ok, { noise: 'gaussian', sigma_y: 'abc' }, /sigma_y "abc" is not a finite number/],
      [ok, { noise: 'gaussian', sigma_y: '-1' }, /σ_y must be finite, > 0 and at most 10, got -1/],
      [ok, { noise: 'gaussian', sigma_y: '1e308' }, /at most 10, got 1e\+308/],
      [ok, { noise: 'gaussian', sigma_y: '0' }, /gaussian noise: σ_y must be finite, > 0/],
      [ok, { noise: 'none', sigma_y: '0', operator_options: '{not json' }, /operator_options is not valid JSON/],
      [ok, { noise: 'none', sigma_y: '0', task: 'denoise' }, /unknown task "denoise"/],
    ];
    cases.forEach(([y, meta, msg], i) => {
      const p = write(`m${i}.safetensors`, y, meta);
      expect(() => readMeasurement(p)).toThrow(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
      expect(() => readMeasurement(p)).toThrow(msg);
    });
    expect(readMeasurement(write('good.safetensors', ok, { noise: 'gaussian', sigma_y: '0.05' })).sigmaY).toBe(0.05);
  });
});

describe('images', () => {
  it('a PNG declaring 60000×60000 pixels is refused before it is decoded', () => {
    const small = encodePng(new Float32Array(4), [1, 1, 2, 2]);
    const huge = small.slice();
    const dv = new DataView(huge.buffer);
    dv.setUint32(16, 60000);
    dv.setUint32(20, 60000);
    const t0 = performance.now();
    expect(() => decodePng(huge, { label: 'huge.png' })).toThrow(
      /^huge\.png: the PNG declares 60000×60000 pixels, more than the 67108864/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('option values', () => {
  const table = {
    method: {
      type: 'string',
      help: '',
      check: (s: string) => {
        if (s !== 'dps') throw new Error(`unknown method '${s}'`);
      },
    },
    'sigma-y': { type: 'number', min: 0, max: 10, help: '' },
    seed: { type: 'int', help: '' },
  } as const;
  it('bad enum values, malformed numbers and out-of-range values are usage errors', () => {
    const bad: [string[], RegExp][] = [
      [['--method', 'dsp'], /--method: unknown method 'dsp'/],
      [['--sigma-y', '0x10'], /--sigma-y expects a number, got "0x10"/],
      [['--sigma-y', '1e308'], /--sigma-y must be in \[0, 10\], got 1e308/],
      [['--sigma-y', '-1'], /--sigma-y must be in \[0, 10\]/],
      [['--sigma-y', '5%'], /expects a number/],
      [['--seed', '1e30'], /--seed expects an integer/],
      [['--seed', '1.5'], /--seed expects an integer/],
    ];
    for (const [argv, msg] of bad) {
      expect(() => parseFlags(argv, table)).toThrow(UsageError);
      expect(() => parseFlags(argv, table)).toThrow(msg);
    }
    expect(parseFlags(['--sigma-y', '.5', '--seed', '-3', '--method', 'dps'], table).flags).toEqual({
      method: 'dps',
      sigmaY: 0.5,
      seed: -3,
    });
  });
});

describe('output paths', () => {
  it('are checked before any work: directory, extension, directories named as files, unnamed siblings', () => {
    const d = newDir();
    writeFileSync(join(d, 'in.png'), 'x');
    writeFileSync(join(d, 'out-mask.png'), 'keep me');
    mkdirSync(join(d, 'sub.png'));
    const check =
      (path: string, extra: Partial<Parameters<typeof checkOutputPaths>[0][0]> = {}, force = false) =>
      () =>
        checkOutputPaths([{ path, extensions: ['.png', '.safetensors'], ...extra }], {
          inputs: [join(d, 'in.png')],
          force,
        });
    expect(check(join(d, 'nodir', 'y.png'))).toThrow(/nodir\/y\.png: directory .*nodir does not exist/);
    expect(check(join(d, 'y.jpg'))).toThrow(UsageError);
    expect(check(join(d, 'sub.png'))).toThrow(/sub\.png: is a directory; --output names a file/);
    expect(check(join(d, 'in.png'))).toThrow(/in\.png: is the same file as the input/);
    expect(check(join(d, 'sub', '..', 'in.png'))).toThrow(/is the same file as the input/);
    expect(check(join(d, 'out.png'), { siblings: [join(d, 'out-mask.png')] })).toThrow(
      /out-mask\.png: exists and would be overwritten, but you did not name it .*pass --force/,
    );
    expect(check(join(d, 'out.png'), { siblings: [join(d, 'out-mask.png')] }, true)).not.toThrow();
    expect(check(join(d, 'out.png'), { siblings: [join(d, 'in.png')] }, true)).toThrow(
      /in\.png: is the same file as the input/,
    );
    expect(readFileSync(join(d, 'out-mask.png'), 'utf8')).toBe('keep me');
  });

  it('a set of files is replaced all together or not at all', () => {
    const d = newDir();
    writeFileSync(join(d, 'a.csv'), 'old a');
    writeFileSync(join(d, 'blocker'), 'a file where a directory is needed');
    expect(() =>
      writeFilesAtomic([
        { path: join(d, 'a.csv'), data: 'new a' },
        { path: join(d, 'blocker', 'b.png'), data: 'new b' },
      ]),
    ).toThrow(/blocker\/b\.png: /);
    expect(readFileSync(join(d, 'a.csv'), 'utf8')).toBe('old a');
    expect(ls(d)).toEqual(['a.csv', 'blocker']); // no temporaries left
    writeFilesAtomic([
      { path: join(d, 'a.csv'), data: 'new a' },
      { path: join(d, 'b.md'), data: 'new b' },
    ]);
    expect(readFileSync(join(d, 'a.csv'), 'utf8') + readFileSync(join(d, 'b.md'), 'utf8')).toBe('new anew b');
    expect(ls(d)).toEqual(['a.csv', 'b.md', 'blocker']);
  });
});

describe('posterior (spawned): refusals leave nothing, interruptions keep the previous output', () => {
  it('measure: --output = --input, a missing directory, a bad extension, an unnamed sibling, bad σ_y', () => {
    const d = newDir();
    png(join(d, 'x.png'));
    writeFileSync(join(d, 'y-mask.png'), 'not ours');
    const before = hash(join(d, 'x.png'));
    const m = (...a: string[]) => posterior(['measure', '--task', 'inpaint-box', '--input', 'x.png', ...a], d);
    let r = m('--output', join(d, 'x.png'));
    expect([r.code, r.stderr]).toEqual([
      1,
      expect.stringMatching(/^error: .*x\.png: is the same file as the input x\.png/),
    ]);
    r = m('--output', 'nodir/y.safetensors');
    expect([r.code, r.stderr]).toEqual([
      1,
      expect.stringMatching(/nodir\/y\.safetensors: directory .* does not exist/),
    ]);
    r = m('--output', 'y.jpg');
    expect([r.code, r.stderr]).toEqual([
      2,
      expect.stringMatching(/--output y\.jpg: must end in \.png or \.safetensors/),
    ]);
    r = m('--output', 'y.png');
    expect([r.code, r.stderr]).toEqual([
      1,
      expect.stringMatching(/y-mask\.png: exists and would be overwritten.*--force/),
    ]);
    r = m('--output', 'y.safetensors', '--sigma-y', '1e308');
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/--sigma-y must be in \[0, 10\], got 1e308/)]);
    r = m('--output', 'y.safetensors', '--sigma-y', '-1');
    expect(r.code).toBe(2);
    expect(hash(join(d, 'x.png'))).toBe(before);
    expect(readFileSync(join(d, 'y-mask.png'), 'utf8')).toBe('not ours');
    expect(ls(d)).toEqual(['x.png', 'y-mask.png']);
    // with the flag, and an absolute input path: the metadata records only the file name
    r = posterior(['measure', '--task', 'inpaint-box', '--input', join(d, 'x.png'), '--output', 'y.safetensors'], d);
    expect(r.code).toBe(0);
    const meta = parseSafetensors(new Uint8Array(readFileSync(join(d, 'y.safetensors')))).metadata;
    expect(meta.input).toBe('x.png');
    expect(Object.values(meta).join(' ')).not.toContain(d);
    r = m('--output', 'y.png', '--force');
    expect(r.code).toBe(0);
    expect(ls(d)).toEqual(['x.png', 'y-mask.png', 'y.png', 'y.safetensors']);
  });

  it('sample refuses a measurement with NaN in y: exit 1, the file named, no output', () => {
    const d = newDir();
    const y = new Float32Array(8 * 8).fill(0.1);
    y[3] = NaN;
    writeSafetensorsFile(
      join(d, 'm.safetensors'),
      { y: { shape: [1, 1, 8, 8], data: y } },
      {
        task: 'sr4',
        noise: 'gaussian',
        sigma_y: '0.05',
      },
    );
    const r = posterior(
      ['sample', '--measurement', 'm.safetensors', '--method', 'dps', '--steps', '2', '--output', 'x0.png'],
      d,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: m\.safetensors: tensor 'y' holds a non-finite value \(NaN at index 3\)/m);
    expect(ls(d)).toEqual(['m.safetensors']);
  });

  it('sample, eval, demo, profile: bad methods, steps and numbers are usage errors; outputs checked first', async () => {
    const d = newDir();
    png(join(d, 'x.png'));
    const before = hash(join(d, 'x.png'));
    const p = (f: string) => join(d, f);
    // in process (the same main() the executable runs): these fail before any engine starts
    const run = async (...args: string[]) => {
      const err: string[] = [];
      const code = await main(args, { log: () => {}, error: (m) => err.push(m) }, {});
      return { code, stderr: err.join('\n') };
    };
    const s = (...a: string[]) => run('sample', '--input', p('x.png'), '--task', 'sr4', ...a);
    const cases: [{ code: number; stderr: string }, number, RegExp][] = [
      [await run('profile', '--method', 'dsp'), 2, /--method: unknown method 'dsp'/],
      [await s('--method', 'dsp', '-o', p('o.png')), 2, /--method: unknown method 'dsp'/],
      [await s('--method', 'dps', '--steps', 'abc', '-o', p('o.png')), 2, /--steps: "abc" is not N/],
      [await s('--method', 'dps', '--sigma-y', '1e308', '-o', p('o.png')), 2, /--sigma-y must be in \[0, 10\]/],
      [await s('--method', 'dps', '--sigma-y', '-1', '-o', p('o.png')), 2, /--sigma-y must be in \[0, 10\]/],
      [await s('--method', 'dps', '--seed', '1x', '-o', p('o.png')), 2, /--seed expects a number/],
      [await s('--method', 'dps', '-o', p('o.jpg')), 2, /--output .*o\.jpg: must end in \.png or \.safetensors/],
      [await s('--method', 'dps', '-o', p('nodir/o.png')), 1, /nodir\/o\.png: directory .* does not exist/],
      [await s('--method', 'dps', '-o', p('x.png')), 1, /x\.png: is the same file as the input .*x\.png/],
      [await run('eval', '--methods', 'dps,dsp'), 2, /--methods: unknown method 'dsp'/],
      [await run('eval', '--out', p('x.png')), 1, /x\.png: exists and is not a directory/],
      [await run('demo', '--out', p('x.png')), 1, /x\.png: exists and is not a directory/],
    ];
    for (const [r, code, msg] of cases) {
      expect(r.stderr).toMatch(msg);
      expect(r.code).toBe(code);
    }
    expect(hash(join(d, 'x.png'))).toBe(before);
    expect(ls(d)).toEqual(['x.png']);
  });

  it('SIGKILL while a file is being replaced leaves the previous file or the complete new one', async () => {
    const d = newDir();
    const target = join(d, 'weights.safetensors');
    writeFileSync(target, 'previous');
    const seen = new Set<string>();
    for (const delay of [150, 400, 700, 1000, 1300]) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'test/helpers/atomic-writer-child.ts'), target, '4'],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      await new Promise<void>((ok) => child.stdout!.once('data', () => ok()));
      await new Promise((ok) => setTimeout(ok, delay));
      child.kill('SIGKILL');
      await new Promise((ok) => child.once('exit', ok));
      const b = readFileSync(target);
      const kind =
        b.toString() === 'previous'
          ? 'previous'
          : b.length === 4 << 20 && (b.every((x) => x === 0xa1) || b.every((x) => x === 0xb2))
            ? 'complete'
            : 'BROKEN';
      expect(kind).not.toBe('BROKEN');
      seen.add(kind);
    }
    expect(seen.has('complete')).toBe(true);
    // the killed writer's temporary is cleaned up by the next write to that file
    writeFilesAtomic([{ path: target, data: 'final' }]);
    expect(ls(d)).toEqual(['weights.safetensors']);
  }, 60_000);

  it('SIGINT or SIGKILL during sampling leaves the previous output; SIGINT says nothing was written', async () => {
    const d = newDir();
    png(join(d, 'x.png'));
    writeFileSync(join(d, 'out.png'), 'previous result');
    for (const signal of ['SIGINT', 'SIGKILL'] as const) {
      const child = spawn(
        process.execPath,
        [
          BIN,
          'sample',
          '--input',
          'x.png',
          '--task',
          'inpaint-box',
          '--method',
          'ddpm',
          '--steps',
          '1000',
          '--output',
          'out.png',
        ],
        { cwd: d, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBUG: '' } },
      );
      let err = '';
      child.stderr!.on('data', (b) => (err += b));
      // wait until sampling runs (the progress line), then interrupt
      await new Promise<void>((ok) => {
        const t = setInterval(() => {
          if (/\d+\/1000/.test(err)) {
            clearInterval(t);
            ok();
          }
        }, 100);
      });
      child.kill(signal);
      const [code, sig] = await new Promise<[number | null, string | null]>((ok) =>
        child.once('exit', (c, s) => ok([c, s])),
      );
      if (signal === 'SIGINT') {
        expect(code).toBe(130);
        expect(err).toMatch(/interrupted \(SIGINT\): no output was written; existing files are unchanged/);
      } else expect(sig).toBe('SIGKILL');
      expect(readFileSync(join(d, 'out.png'), 'utf8')).toBe('previous result');
      expect(ls(d)).toEqual(['out.png', 'x.png']);
    }
  }, 180_000);
});

describe('written command lines', () => {
  it('name files relative to the working directory, or by name only outside it', () => {
    const cwd = process.cwd();
    expect(
      portableCommand(['study', '--prior', `adsn:${join(cwd, 'a', 'b.png')}`, '--out=/elsewhere/x', 'rel/c']),
    ).toBe('posterior study --prior adsn:a/b.png --out=x rel/c');
  });
});
