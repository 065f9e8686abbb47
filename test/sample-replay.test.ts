// Acceptance: `posterior sample` replays the published DPS run of test/fixtures/adm-tiny/dps-golden.safetensors
// through the CLI alone — convert the checkpoint (its config's diffusion section goes into the weight file),
// then sample with the golden file as the measurement (its own [1, 3, 32, 32] mask, DPS layout), its x_T and
// step_noise, and ζ 0.5; steps (20), variance (learned_range) and clip_denoised come from the converted
// checkpoint — and gets the x₀ of the library's replay (test/dps-golden.test.ts's settings) to 1e-6.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import { copy, mulInPlace } from '../src/engine/ops/vector.js';
import { readSafetensorsFile } from '../src/engine/safetensors-node.js';
import { tensorToFloat32 } from '../src/engine/safetensors.js';
import type { MeasurementOperator } from '../src/operators/operator.js';
import { sample } from '../src/samplers/sampler.js';
import { createSchedule } from '../src/samplers/schedule.js';
import { loadUNet } from '../src/unet/index.js';
import { getTestEngine } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/posterior.mjs');
const GOLDEN = join(ROOT, 'test/fixtures/adm-tiny/dps-golden.safetensors');
const tmp = mkdtempSync(join(tmpdir(), 'posterior-replay-'));

function posterior(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

describe('posterior sample replays the DPS golden run', () => {
  it('convert + sample --measurement --x-T --noise-from --zeta 0.5 = the library replay (≤ 1e-6 relative)', async () => {
    const weights = join(tmp, 'adm-tiny.safetensors');
    const conv = posterior([
      'convert',
      '--input',
      join(ROOT, 'test/fixtures/adm-tiny/model.pt'),
      '--config',
      join(ROOT, 'test/fixtures/adm-tiny/config.json'),
      '--output',
      weights,
    ]);
    expect(conv.stderr).toBe('');
    expect(conv.code).toBe(0);
    const meta = readSafetensorsFile(weights).metadata;
    expect(JSON.parse(meta.diffusion)).toEqual({
      steps: 1000,
      noiseSchedule: 'linear',
      varType: 'learned_range',
      clipDenoised: true,
      rescaleTimesteps: false,
      respacing: '20',
    });

    const out = join(tmp, 'x0.safetensors');
    const r = posterior([
      'sample',
      '--weights',
      weights,
      '--measurement',
      GOLDEN,
      '--task',
      'inpaint-box',
      '--method',
      'dps',
      '--x-T',
      GOLDEN,
      '--noise-from',
      GOLDEN,
      '--zeta',
      '0.5',
      '--output',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dps on inpaint-box: 20 steps/);
    // 20 steps is the checkpoint's own respacing, fewer than DPS's protocol: one warning line
    expect(r.stderr).toMatch(/under-converged/);
    const cli = tensorToFloat32(readSafetensorsFile(out).tensors.get('x0')!);

    // the library replay, as test/dps-golden.test.ts runs it
    const g = readSafetensorsFile(GOLDEN).tensors;
    const get = (k: string) => tensorToFloat32(g.get(k)!);
    const shape = g.get('x_T')!.shape;
    const model = loadUNet(e, new Uint8Array(readFileSync(weights)));
    const mask = e.upload(get('mask'), shape, 'mask');
    const apply = (x: Tensor) => mulInPlace(e, copy(e, x), mask);
    const op: MeasurementOperator = {
      name: 'box-inpainting',
      inputShape: shape,
      outputShape: shape,
      linear: true,
      forward: apply,
      vjp: (_x, u) => apply(u),
      adjoint: apply,
      pinv: apply,
    };
    const res = await sample({
      model,
      operator: op,
      noise: { kind: 'gaussian', level: 0.05 },
      y: e.upload(get('y'), shape, 'y'),
      method: 'dps',
      schedule: createSchedule({ respacing: '20' }),
      zeta: 0.5,
      clip: true,
      varType: 'learned_range',
      xT: e.upload(get('x_T'), shape, 'x_T'),
      stepNoise: e.upload(get('step_noise'), [20, ...shape], 'step_noise'),
    });
    const lib = await e.read(res.x0);
    e.release(res.x0, mask);
    let num = 0,
      den = 0;
    for (let i = 0; i < lib.length; i++) {
      num = Math.max(num, Math.abs(cli[i] - lib[i]));
      den = Math.max(den, Math.abs(lib[i]));
    }
    console.log(`CLI replay vs library replay: max |Δx₀| = ${(num / den).toExponential(2)} of max|x₀|`);
    expect(cli.length).toBe(lib.length);
    expect(num / den).toBeLessThanOrEqual(1e-6);
  }, 300_000);
});
