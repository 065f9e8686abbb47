// A checkpoint's diffusion settings: parsed and validated from a training config or a weight file's
// metadata (hostile input), stored by `convert`, and honoured by the sampler — a fixed_small / cosine
// checkpoint is sampled with guided-diffusion's formulas for them (against a float64 reference written
// here from gaussian_diffusion.py, independent of src/samplers/schedule.ts).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import { scale } from '../src/engine/ops/vector.js';
import {
  DiffusionConfigError,
  diffusionFromMetadata,
  parseDiffusionConfig,
  type DiffusionSettings,
} from '../src/samplers/diffusion-config.js';
import { sample } from '../src/samplers/sampler.js';
import type { ScoreModel } from '../src/samplers/score-model.js';
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';
import { fixture, getTestEngine, randomArray, relMaxErr } from './helpers.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

describe('parseDiffusionConfig', () => {
  it('reads DPS config names and guided-diffusion argument names alike', () => {
    const dpsStyle = parseDiffusionConfig(
      {
        sampler: 'ddpm',
        steps: 1000,
        noise_schedule: 'linear',
        model_mean_type: 'epsilon',
        model_var_type: 'learned_range',
        dynamic_threshold: false,
        clip_denoised: true,
        rescale_timesteps: false,
        timestep_respacing: 1000,
      },
      true,
    );
    expect(dpsStyle).toEqual({
      steps: 1000,
      noiseSchedule: 'linear',
      varType: 'learned_range',
      clipDenoised: true,
      rescaleTimesteps: false,
      respacing: '1000',
    });
    const gd = parseDiffusionConfig(
      { diffusion_steps: 4000, noise_schedule: 'cosine', learn_sigma: false, sigma_small: true, predict_xstart: false },
      false,
    );
    expect(gd).toMatchObject({ steps: 4000, noiseSchedule: 'cosine', varType: 'fixed_small' });
    expect(parseDiffusionConfig({ learn_sigma: false }, false).varType).toBe('fixed_large');
    // the stored form round-trips
    expect(parseDiffusionConfig(JSON.parse(JSON.stringify(gd)), false)).toEqual(gd);
  });

  it('refuses what the samplers cannot honour, with a clear message', () => {
    const bad: Array<[object, boolean, RegExp]> = [
      [{ model_mean_type: 'start_x' }, true, /ε-predicting/],
      [{ model_mean_type: 'v' }, true, /not supported/],
      [{ predict_xstart: true }, true, /x₀-predicting/],
      [{ noise_schedule: 'sqrt' }, true, /linear or cosine/],
      [{ dynamic_threshold: true }, true, /dynamic thresholding/],
      [{ model_var_type: 'learned' }, true, /learned_range is/],
      [{ model_var_type: 'fixed_small' }, true, /learned variance/],
      [{ model_var_type: 'learned_range' }, false, /2C output channels/],
      [{ model_var_type: 'fixed_large', learn_sigma: false, sigma_small: true }, false, /contradicts/],
      [{ steps: 1e300 }, true, /integer in \[2, 100000\]/],
      [{ steps: 'many' }, true, /integer/],
      [{ steps: 500, rescale_timesteps: true }, true, /rescale_timesteps/],
      [{ clip_denoised: 'maybe' }, true, /true or false/],
      [{ timestep_respacing: 'ddim' }, true, /ddimN/],
      [{ noise_schedule: 'x'.repeat(100) }, true, /longer than 64/],
      [{ nosie_schedule: 'linear' }, true, /unknown key nosie_schedule/],
      [[1, 2], true, /must be an object/],
    ];
    for (const [cfg, ls, msg] of bad) {
      expect(() => parseDiffusionConfig(cfg, ls), JSON.stringify(cfg).slice(0, 60)).toThrow(DiffusionConfigError);
      expect(() => parseDiffusionConfig(cfg, ls)).toThrow(msg);
    }
  });

  it('a weight file’s metadata is untrusted: size-capped, JSON-checked, validated, named', () => {
    expect(diffusionFromMetadata(undefined, true)).toMatchObject({ varType: 'learned_range', steps: 1000 });
    expect(() => diffusionFromMetadata('{', true, 'w.st')).toThrow(/^w\.st: metadata 'diffusion' is not JSON/);
    expect(() => diffusionFromMetadata('x'.repeat(5000), true, 'w.st')).toThrow(/at most 4096/);
    expect(() => diffusionFromMetadata('{"model_mean_type":"v"}', true, 'w.st')).toThrow(/^w\.st: .*not supported/);
  });
});

describe('convert stores the config’s diffusion section', () => {
  it('adm-tiny: its config.json diffusion section lands in the metadata; none → no key and a note', () => {
    const bytes = new Uint8Array(readFileSync(fixture('adm-tiny/model.pt')));
    const cfg = JSON.parse(readFileSync(fixture('adm-tiny/config.json'), 'utf8'));
    const conv = convertCheckpointBytes(bytes, cfg);
    expect(JSON.parse(conv.metadata.diffusion)).toMatchObject({ varType: 'learned_range', respacing: '20' });
    const noDiff = convertCheckpointBytes(bytes, { ...cfg, diffusion: undefined });
    expect(noDiff.metadata.diffusion).toBeUndefined();
    expect(noDiff.notes.join()).toMatch(/no diffusion settings/);
    expect(() => convertCheckpointBytes(bytes, { ...cfg, diffusion: { model_mean_type: 'start_x' } })).toThrow(
      /diffusion settings: .*ε-predicting/,
    );
  });
});

// ------------------------------------------------------------------ sampling honours the settings

/** guided-diffusion get_named_beta_schedule, float64, written out here independently. */
function betas64(name: 'linear' | 'cosine', T: number): number[] {
  if (name === 'linear') {
    const s = 1000 / T;
    return Array.from({ length: T }, (_, i) => s * 1e-4 + (i * (s * 0.02 - s * 1e-4)) / (T - 1));
  }
  const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  return Array.from({ length: T }, (_, i) => Math.min(1 - f((i + 1) / T) / f(i / T), 0.999));
}

/** ε of a white Gaussian prior N(0, λI): ε(x, t) = √(1−ᾱₜ)·x/(ᾱₜλ + 1 − ᾱₜ). */
const LAMBDA = 0.3;
function gaussianModel(engine: Engine, ab: number[], shape: [number, number, number]): ScoreModel {
  const c = (t: number) => Math.sqrt(1 - ab[t]) / (ab[t] * LAMBDA + 1 - ab[t]);
  const no = () => {
    throw new Error('not needed');
  };
  return {
    engine,
    imageShape: shape,
    outChannels: shape[0],
    learnSigma: false,
    forward: (x: Tensor, t: readonly number[]) => scale(engine, x, c(t[0])),
    vjp: no,
    jvp: no,
    d2: no,
  };
}

function reference(d: DiffusionSettings, xT: Float32Array, noise: Float32Array, ab: number[], b: number[]) {
  const n = xT.length;
  let x = Float64Array.from(xT);
  for (let t = d.steps - 1; t >= 0; t--) {
    const abPrev = t > 0 ? ab[t - 1] : 1;
    const c = Math.sqrt(1 - ab[t]) / (ab[t] * LAMBDA + 1 - ab[t]);
    const pv = (b[t] * (1 - abPrev)) / (1 - ab[t]);
    // fixed_small: posterior_variance; fixed_large: betas with entry 0 = posterior_variance[1]
    const v = d.varType === 'fixed_small' ? pv : t === 0 ? (b[1] * (1 - ab[0])) / (1 - ab[1]) : b[t];
    const step = d.steps - 1 - t;
    const nx = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let x0 = Math.sqrt(1 / ab[t]) * x[i] - Math.sqrt(1 / ab[t] - 1) * c * x[i];
      if (d.clipDenoised) x0 = Math.max(-1, Math.min(1, x0));
      const mean =
        ((b[t] * Math.sqrt(abPrev)) / (1 - ab[t])) * x0 + (((1 - abPrev) * Math.sqrt(1 - b[t])) / (1 - ab[t])) * x[i];
      nx[i] = mean + (t > 0 ? Math.sqrt(v) * noise[step * n + i] : 0);
    }
    x = nx;
  }
  return x;
}

describe('the sampler uses the checkpoint’s schedule and variance', () => {
  it('cosine / linear × fixed_small / fixed_large, read from model.diffusion, match float64 (rel 1e-4)', async () => {
    const shape: [number, number, number] = [1, 4, 4];
    const T = 60;
    const n = 16 * 2;
    const xT = randomArray(n, 11);
    const stepNoise = randomArray(T * n, 12);
    const cases: Array<Partial<DiffusionSettings>> = [
      { noiseSchedule: 'cosine', varType: 'fixed_small', clipDenoised: true },
      { noiseSchedule: 'cosine', varType: 'fixed_large', clipDenoised: false },
      { noiseSchedule: 'linear', varType: 'fixed_small', clipDenoised: false },
    ];
    const results: Float32Array[] = [];
    for (const c of cases) {
      const d = parseDiffusionConfig(
        { steps: T, ...c, learn_sigma: false, sigma_small: c.varType === 'fixed_small' },
        false,
      );
      const b = betas64(d.noiseSchedule, T);
      const ab: number[] = [];
      b.reduce((p, bi, i) => (ab[i] = p * (1 - bi)), 1);
      const model = gaussianModel(e, ab, shape);
      model.diffusion = d;
      const res = await sample({
        model,
        method: 'ddpm',
        batch: 2,
        xT: e.upload(xT, [2, ...shape]),
        stepNoise: e.upload(stepNoise, [T, 2, ...shape]),
      });
      expect(res.timestepMap.length).toBe(T); // the checkpoint's T, no respacing: all of its steps
      const got = await e.read(res.x0);
      e.release(res.x0);
      const ref = reference(d, xT, stepNoise, ab, b);
      expect(relMaxErr(got, ref), JSON.stringify(c)).toBeLessThan(1e-4);
      results.push(got);
    }
    // the settings matter far beyond the tolerance (or the comparison proves nothing)
    expect(relMaxErr(results[0], results[2])).toBeGreaterThan(1e-2);
    expect(relMaxErr(results[0], results[1])).toBeGreaterThan(1e-2);
  });
});

describe('a diverging run stops', () => {
  it('NaN or Inf in the sampler state is an error naming the step, never a NaN image', async () => {
    const shape: [number, number, number] = [1, 4, 4];
    const b = betas64('linear', 1000);
    const ab: number[] = [];
    b.reduce((p, bi, i) => (ab[i] = p * (1 - bi)), 1);
    const good = gaussianModel(e, ab, shape);
    // a network that blows up below t = 500
    const bad: ScoreModel = {
      ...good,
      forward: (x, t) => scale(e, x, t[0] < 500 ? Infinity : 0.5),
    };
    // (clip_denoised off: clamping would turn an infinite x̂₀ into ±1 and hide the blow-up)
    const run = sample({ model: bad, method: 'ddpm', steps: 20, batch: 2, clip: false });
    await expect(run).rejects.toThrow(
      /not finite .* after step 11 of 20 \(t = 473; last checked finite after step 10\)/,
    );
  });
});
