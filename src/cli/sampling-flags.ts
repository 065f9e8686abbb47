// Flags shared by `sample` and `eval`: method, steps, step size and CMI settings. Defaults that depend on
// the method (steps, ζ, η) are the method's published protocol (src/samplers/methods/) and are resolved by
// the sampler when a flag is not given.
import type { FlagTable } from './args.ts';
import {
  defaultDiffusion,
  defaultSteps,
  methodsHelp,
  parseEtaSchedule,
  scheduleFor,
  underConvergedWarning,
  type CmiOptions,
  type DiffusionSettings,
  type ScoreModel,
  type VarianceType,
} from '../samplers/index.ts';

export const SAMPLING_FLAGS = {
  steps: {
    type: 'string',
    // the grammar of guided-diffusion's space_timesteps (whether it fits the checkpoint is checked later)
    check: (v: string) => {
      if (!/^(ddim[1-9]\d*|\d+(,\d+)*)$/.test(v.trim())) throw new Error(`"${v}" is not N, "a,b,…" or "ddimN"`);
    },
    help:
      'respacing: section count "N" (guided-diffusion), "a,b" or "ddimN" (default: the checkpoint\'s own ' +
      "timestep_respacing if its config names one, else the method's protocol — see --method)",
  },
  seed: { type: 'int', default: 0, help: 'seed of image 0 (image n uses seed + n)' },
  zeta: {
    type: 'number',
    help: "ζ: DPS/MCG step size (default per task, the DPS configs: inpainting 0.5, SR/deblur 0.3, phase 1.0); ΠGDM's weight multiplier (default 1)",
  },
  eta: { type: 'number', help: "DDIM η (default per method: ddim 0, pigdm 0 (NVlabs), dsg 1); ddrm's η (0.85)" },
  'pigdm-weighting': {
    type: 'string',
    choices: ['reference', 'score'],
    default: 'reference',
    help: "ΠGDM's weight on its guidance: NVlabs' √ᾱ_prev·√ᾱ·r² (reference) or the posterior-score DDIM step (score; docs/pigdm.md)",
  },
  'var-type': {
    type: 'string',
    choices: ['learned_range', 'fixed_small', 'fixed_large'],
    help: "override the checkpoint's model_var_type (default: what its weight file records)",
  },
  'clip-denoised': {
    type: 'string',
    choices: ['true', 'false'],
    help: "override clip_denoised (default: the method's protocol — pigdm and ddrm: no clip — else the checkpoint's)",
  },
  'cmi-r': { type: 'int', default: 1, help: '+cmi: Hutchinson probes per step' },
  'cmi-eta': {
    type: 'string',
    default: 'relative:0.2',
    help: '+cmi: η_t schedule — constant:η, relative:η (‖guidance‖-scaled) or residual:η',
  },
  'cmi-sigma-inv': {
    type: 'string',
    choices: ['isotropic', 'exact'],
    default: 'isotropic',
    help: '+cmi: how Σ⁻¹ is applied (exact = CG on JVPs)',
  },
} as const satisfies FlagTable;

export const METHOD_HELP = `method, with its default (protocol) steps: ${methodsHelp()}; '+cmi' adds the CMI term (e.g. dps+cmi)`;

export function cmiOptions(f: { cmiR: number; cmiEta: string; cmiSigmaInv: string }): CmiOptions {
  return {
    r: f.cmiR,
    eta: parseEtaSchedule(f.cmiEta) as CmiOptions['eta'],
    sigmaInv: f.cmiSigmaInv as CmiOptions['sigmaInv'],
  };
}

/** The checkpoint's diffusion with --var-type / --clip-denoised applied (flags override the weight file). */
export function diffusionWithFlags(
  model: ScoreModel,
  f: { varType?: string; clipDenoised?: string },
): DiffusionSettings | undefined {
  if (!model.diffusion) return undefined;
  const d = { ...model.diffusion };
  if (f.varType) {
    if ((f.varType === 'learned_range') !== model.learnSigma)
      throw new Error(
        `--var-type ${f.varType}: the model ${model.learnSigma ? 'outputs a learned variance (use learned_range)' : 'has no variance output (learned_range needs 2C output channels)'}`,
      );
    d.varType = f.varType as VarianceType;
  }
  return d;
}

/** --clip-denoised as the sampler's `clip` option (undefined: the method's / checkpoint's default). */
export function clipFlag(f: { clipDenoised?: string }): boolean | undefined {
  return f.clipDenoised === undefined ? undefined : f.clipDenoised === 'true';
}

/** The respaced step count a run will use, and the under-convergence warning for it (or null). */
export function resolveSteps(
  method: string,
  steps: string | undefined,
  d: DiffusionSettings | undefined,
): { steps: string | number; count: number; warning: string | null } {
  const s = steps ?? defaultSteps(method, d);
  const diff = d ?? defaultDiffusion(false);
  const count = scheduleFor(diff, s).length;
  return { steps: s, count, warning: underConvergedWarning(method, count, diff.steps) };
}
