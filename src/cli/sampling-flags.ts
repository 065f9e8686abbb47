// Flags shared by `sample` and `eval`: method, steps, CMI settings.
import type { FlagTable } from './args.ts';
import { METHOD_NAMES, parseEtaSchedule, type CmiOptions } from '../samplers/index.ts';

export const SAMPLING_FLAGS = {
  steps: { type: 'string', default: '100', help: 'respacing: section count "N" (guided-diffusion), "a,b" or "ddimN"' },
  seed: { type: 'int', default: 0, help: 'seed of image 0 (image n uses seed + n)' },
  scale: {
    type: 'number',
    help: 'ζ: DPS/MCG step size (default per task: inpainting 0.5, SR/deblur 0.3, phase 1.0); ΠGDM weight',
  },
  eta: { type: 'number', help: 'DDIM η (default: 0 for ddim, 1 for pigdm and dsg)' },
  'pigdm-weighting': {
    type: 'string',
    choices: ['reference', 'score'],
    default: 'reference',
    help: "ΠGDM's weight on its guidance: NVlabs' √ᾱ_prev·√ᾱ·r² (reference) or the posterior-score DDIM step (score; docs/pigdm.md)",
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

export const METHOD_HELP = `one of ${METHOD_NAMES.join(', ')}`;

export function cmiOptions(f: { cmiR: number; cmiEta: string; cmiSigmaInv: string }): CmiOptions {
  return {
    r: f.cmiR,
    eta: parseEtaSchedule(f.cmiEta) as CmiOptions['eta'],
    sigmaInv: f.cmiSigmaInv as CmiOptions['sigmaInv'],
  };
}
