// ΠGDM (Song, Vahdat, Mardani, Kautz 2023), noisy version on a DDIM(η) base.
//
// ΠGDM approximates p(x₀ | xₜ) by N(x̂₀(xₜ), rₜ² I) with rₜ² = 1 − ᾱₜ (data of unit variance), which makes
// p(y | xₜ) Gaussian and gives the guidance
//   g = (∂x̂₀/∂xₜ)ᵀ Aᵀ (rₜ² AAᵀ + σ_y² I)⁻¹ (y − A x̂₀)  ≈ ∇ₓₜ log p(y | xₜ).
// g enters the DDIM(η) step as x_{t−1} = x'_{t−1} + ζ w_t g, with one of two weights (pigdmWeight below;
// derivations and measurements in docs/pigdm.md):
//  - 'reference' (default): NVlabs' code, w_t = √ᾱ_{t−1} √ᾱₜ rₜ². Stable with trained networks; a ~100-step
//    method (the weight does not shrink with the step size).
//  - 'score': g used as ∇ₓₜ log p(y | xₜ), i.e. DDIM on ε̃ = ε − √(1−ᾱₜ) g. This is the lab's exact-covariance
//    guidance with Cov[x₀|xₜ] = rₜ²I and converges to the posterior on a white Gaussian prior
//    (test/pigdm.test.ts), but diverges with the trained UNet, whose x̂₀ Jacobian at t ≈ T is far from that model.
// The paper's Algorithm 1 writes √ᾱₜ alone: at late steps, where (rₜ²AAᵀ + σ_y²)⁻¹ → 1/σ_y² (400 at σ_y = 0.05),
// that is a gradient step ~100× past stability (our first build; it diverged in every task).
// The measurement-space solve goes through the operator's SVD when it has one (diagonal there), else CG.
import type { Tensor } from '../engine/tensor.js';
import { pullbackX0, requireMeasurement, residual, type Evaluated, type SamplerContext } from './context.js';
import { ddimSigma } from './diffusion.js';
import { adjointSolve, type CgOptions } from './linalg.js';
import { CoefMode, rowCoef } from './rows.js';

export async function pigdmGuidance(
  ctx: SamplerContext,
  k: number,
  ev: Evaluated,
  x0: Tensor,
  cg: CgOptions = {},
): Promise<{ grad: Tensor; dist: Tensor; ss: Tensor }> {
  const { op } = requireMeasurement(ctx, 'pigdm');
  if (!op.linear) throw new Error(`pigdm needs a linear operator; '${op.name}' is not`);
  if (ctx.noise.kind === 'poisson') throw new Error('pigdm supports Gaussian (or no) measurement noise, not Poisson');
  const e = ctx.e;
  const sy = ctx.noise.kind === 'gaussian' ? ctx.noise.level : 0;
  const r2 = 1 - ctx.sched.alphasCumprod[k];
  const { r, ss } = residual(ctx, x0, 'pigdm');
  const gx0 = await adjointSolve(e, op, r, r2, sy * sy, x0, cg);
  e.release(r);
  const grad = pullbackX0(ctx, k, ev, gx0.reshape(x0.shape));
  e.release(gx0);
  const dist = rowCoef(e, CoefMode.Norm, ss, ss, 1);
  return { grad, dist, ss };
}

export type PigdmWeighting = 'reference' | 'score';
export const PIGDM_WEIGHTINGS: readonly PigdmWeighting[] = ['reference', 'score'];

/**
 * The factor g enters x_{t−1} with (times ζ):
 *  - 'score': w_t = √(1−ᾱₜ)(√ᾱ_{t−1}√(1−ᾱₜ)/√ᾱₜ − c₂), the DDIM(η) step run on ε̃ = ε − √(1−ᾱₜ) g
 *    ((1−ᾱₜ)/√ᾱₜ at the last step);
 *  - 'reference': w_t = √ᾱ_{t−1} √ᾱₜ rₜ², NVlabs' ΠGDM code (RED-diff `algos/pgdm.py`, coefficient
 *    √ᾱ_s√ᾱ_t on Jᵀ A⁺(y − A x̂₀), i.e. rₜ² times our noiseless g).
 */
export function pigdmWeight(ctx: SamplerContext, k: number, eta: number, weighting: PigdmWeighting): number {
  const ab = ctx.sched.alphasCumprod[k],
    abp = ctx.sched.alphasCumprodPrev[k];
  if (weighting === 'reference') return Math.sqrt(abp * ab) * (1 - ab);
  const sigma = ddimSigma(ctx.sched, k, eta);
  const c2 = Math.sqrt(Math.max(0, 1 - abp - sigma * sigma));
  const s = Math.sqrt(1 - ab);
  return s * ((Math.sqrt(abp) * s) / Math.sqrt(ab) - c2);
}
