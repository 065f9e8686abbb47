// DDRM (Kawar, Elad, Ermon, Song 2022; reference code bahjat-kawar/ddrm, `efficient_generalized_steps`)
// for operators with an SVD A = U S Vᵀ (masks, separable super-resolution and blur). The update works on
// Vᵀx̂₀ and Vᵀε̂ entry by entry (shaders/ddrm.wgsl); x_T is initialised from Uᵀy as in the reference.
import { scale, grid1d } from '../engine/ops/vector.js';
import { sliceChannels } from '../engine/ops/layout.js';
import type { Tensor } from '../engine/tensor.js';
import type { SvdView } from '../operators/operator.js';
import { requireMeasurement, type SamplerContext } from './context.js';
import { predictX0 } from './diffusion.js';
import { DDRM } from './kernels.js';

export interface DdrmOptions {
  /** η (η_A = η_C in the reference), default 0.85 */
  eta: number;
  /** η_b, default 1 */
  etaB: number;
}

export function requireSvd(ctx: SamplerContext): { svd: SvdView; y: Tensor } {
  const { op, y } = requireMeasurement(ctx, 'ddrm');
  if (!op.svd)
    throw new Error(
      `ddrm needs an operator with a singular value decomposition (masks, separable super-resolution, separable Gaussian blur); '${op.name}' has none`,
    );
  return { svd: op.svd, y };
}

function sigma0(ctx: SamplerContext): number {
  if (ctx.noise.kind === 'poisson') throw new Error('ddrm supports Gaussian (or no) measurement noise, not Poisson');
  return ctx.noise.kind === 'gaussian' ? ctx.noise.level : 0;
}

/** x_T = V(init(Uᵀy, z)) with z the x_T noise ([N, C, H, W]); uty = svd.ut(y). */
export function ddrmInit(ctx: SamplerContext, uty: Tensor, z: Tensor): Tensor {
  const { svd } = requireSvd(ctx);
  const e = ctx.e;
  const [N] = ctx.shape;
  const D = z.size / N;
  const abT = ctx.sched.alphasCumprod[ctx.sched.length - 1];
  const st = Math.sqrt(1 - abT) / Math.sqrt(abT);
  const spec = e.tensor([N, D], 'ddrm_init');
  e.run({
    kernel: DDRM.ddrm_init,
    buffers: { uty, sv: svd.singulars, z, out: spec },
    params: { total: N * D, d: D, rank: svd.rank, sigma_next: st, sigma_0: sigma0(ctx) },
    grid: grid1d(e, N * D),
  });
  const x = svd.v(spec);
  e.release(spec);
  return x.reshape(ctx.shape);
}

/** One DDRM step at respaced index k from the model output mo at x; z = the step's N(0, I) (null at k = 0). */
export function ddrmStep(
  ctx: SamplerContext,
  k: number,
  x: Tensor,
  mo: Tensor,
  z: Tensor | null,
  uty: Tensor,
  o: DdrmOptions,
): { x0: Tensor; next: Tensor } {
  const { svd } = requireSvd(ctx);
  const e = ctx.e;
  const [N, C] = ctx.shape;
  const D = x.size / N;
  const x0 = predictX0(e, ctx.sched, k, x, mo, false);
  const eps = mo.shape[1] === C ? mo : sliceChannels(e, mo, 0, C);
  const vx0 = svd.vt(x0);
  const ve = svd.vt(eps);
  const abn = ctx.sched.alphasCumprodPrev[k];
  const sn = Math.sqrt(1 - abn) / Math.sqrt(abn);
  const spec = e.tensor([N, D], 'ddrm_next');
  e.run({
    kernel: DDRM.ddrm_step,
    buffers: { vx0, veps: ve, uty, sv: svd.singulars, z, out: spec },
    params: {
      total: N * D,
      d: D,
      rank: svd.rank,
      sigma_next: z ? sn : 0,
      sigma_0: sigma0(ctx),
      eta_a: o.eta,
      eta_b: o.etaB,
      eta_c: o.eta,
    },
    grid: grid1d(e, N * D),
    flops: 12 * N * D,
  });
  const xm = svd.v(spec);
  const next = scale(e, xm, Math.sqrt(abn)).reshape(ctx.shape);
  e.release(vx0, ve, spec, xm, eps === mo ? null : eps);
  return { x0, next };
}
