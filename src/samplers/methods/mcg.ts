// MCG (Chung, Sim, Ryu, Ye, NeurIPS 2022, "Improving diffusion models for inverse problems using manifold
// constraints"): the DPS gradient step on a DDPM base, then the projection onto the measurement diffused
// to the current noise level (../mcg.ts). The projection is the MCG paper's, x ← x + A⁺(y_t − A x). The
// DPS repository's `ManifoldConstraintGradient` projects with each operator's own `project` instead:
// identical for inpainting (known pixels replaced by y_t), but for super-resolution it uses Aᵀ where we use
// A⁺, and its blur operators add y_t − A x without any inverse.
import { mcgProject } from '../mcg.js';
import { normGuidance } from '../dps.js';
import { DDPM } from '../updates.js';
import { DPS_STEPS, DPS_ZETA, gradientStep } from './dps.js';
import type { Protocol, SamplerMethod, TaskKind } from './method.js';

export const mcg: SamplerMethod = {
  name: 'mcg',
  summary: 'MCG (Chung et al. 2022): DPS step + projection x + A⁺(y_t − A x)',
  update: DDPM,
  needsMeasurement: true,
  cmi: true,
  // The DPS repository runs MCG (`conditioning.method: mcg`) with the same configs: ζ per task and 1000
  // DDPM steps (configs/diffusion_config.yaml).
  protocolSteps: DPS_STEPS,
  stepsSource: 'DPS configs/diffusion_config.yaml (method mcg)',
  defaults: (task: TaskKind): Protocol => ({ zeta: DPS_ZETA[task] }),
  guidance: (ctx, k, ev, x0) => normGuidance(ctx, k, ev, x0, 'mcg'),
  ...gradientStep,
  after: (ctx, st, x) => mcgProject(ctx, st.k, st.i, x),
};
