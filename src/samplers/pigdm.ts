// ΠGDM (Song, Vahdat, Mardani, Kautz 2023), noisy version on a DDIM(η) base:
//   g = (∂x̂₀/∂xₜ)ᵀ Aᵀ (rₜ² AAᵀ + σ_y² I)⁻¹ (y − A x̂₀),  rₜ² = 1 − ᾱₜ,
//   x_{t−1} = x'_{t−1} + ζ·sqrt(ᾱₜ)·g
// (the sqrt(ᾱₜ) weight as in the paper's Algorithm 1 and NVlabs RED-diff's implementation; ζ = 1 default).
// The measurement-space solve goes through the operator's SVD when it has one (diagonal there), else CG.
import type { Tensor } from '../engine/tensor.js';
import { pullbackX0, requireMeasurement, residual, type Evaluated, type SamplerContext } from './context.js';
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

/** ΠGDM's weight on g at respaced step k. */
export const pigdmWeight = (ctx: SamplerContext, k: number) => Math.sqrt(ctx.sched.alphasCumprod[k]);
