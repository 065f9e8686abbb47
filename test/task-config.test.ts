// `posterior sample --task-config`: the DPS repository's published task configs (test/fixtures/dps-configs/,
// verbatim copies) are read with a YAML parser — nesting and PyYAML's !!python/tuple included — and a run
// uses what each names: the task, the operator parameters, σ_y and ζ (checked in the output's metadata).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.ts';
import { parseTaskConfig, readTaskConfig } from '../src/cli/task-config.ts';
import { readSafetensorsFile } from '../src/engine/safetensors-node.ts';
import { encodePng } from '../src/io/png.ts';

const CONFIGS = fileURLToPath(new URL('./fixtures/dps-configs/', import.meta.url));
const cfg = (name: string) => join(CONFIGS, `${name}_config.yaml`);

// what each published file names (restated from the files themselves)
const PUBLISHED = {
  super_resolution: { method: 'dps', task: 'sr4', zeta: 0.3, opts: { scale: 4 } },
  inpainting: { method: 'dps', task: 'inpaint-random', zeta: 0.5, opts: { maskPRange: [0.3, 0.7] } },
  gaussian_deblur: { method: 'dps', task: 'gaussian-blur', zeta: 0.3, opts: { kernelSize: 61, blurStd: 3.0 } },
  motion_deblur: { method: 'dps', task: 'motion-blur', zeta: 0.3, opts: { kernelSize: 61, motionIntensity: 0.5 } },
  // PhaseRetrievalOperator: pad = int(oversample / 8 · 256)
  phase_retrieval: { method: 'dps', task: 'phase', zeta: 1.0, opts: { pad: 64 } },
} as const;

describe('DPS task configs as published', () => {
  it('each file maps to its task, operator parameters, noise and ζ', () => {
    for (const [name, want] of Object.entries(PUBLISHED)) {
      const c = readTaskConfig(cfg(name), 32);
      expect(c, name).toEqual({ ...want, noise: { kind: 'gaussian', level: 0.05 } });
    }
  });

  it('refuses what it cannot run, naming the file and the field', () => {
    expect(() => readTaskConfig(cfg('nonlinear_deblur'), 32)).toThrow(
      /nonlinear_deblur_config\.yaml: measurement\.operator nonlinear_blur runs a learned blur network/,
    );
    const bad = (text: string) => () => parseTaskConfig(text, 'c.yaml', 32);
    const base = 'conditioning:\n  method: ps\n  params:\n    scale: 0.3\nmeasurement:\n';
    expect(bad('a: [1\n')).toThrow(/^c\.yaml: not valid YAML/);
    expect(
      bad(
        base +
          '  operator:\n    name: super_resolution\n    scale_factor: 0\n  noise:\n    name: gaussian\n    sigma: 0.05\n',
      ),
    ).toThrow(/c\.yaml: measurement\.operator\.scale_factor must be a positive integer, got 0/);
    expect(bad(base.replace('ps', 'vanilla'))).toThrow(/conditioning\.method "vanilla" is not supported/);
    expect(
      bad(
        base +
          '  operator:\n    name: inpainting\n  mask_opt:\n    mask_type: box\n    mask_len_range: !!python/tuple [128, 129]\n    image_size: 256\n  noise:\n    name: gaussian\n    sigma: 0.05\n',
      ),
    ).not.toThrow();
    // the commented-out box setting of the published inpainting file, enabled: 128 of 256 → 16 of 32
    const box = parseTaskConfig(
      base +
        '  operator:\n    name: inpainting\n  mask_opt:\n    mask_type: box\n    mask_len_range: !!python/tuple [128, 129]\n    image_size: 256\n  noise:\n    name: poisson\n    rate: 1.0\n',
      'c.yaml',
      32,
    );
    expect(box.task).toBe('inpaint-box');
    expect(box.opts.boxSize).toEqual([16, 16]);
    expect(box.noise).toEqual({ kind: 'poisson', level: 1 });
  });

  it('posterior sample --task-config runs with the settings the file names', async () => {
    const d = mkdtempSync(join(tmpdir(), 'posterior-taskcfg-'));
    const v = new Float32Array(32 * 32).map((_, i) => Math.sin(i / 7));
    writeFileSync(join(d, 'x.png'), encodePng(v, [1, 1, 32, 32]));
    const err: string[] = [];
    const run = (...args: string[]) => main(args, { log: () => {}, error: (m) => err.push(m) }, {});
    for (const [name, want] of Object.entries(PUBLISHED)) {
      const out = join(d, `${name}.safetensors`);
      const code = await run('sample', '--task-config', cfg(name), '-i', join(d, 'x.png'), '--steps', '2', '-o', out);
      expect(code, `${name}: ${err.join('\n')}`).toBe(0);
      const meta = readSafetensorsFile(out).metadata;
      expect(meta.method, name).toBe(want.method);
      expect(meta.task, name).toBe(want.task);
      expect(Number(meta.sigma_y), name).toBe(0.05);
      expect(meta.noise, name).toBe('gaussian');
      expect(JSON.parse(meta.settings).zeta, name).toBe(want.zeta);
      expect(JSON.parse(meta.operator_options), name).toEqual({ ...want.opts, seed: 0 });
    }
    // the file is the one source of these settings: a flag naming one too is a usage error
    expect(
      await run(
        'sample',
        '--task-config',
        cfg('super_resolution'),
        '-i',
        join(d, 'x.png'),
        '--zeta',
        '1',
        '-o',
        join(d, 'z.png'),
      ),
    ).toBe(2);
    expect(err.join('\n')).toMatch(/--task-config sets the task, operator, noise and ζ; drop --zeta/);
  }, 120_000);
});
