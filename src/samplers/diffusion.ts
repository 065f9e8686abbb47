// guided-diffusion's per-step math on the GPU (shaders/diffusion.wgsl): p_mean_variance with ε-prediction
// (x̂₀ by Tweedie, optional clip_denoised), learned-range / fixed-small / fixed-large variances, the DDPM
// ancestral and DDIM(η) updates, and the reverse-mode pullback through x̂₀ that DPS-style guidance needs.
// Schedule coefficients are float64 on the CPU and enter as f32 uniforms.
import type { Engine } from '../engine/executor.js';
import { grid1d } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import { DIFFUSION } from './kernels.js';
import { fixedLogVariance, logVarianceBounds, type Schedule, type VarianceType } from './schedule.js';

export interface StepShape {
  /** images */
  N: number;
  /** C·H·W of one image */
  chw: number;
  /** channels of one model output image times H·W */
  outChw: number;
}

/** Check x [N, C, H, W] against the model output [N, outC, H, W]. */
export function stepShape(x: Tensor, mo: Tensor, what: string): StepShape {
  if (x.shape.length !== 4 || mo.shape.length !== 4)
    throw new Error(`${what}: expected NCHW tensors, got x [${x.shape}] and model output [${mo.shape}]`);
  const [N, C, H, W] = x.shape;
  const [n2, oc, h2, w2] = mo.shape;
  if (n2 !== N || h2 !== H || w2 !== W || (oc !== C && oc !== 2 * C)) {
    throw new Error(
      `${what}: model output [${mo.shape}] does not fit x [${x.shape}] (expected ${C} or ${2 * C} channels)`,
    );
  }
  return { N, chw: C * H * W, outChw: oc * H * W };
}

/** f[0] = sqrt(1/ᾱ), f[1] = sqrt(1/ᾱ − 1); their difference goes in separately (shaders/diffusion.wgsl x0_raw). */
function params(sh: StepShape, total: number, learned: boolean | null, clip: boolean, f: number[]) {
  const u: Record<string, number> = { total, chw: sh.chw, out_chw: sh.outChw, clip: clip ? 1 : 0, d01: f[0] - f[1] };
  f.forEach((v, i) => (u[`f${i}`] = Math.max(-3e38, Math.min(3e38, v))));
  if (learned !== null) u.learned = learned ? 1 : 0;
  return u;
}

export interface PSampleOptions {
  clip: boolean;
  varType: VarianceType;
}

/**
 * DDPM ancestral step at respaced index k: x̂₀ and x'ₖ₋₁ = μ(x̂₀, x) + exp(½ log σ²)·z (no noise when z is
 * null or k = 0, like p_sample's `t != 0`). learned_range needs a 2C-channel model output.
 */
export function pSample(
  e: Engine,
  s: Schedule,
  k: number,
  x: Tensor,
  mo: Tensor,
  z: Tensor | null,
  o: PSampleOptions,
): { x0: Tensor; sample: Tensor } {
  const sh = stepShape(x, mo, 'pSample');
  const learned = o.varType === 'learned_range';
  if (learned && sh.outChw !== 2 * sh.chw)
    throw new Error(
      `pSample: learned_range variance needs ε and v channels; the model output has ${sh.outChw / (sh.chw / x.shape[1])} channels`,
    );
  const { minLog, maxLog } = logVarianceBounds(s, k);
  const fixedLog = learned ? 0 : fixedLogVariance(s, k, o.varType as 'fixed_small' | 'fixed_large');
  const noiseOn = z && k > 0 ? 1 : 0;
  if (z && z.size !== x.size) throw new Error(`pSample: noise [${z.shape}] does not match x [${x.shape}]`);
  const x0 = e.tensor(x.shape, 'x0hat');
  const sample = e.tensor(x.shape, 'x_prev');
  const total = x.size;
  e.run({
    kernel: DIFFUSION.p_sample,
    buffers: { x, mo, z, o1: x0, o2: sample },
    params: params(sh, total, learned, o.clip, [
      s.sqrtRecipAlphasCumprod[k],
      s.sqrtRecipm1AlphasCumprod[k],
      s.posteriorMeanCoef1[k],
      s.posteriorMeanCoef2[k],
      minLog,
      maxLog,
      noiseOn ? fixedLog : 0,
      noiseOn,
    ]),
    grid: grid1d(e, total),
    flops: 14 * total,
    bytes: 24 * total,
  });
  return { x0, sample };
}

/** σ of DDIM(η) at respaced index k: η·sqrt((1−ᾱ_prev)/(1−ᾱ))·sqrt(1−ᾱ/ᾱ_prev). */
export function ddimSigma(s: Schedule, k: number, eta: number): number {
  const ab = s.alphasCumprod[k],
    abp = s.alphasCumprodPrev[k];
  return eta * Math.sqrt((1 - abp) / (1 - ab)) * Math.sqrt(1 - ab / abp);
}

/**
 * DDIM(η) step at respaced index k (guided-diffusion / DPS `DDIM.p_sample`): x̂₀, ε re-derived from the
 * processed x̂₀, mean = sqrt(ᾱ_prev) x̂₀ + sqrt(1−ᾱ_prev−σ²) ε and sample = mean + σ z (none at k = 0).
 */
export function ddimStep(
  e: Engine,
  s: Schedule,
  k: number,
  x: Tensor,
  mo: Tensor,
  z: Tensor | null,
  eta: number,
  clip: boolean,
): { x0: Tensor; mean: Tensor; sample: Tensor; sigma: number } {
  const sh = stepShape(x, mo, 'ddimStep');
  if (z && z.size !== x.size) throw new Error(`ddimStep: noise [${z.shape}] does not match x [${x.shape}]`);
  const sigma = ddimSigma(s, k, eta);
  const abp = s.alphasCumprodPrev[k];
  const dir = Math.sqrt(Math.max(0, 1 - abp - sigma * sigma));
  const x0 = e.tensor(x.shape, 'x0hat');
  const mean = e.tensor(x.shape, 'ddim_mean');
  const sample = e.tensor(x.shape, 'x_prev');
  const total = x.size;
  const noise = z && k > 0 ? sigma : 0;
  e.run({
    kernel: DIFFUSION.ddim_step,
    buffers: { x, mo, z, o1: x0, o2: mean, o3: sample },
    params: params(sh, total, null, clip, [
      s.sqrtRecipAlphasCumprod[k],
      s.sqrtRecipm1AlphasCumprod[k],
      Math.sqrt(abp),
      dir,
      noise,
    ]),
    grid: grid1d(e, total),
    flops: 12 * total,
    bytes: 24 * total,
  });
  return { x0, mean, sample, sigma: k > 0 ? sigma : 0 };
}

/** x̂₀ alone (Tweedie, optionally clipped): DDRM and diagnostics. */
export function predictX0(e: Engine, s: Schedule, k: number, x: Tensor, mo: Tensor, clip: boolean): Tensor {
  const { x0, mean, sample } = ddimStep(e, s, k, x, mo, null, 0, clip);
  e.release(mean, sample);
  return x0;
}

/**
 * Pullback through x̂₀ = proc(sqrt(1/ᾱ)·x − sqrt(1/ᾱ−1)·ε(x)) for g = ∂L/∂x̂₀:
 * returns the cotangent of the model output (uOut, [N, outC, H, W], zero on the variance channels) and
 * the direct term gDirect = sqrt(1/ᾱ)·g (masked by the clamp); ∂L/∂x = gDirect + vjp_model(uOut).
 */
export function x0Pullback(
  e: Engine,
  s: Schedule,
  k: number,
  x: Tensor,
  mo: Tensor,
  g: Tensor,
  clip: boolean,
): { uOut: Tensor; gDirect: Tensor } {
  const sh = stepShape(x, mo, 'x0Pullback');
  if (g.size !== x.size) throw new Error(`x0Pullback: cotangent [${g.shape}] does not match x [${x.shape}]`);
  const uOut = e.tensor(mo.shape, 'u_model');
  const gDirect = e.tensor(x.shape, 'g_direct');
  const total = mo.size;
  e.run({
    kernel: DIFFUSION.x0_pullback,
    buffers: { x, mo, g, o1: uOut, o2: gDirect },
    params: params(sh, total, null, clip, [s.sqrtRecipAlphasCumprod[k], s.sqrtRecipm1AlphasCumprod[k]]),
    grid: grid1d(e, total),
    flops: 6 * total,
    bytes: 20 * total,
  });
  return { uOut, gDirect };
}
