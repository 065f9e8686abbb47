// DSG (Yang et al. 2024, "Guidance with Spherical Gaussian Constraint", reference code
// LingxiaoYang2023/DSG2024 `DSG.conditioning`) on a DDIM(η) base: on guidance steps (every `interval`-th
// respaced index) the sampled noise direction is mixed with the steepest-descent direction of ‖y − A x̂₀‖
// and rescaled onto the sphere of radius r = sqrt(C·H·W)·σₜ around the DDIM mean:
//   d* = −r g/‖g‖,  d = (x' − μ) + γ(d* − (x' − μ)),  x_{t−1} = μ + r d/‖d‖      (γ: guidance rate)
import { axpby, copy, lincomb } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import type { SamplerContext } from './context.js';
import { CoefMode, filled, rowAxpy, rowCoef, rowSumSq } from './rows.js';

export interface DsgOptions {
  /** guidance rate γ (reference: 0.2 for inpainting) */
  rate: number;
  /** guide on respaced indices k with k % interval == 0 */
  interval: number;
}

export function dsgGuides(k: number, o: DsgOptions): boolean {
  return k % Math.max(1, o.interval) === 0;
}

/** The DSG combination (consumes nothing; returns a new x). sigma is the DDIM σₜ of this step. */
export function dsgCombine(
  ctx: SamplerContext,
  mean: Tensor,
  sample: Tensor,
  grad: Tensor,
  sigma: number,
  o: DsgOptions,
): Tensor {
  const e = ctx.e;
  const [N, C, H, W] = ctx.shape;
  const radius = Math.sqrt(C * H * W) * sigma;
  const ones = filled(e, [N], 1, 'ones');
  // the reference adds 1e-8 to the norms; sqrt(max(‖·‖², 1e-16)) is the same guard
  const gss = rowSumSq(e, grad, N);
  const cStar = rowCoef(e, CoefMode.OverNorm, ones, gss, -radius * o.rate, 1e-16);
  // mix = (1−γ)(x' − μ) + γ d*
  const mix = lincomb(e, 1 - o.rate, sample, -(1 - o.rate), mean);
  rowAxpy(e, mix, grad, cStar, 1);
  const mss = rowSumSq(e, mix, N);
  const cMix = rowCoef(e, CoefMode.OverNorm, ones, mss, radius, 1e-16);
  const x = copy(e, mean);
  rowAxpy(e, x, mix, cMix, 1);
  e.release(ones, gss, cStar, mix, mss, cMix);
  return x;
}

export { axpby };
