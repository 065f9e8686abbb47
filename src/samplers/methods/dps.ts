// DPS (Chung, Kim, Mccann, Klasky, Ye, ICLR 2023; reference code DPS2022/diffusion-posterior-sampling):
// DDPM ancestral steps with x_{t−1} = x'_{t−1} − ζ ∇ₓₜ‖y − A(x̂₀(xₜ))‖ (guidance in ../dps.ts).
import { axpby } from '../../engine/ops/vector.js';
import { rowSumSq } from '../rows.js';
import { normGuidance } from '../dps.js';
import { scale } from '../../engine/ops/vector.js';
import { DDPM } from '../updates.js';
import type { Protocol, SamplerMethod, TaskKind } from './method.js';

/**
 * ζ per task, from the DPS repository's configs/*.yaml (`conditioning.params.scale`, method `ps`):
 * inpainting_config.yaml 0.5, super_resolution_config.yaml 0.3, gaussian_deblur_config.yaml 0.3,
 * motion_deblur_config.yaml 0.3, nonlinear_deblur_config.yaml 0.3, phase_retrieval_config.yaml 1.0.
 * Other tasks: 0.5 (the inpainting value; no published setting).
 */
export const DPS_ZETA: Record<TaskKind, number> = {
  inpainting: 0.5,
  'super-resolution': 0.3,
  deblur: 0.3,
  'phase-retrieval': 1.0,
  other: 0.5,
};

/** DPS configs/diffusion_config.yaml: `timestep_respacing: 1000` of `steps: 1000` (DDPM sampler). */
export const DPS_STEPS = 1000;

/** The DPS-style gradient step shared with MCG: x ← x' − ζ g, and its length ζ‖g‖. */
export const gradientStep: Pick<SamplerMethod, 'apply' | 'moveSumSq'> = {
  apply: (ctx, st, grad, s) => {
    axpby(ctx.e, -s.zeta, grad, 1, st.next);
    return st.next;
  },
  moveSumSq: (ctx, _st, grad, s) => {
    if (!grad) return undefined;
    const gss = rowSumSq(ctx.e, grad, ctx.shape[0]);
    const out = scale(ctx.e, gss, s.zeta * s.zeta);
    ctx.e.release(gss);
    return out;
  },
};

export const dps: SamplerMethod = {
  name: 'dps',
  summary: 'DPS (Chung et al. 2023): DDPM + ζ∇‖y − A x̂₀‖',
  update: DDPM,
  needsMeasurement: true,
  cmi: true,
  protocolSteps: DPS_STEPS,
  stepsSource: 'DPS configs/diffusion_config.yaml',
  // clip_denoised: the checkpoint's (DPS's diffusion_config.yaml: True)
  defaults: (task: TaskKind): Protocol => ({ zeta: DPS_ZETA[task] }),
  guidance: (ctx, k, ev, x0) => normGuidance(ctx, k, ev, x0, 'dps'),
  ...gradientStep,
};
