// The three base updates a method runs on, as objects the driver calls without knowing which it has:
// DDPM's ancestral step (guided-diffusion p_sample, with the checkpoint's variance type), DDIM(η)
// (guided-diffusion ddim_sample) and DDRM's SVD-space update (ddrm.ts).
import type { Tensor } from '../engine/tensor.js';
import type { SamplerContext } from './context.js';
import { ddrmInit, ddrmStep, requireSvd } from './ddrm.js';
import { ddimStep, pSample } from './diffusion.js';
import type { Settings } from './methods/method.js';

export interface UpdateOut {
  x0: Tensor;
  /** x'_{t−1} */
  next: Tensor;
  /** DDIM: the mean before noise; else null */
  mean: Tensor | null;
  /** DDIM: σₜ of this step; else 0 */
  sigma: number;
}

export interface UpdateRun {
  /** x_T from the stream's x_T draw z (consumes nothing; may return z itself) */
  init(z: Tensor): Tensor;
  /** one step at respaced index k from the model output `mo` at x; z = the step's noise (null at k = 0) */
  step(k: number, x: Tensor, mo: Tensor, z: Tensor | null): UpdateOut;
  /** may the run start in the middle of a trajectory (startAt > 0) */
  readonly resumable: boolean;
  release(): void;
}

export interface BaseUpdate {
  readonly name: 'DDPM' | 'DDIM' | 'DDRM';
  begin(ctx: SamplerContext, s: Settings): UpdateRun;
}

export const DDPM: BaseUpdate = {
  name: 'DDPM',
  begin: (ctx) => ({
    resumable: true,
    init: (z) => z,
    step: (k, x, mo, z) => {
      const r = pSample(ctx.e, ctx.sched, k, x, mo, z, { clip: ctx.clip, varType: ctx.varType });
      return { x0: r.x0, next: r.sample, mean: null, sigma: 0 };
    },
    release: () => {},
  }),
};

export const DDIM: BaseUpdate = {
  name: 'DDIM',
  begin: (ctx, s) => ({
    resumable: true,
    init: (z) => z,
    step: (k, x, mo, z) => {
      const r = ddimStep(ctx.e, ctx.sched, k, x, mo, z, s.eta, ctx.clip);
      return { x0: r.x0, next: r.sample, mean: r.mean, sigma: r.sigma };
    },
    release: () => {},
  }),
};

/** DDRM: x_T initialised from Uᵀy (its reference code); η and η_b from the settings. */
export const DDRM: BaseUpdate = {
  name: 'DDRM',
  begin: (ctx, s) => {
    const { svd, y } = requireSvd(ctx);
    const uty = svd.ut(y);
    return {
      resumable: false,
      init: (z) => ddrmInit(ctx, uty, z),
      step: (k, x, mo, z) => {
        const r = ddrmStep(ctx, k, x, mo, z, uty, { eta: s.eta, etaB: s.etaB });
        return { x0: r.x0, next: r.next, mean: null, sigma: 0 };
      },
      release: () => ctx.e.release(uty),
    };
  },
};
