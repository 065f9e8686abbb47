// DPS (Chung et al. 2023, reference code DPS2022/diffusion-posterior-sampling, condition_methods.py
// `PosteriorSampling`): x_{t−1} = x'_{t−1} − ζ ∇ₓₜ‖y − A(x̂₀(xₜ))‖ with the un-squared norm taken per image
// (the reference takes one norm over the whole batch; per image keeps batched images independent).
// Poisson noise: the reference's ‖y − A x̂₀‖/|y| averaged over pixels, i.e. ‖r‖·mean(1/|y|).
import type { Tensor } from '../engine/tensor.js';
import { poissonWeights, pullbackX0, opPullback, residual, type Evaluated, type SamplerContext } from './context.js';
import { CoefMode, filled, rowCoef, rowScale } from './rows.js';

export { poissonWeights };

export interface NormGuidance {
  /** ∇ₓₜ of the per-image norm (Gaussian: ‖y − A x̂₀‖; Poisson: weighted) */
  grad: Tensor;
  /** the norm per image, [N] */
  dist: Tensor;
  /** ‖y − A x̂₀‖² per image, [N] */
  ss: Tensor;
}

/** ∇ₓₜ‖y − A(x̂₀(xₜ))‖ per image, through the network (consumes ev's reverse pass). */
export function normGuidance(ctx: SamplerContext, k: number, ev: Evaluated, x0: Tensor, method = 'dps'): NormGuidance {
  const e = ctx.e;
  const N = ctx.shape[0];
  const { r, ss } = residual(ctx, x0, method);
  const w = ctx.noise.kind === 'poisson' ? ctx.poissonWeight : undefined;
  if (ctx.noise.kind === 'poisson' && !w)
    throw new Error(`${method}: Poisson guidance needs the per-image weights (SamplerContext.poissonWeight)`);
  const ones = w ? null : filled(e, [N], 1, 'ones');
  // ∂‖r‖/∂x̂₀ = −(∂A)ᵀ r/‖r‖ (times the Poisson weight)
  const c = rowCoef(e, CoefMode.OverNorm, w ?? ones!, ss, -1, 1e-30);
  const u = rowScale(e, r, c);
  const gx0 = opPullback(ctx, x0, u);
  e.release(r, c, u);
  const grad = pullbackX0(ctx, k, ev, gx0);
  e.release(gx0);
  const norm = rowCoef(e, CoefMode.Norm, ss, ss, 1);
  let dist = norm;
  if (w) {
    dist = rowScale(e, norm, w);
    e.release(norm);
  }
  e.release(ones);
  return { grad, dist, ss };
}
