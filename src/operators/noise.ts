// Measurement noise y = A(x) + n with DPS's conventions (guided_diffusion/measurements.py):
//   gaussian: y + σ·N(0, I), σ in the [−1, 1] image scale;
//   poisson:  y' = clamp((y+1)/2, 0, 1); Poisson(255·rate·y') / (255·rate); back to [−1, 1], clamped
//             (DPS's "version 3"; `level` is the rate).
// and the gradient of the log-likelihood with respect to the predicted measurement a = A(x); the gradient
// in x is then op.vjp(x, that).
import type { Engine } from '../engine/executor.js';
import { defineKernels } from '../engine/kernel.js';
import { copy, lincomb } from '../engine/ops/vector.js';
import { randn, RANDOM } from '../engine/ops/random.js';
import type { Tensor } from '../engine/tensor.js';
import type { NoiseModel } from './operator.js';
import { runFlat } from './util.js';

export const NOISE = defineKernels('noise', {
  uniforms: {
    n: 'u32',
    scale: 'f32', // poisson: 255·rate
    floor_: 'f32', // poisson: smallest rate λ used (avoids 1/0 at black pixels)
  },
  entries: { poisson_grad: { bindings: { y: 'read', a: 'read', out: 'read_write' } } },
});

/** The noise kinds a measurement may declare. */
export const NOISE_KINDS = ['gaussian', 'poisson', 'none'] as const;
/**
 * Largest accepted noise level: σ_y (Gaussian, in the [−1, 1] image scale, where 10 already buries any image)
 * or the Poisson rate. Anything above is a typo, and 1e308 would overflow the float32 measurement to ±Inf.
 */
export const MAX_NOISE_LEVEL = 10;

/** Throws unless `n` is a known kind with a finite level in (0, MAX_NOISE_LEVEL] (any level for 'none'). */
export function checkNoiseModel(n: NoiseModel): void {
  if (!(NOISE_KINDS as readonly string[]).includes(n.kind))
    throw new Error(`noise kind must be one of ${NOISE_KINDS.join(', ')}, got ${JSON.stringify(n.kind)}`);
  if (n.kind === 'none') return;
  if (!(Number.isFinite(n.level) && n.level > 0 && n.level <= MAX_NOISE_LEVEL))
    throw new Error(`${n.kind} noise: σ_y must be finite, > 0 and at most ${MAX_NOISE_LEVEL}, got ${n.level}`);
}
const checkModel = checkNoiseModel;

/** A noisy copy of y (new tensor). Draws from Philox stream (seed, offset). */
export function addNoise(e: Engine, y: Tensor, noise: NoiseModel, seed: number, offset = 0): Tensor {
  checkModel(noise);
  if (noise.kind === 'none') return copy(e, y);
  if (noise.kind === 'gaussian') {
    const n = randn(e, y.shape, seed, offset);
    const out = lincomb(e, 1, y, noise.level, n);
    e.release(n);
    return out;
  }
  const out = e.tensor(y.shape, 'poisson_y');
  const s = seed,
    o = offset;
  if (!Number.isSafeInteger(s) || s < 0 || !Number.isSafeInteger(o) || o < 0)
    throw new Error('poisson noise: seed and offset must be non-negative safe integers');
  runFlat(
    e,
    RANDOM.poisson_dps,
    { out, src: y },
    {
      n: y.size,
      seed_lo: s % 2 ** 32,
      seed_hi: Math.floor(s / 2 ** 32),
      off_lo: o % 2 ** 32,
      off_hi: Math.floor(o / 2 ** 32),
      a: noise.level,
    },
    y.size,
    {
      flops: 60 * y.size,
      bytes: 8 * y.size,
    },
  );
  return out;
}

/**
 * ∂/∂a log p(y | a) at a = A(x) (new tensor shaped like y):
 *   gaussian: (y − a)/σ²;
 *   poisson:  (k/λ − 1)·s/2 with k = (y+1)/2·s, λ = (a+1)/2·s, s = 255·rate (0 where a is clamped to
 *             [−1, 1]; λ is floored at `poissonFloor` counts to keep black pixels finite).
 * DPS's own guidance is not this likelihood but the norm ‖y − A(x̂₀)‖ (divided by mean |y| for Poisson).
 */
export function logLikelihoodGrad(e: Engine, noise: NoiseModel, y: Tensor, a: Tensor, poissonFloor = 0.5): Tensor {
  checkModel(noise);
  if (y.size !== a.size) throw new Error(`logLikelihoodGrad: y [${y.shape}] and A(x) [${a.shape}] differ in size`);
  if (noise.kind === 'none')
    throw new Error('logLikelihoodGrad: noiseless measurements have no likelihood gradient (use a constraint)');
  if (noise.kind === 'gaussian') {
    const s2 = noise.level * noise.level;
    return lincomb(e, 1 / s2, y, -1 / s2, a);
  }
  const out = e.tensor(y.shape, 'poisson_grad');
  runFlat(e, NOISE.poisson_grad, { y, a, out }, { n: y.size, scale: 255 * noise.level, floor_: poissonFloor }, y.size, {
    flops: 8 * y.size,
    bytes: 12 * y.size,
  });
  return out;
}

/** log p(y | a) up to a constant, summed per element on the CPU (for tests and diagnostics). */
export function logLikelihood(
  noise: NoiseModel,
  y: ArrayLike<number>,
  a: ArrayLike<number>,
  poissonFloor = 0.5,
): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    if (noise.kind === 'gaussian') s -= (y[i] - a[i]) ** 2 / (2 * noise.level ** 2);
    else if (noise.kind === 'poisson') {
      const sc = 255 * noise.level;
      const k = Math.max((y[i] + 1) / 2, 0) * sc;
      const lam = Math.max(Math.min(Math.max((a[i] + 1) / 2, 0), 1) * sc, poissonFloor);
      s += k * Math.log(lam) - lam;
    }
  }
  return s;
}
