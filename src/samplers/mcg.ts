// MCG's projection (Chung et al. 2022, "Improving diffusion models for inverse problems using manifold
// constraints"), after the DPS gradient step: onto the measurement diffused to the current noise level,
//   y_t = sqrt(ᾱₜ)·y + sqrt(1−ᾱₜ)·n,   x ← x + A⁺(y_t − A x)
// — the MCG paper's projection with the pseudo-inverse. The DPS repository's `ManifoldConstraintGradient`
// calls each operator's own `project` instead: the same for inpainting (A⁺ = mask: known pixels replaced by
// y_t), Aᵀ in place of A⁺ for super-resolution, and x + y_t − A x for blurs. ᾱₜ is the current step's, like
// its q_sample(y, t).
import { axpby, lincomb } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import { requireMeasurement, type SamplerContext } from './context.js';

/** x + A⁺(sqrt(ᾱₖ)y + sqrt(1−ᾱₖ)n − A x) for loop step i at respaced index k (x is consumed). */
export function mcgProject(ctx: SamplerContext, k: number, i: number, x: Tensor): Tensor {
  const { op, y } = requireMeasurement(ctx, 'mcg');
  if (!op.pinv) throw new Error(`mcg needs an operator with a pseudo-inverse (A⁺); '${op.name}' has none`);
  const e = ctx.e;
  const ab = ctx.sched.alphasCumprod[k];
  const n = ctx.streams.measurement(i, y.shape.slice(1));
  const yt = lincomb(e, Math.sqrt(ab), y, Math.sqrt(1 - ab), n.reshape(y.shape));
  const ax = op.forward(x);
  axpby(e, -1, ax.reshape(yt.shape), 1, yt);
  const corr = op.pinv(yt);
  axpby(e, 1, corr.reshape(x.shape), 1, x);
  e.release(n, yt, ax, corr);
  return x;
}
