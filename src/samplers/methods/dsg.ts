// DSG (Yang et al., ICML 2024, "Guidance with Spherical Gaussian Constraint for Conditional Diffusion";
// reference code LingxiaoYang2023/DSG2024) on a DDIM(η = 1) base: on guidance steps the sampled direction
// is mixed with the steepest descent of ‖y − A x̂₀‖ and put back on the sphere around the DDIM mean
// (../dsg.ts).
import { normGuidance } from '../dps.js';
import { dsgCombine, dsgGuides } from '../dsg.js';
import { filled } from '../rows.js';
import { DDIM } from '../updates.js';
import { nearestSteps, type Protocol, type SamplerMethod, type TaskKind } from './method.js';

/**
 * Interval and guidance rate γ per task and step count: the DSG paper's appendix table of hyperparameters
 * (arXiv 2402.03201v2, "Task | Interval | Guidance Rate | Denoising steps"; the repository's README points
 * to it as "Table 3 in the Appendix"). Motion deblurring is not in the paper: it uses the Gaussian-deblurring
 * row; phase retrieval and other tasks the inpainting row. The 20-step Gaussian-deblurring entry was not
 * legible in the copy we read, so deblurring at 20 steps uses its 50-step row (interval 1, γ 0.1).
 */
export const DSG_TABLE: Record<number, Partial<Record<TaskKind, { interval: number; rate: number }>>> = {
  1000: {
    inpainting: { interval: 5, rate: 0.2 },
    'super-resolution': { interval: 20, rate: 0.2 },
    deblur: { interval: 5, rate: 0.2 },
  },
  100: {
    inpainting: { interval: 1, rate: 0.2 },
    'super-resolution': { interval: 2, rate: 0.1 },
    deblur: { interval: 1, rate: 0.1 },
  },
  50: {
    inpainting: { interval: 1, rate: 0.2 },
    'super-resolution': { interval: 1, rate: 0.1 },
    deblur: { interval: 1, rate: 0.1 },
  },
  20: {
    inpainting: { interval: 1, rate: 0.2 },
    'super-resolution': { interval: 1, rate: 0.2 },
  },
};

/** DSG's table entry for a task at the published step count nearest to `steps`. */
export function dsgSettings(task: TaskKind, steps: number): { interval: number; rate: number; steps: number } {
  const rows = Object.keys(DSG_TABLE)
    .map(Number)
    .filter((s) => DSG_TABLE[s][task === 'phase-retrieval' || task === 'other' ? 'inpainting' : task]);
  const at = nearestSteps(steps, rows);
  const kind = task === 'phase-retrieval' || task === 'other' ? 'inpainting' : task;
  return { ...DSG_TABLE[at][kind]!, steps: at };
}

/**
 * DDIM η = 1: DSG2024 guided_diffusion/gaussian_diffusion.py `DDIM(eta=1)`; 100 steps: run_DSG.sh `DDIM=100`.
 * (At 1000 steps the reference switches to its DDPM sampler, configs/diffusion_ddim1000_config.yaml; we keep
 * DDIM(η = 1), whose σₜ at full length is the DDPM posterior std β̃ₜ^½.) ζ is unused: DSG's step length is
 * γ times the sphere radius.
 */
export const DSG_PROTOCOL = { steps: 100, eta: 1 } as const;

export const dsg: SamplerMethod = {
  name: 'dsg',
  summary: 'DSG (Yang et al. 2024): DDIM(η=1) + spherical-Gaussian-constrained guidance',
  update: DDIM,
  needsMeasurement: true,
  cmi: true,
  protocolSteps: DSG_PROTOCOL.steps,
  stepsSource: 'DSG2024 run_DSG.sh (DDIM=100)',
  defaults: (task: TaskKind, steps: number): Protocol => {
    const t = dsgSettings(task, steps);
    return { eta: DSG_PROTOCOL.eta, rate: t.rate, interval: t.interval, zeta: 0 };
  },
  guides: (k, s) => dsgGuides(k, { rate: s.rate, interval: s.interval }),
  guidance: (ctx, k, ev, x0) => normGuidance(ctx, k, ev, x0, 'dsg'),
  apply: (ctx, st, grad, s) => {
    const x = dsgCombine(ctx, st.mean!, st.next, grad, st.sigma, { rate: s.rate, interval: s.interval });
    ctx.e.release(st.next);
    return x;
  },
  // DSG moves x' by about γ·r on its sphere, r = sqrt(C·H·W)·σₜ
  moveSumSq: (ctx, st, _grad, s) => {
    const [N, C, H, W] = ctx.shape;
    return filled(ctx.e, [N], (Math.sqrt(C * H * W) * st.sigma * s.rate) ** 2, 'step_ss');
  },
};
