// A checkpoint's diffusion: the settings it was trained with (guided-diffusion `create_gaussian_diffusion`
// arguments, or the `diffusion` section of a DPS-style diffusion_config.yaml), validated, normalised, and
// stored in the weight file's metadata (`diffusion`, JSON) by `convert`, so that sampling uses them.
// Every value is checked: a stored file is untrusted input.
import type { BetaScheduleName, VarianceType } from './schedule.js';

export interface DiffusionSettings {
  /** training steps T */
  steps: number;
  noiseSchedule: BetaScheduleName;
  varType: VarianceType;
  clipDenoised: boolean;
  /** the model was called with t·1000/T (identity for T = 1000) */
  rescaleTimesteps: boolean;
  /** the respacing the checkpoint's own sampling config names ("20", "ddim50"), if any */
  respacing?: string;
}

export class DiffusionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiffusionConfigError';
  }
}

const fail = (m: string): never => {
  throw new DiffusionConfigError(m);
};

/** guided-diffusion's defaults (model_and_diffusion_defaults / diffusion_defaults). */
export function defaultDiffusion(learnSigma: boolean): DiffusionSettings {
  return {
    steps: 1000,
    noiseSchedule: 'linear',
    varType: learnSigma ? 'learned_range' : 'fixed_large',
    clipDenoised: true,
    rescaleTimesteps: false,
  };
}

const KNOWN = new Set([
  'steps',
  'diffusion_steps',
  'noise_schedule',
  'model_mean_type',
  'predict_xstart',
  'model_var_type',
  'learn_sigma',
  'sigma_small',
  'clip_denoised',
  'rescale_timesteps',
  'timestep_respacing',
  'sampler',
  'dynamic_threshold',
  'use_kl',
  'rescale_learned_sigmas',
  // our stored form
  'noiseSchedule',
  'varType',
  'clipDenoised',
  'rescaleTimesteps',
  'respacing',
]);

function bool(o: Record<string, unknown>, k: string): boolean | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  return fail(`diffusion.${k}: expected true or false, got ${JSON.stringify(v).slice(0, 40)}`);
}

function str(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') return fail(`diffusion.${k}: expected a string, got ${typeof v}`);
  const s = String(v);
  if (s.length > 64) return fail(`diffusion.${k}: value longer than 64 characters`);
  return s.trim().toLowerCase();
}

/**
 * Parse a diffusion section: guided-diffusion argument names (diffusion_steps, learn_sigma, sigma_small,
 * predict_xstart, …), DPS config names (steps, model_mean_type, model_var_type, …), or our stored form.
 * `learnSigma`: what the model's output channels say (a config whose variance type contradicts it is an
 * error). Unsupported settings (x₀ or v prediction, dynamic thresholding, schedules other than linear and
 * cosine) are errors, not silent changes.
 */
export function parseDiffusionConfig(input: unknown, learnSigma: boolean): DiffusionSettings {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return fail('diffusion settings must be an object');
  const o = input as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length > 64) fail(`diffusion settings: ${keys.length} keys (at most 64)`);
  const unknown = keys.filter((k) => !KNOWN.has(k));
  if (unknown.length)
    fail(`diffusion settings: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).join(', ')}`);
  const out = defaultDiffusion(learnSigma);

  const stepsRaw = o.steps ?? o.diffusion_steps;
  if (stepsRaw !== undefined) {
    const n = typeof stepsRaw === 'string' ? Number(stepsRaw) : stepsRaw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > 100000)
      fail(`diffusion.steps: expected an integer in [2, 100000], got ${JSON.stringify(stepsRaw).slice(0, 40)}`);
    out.steps = n as number;
  }
  const ns = str(o, 'noise_schedule') ?? str(o, 'noiseSchedule');
  if (ns !== undefined) {
    if (ns !== 'linear' && ns !== 'cosine')
      fail(`diffusion.noise_schedule '${ns}' is not supported (linear or cosine)`);
    out.noiseSchedule = ns as BetaScheduleName;
  }
  const mean = str(o, 'model_mean_type');
  if (mean !== undefined && mean !== 'epsilon')
    fail(`diffusion.model_mean_type '${mean}' is not supported: the samplers need an ε-predicting model`);
  if (bool(o, 'predict_xstart')) fail('diffusion.predict_xstart: x₀-predicting models are not supported (ε only)');
  if (bool(o, 'dynamic_threshold')) fail('diffusion.dynamic_threshold: dynamic thresholding is not supported');
  // use_kl, rescale_learned_sigmas: training-loss options that do not change sampling (type-checked only)
  bool(o, 'use_kl');
  bool(o, 'rescale_learned_sigmas');

  // variance: model_var_type (DPS configs) or learn_sigma / sigma_small (guided-diffusion arguments)
  let vt = (str(o, 'model_var_type') ?? str(o, 'varType')) as string | undefined;
  if (vt !== undefined) {
    vt = vt.replace(/-/g, '_');
    if (vt === 'learned')
      fail("diffusion.model_var_type 'learned' (log-variance output) is not supported; learned_range is");
    if (!['learned_range', 'fixed_small', 'fixed_large'].includes(vt))
      fail(`diffusion.model_var_type '${vt}' is not one of learned_range, fixed_small, fixed_large`);
  }
  const ls = bool(o, 'learn_sigma');
  const small = bool(o, 'sigma_small');
  if (ls !== undefined) {
    const fromArgs = ls ? 'learned_range' : small ? 'fixed_small' : 'fixed_large';
    if (vt !== undefined && vt !== fromArgs)
      fail(
        `diffusion: model_var_type '${vt}' contradicts learn_sigma ${ls}${small !== undefined ? ` / sigma_small ${small}` : ''}`,
      );
    vt = fromArgs;
  } else if (small !== undefined && vt === undefined) vt = small ? 'fixed_small' : 'fixed_large';
  if (vt !== undefined) out.varType = vt as VarianceType;
  if ((out.varType === 'learned_range') !== learnSigma)
    fail(
      `diffusion: model_var_type ${out.varType} ${learnSigma ? 'but the model outputs a learned variance (2C channels)' : 'needs a model with 2C output channels (learn_sigma), this one has C'}`,
    );

  const clip = bool(o, 'clip_denoised') ?? bool(o, 'clipDenoised');
  if (clip !== undefined) out.clipDenoised = clip;
  const rescale = bool(o, 'rescale_timesteps') ?? bool(o, 'rescaleTimesteps');
  if (rescale !== undefined) out.rescaleTimesteps = rescale;
  if (out.rescaleTimesteps && out.steps !== 1000)
    fail(`diffusion.rescale_timesteps with ${out.steps} training steps is not supported (the model expects t·1000/T)`);
  const resp = str(o, 'timestep_respacing') ?? str(o, 'respacing');
  if (resp !== undefined && resp !== '') {
    if (!/^(ddim\d{1,6}|\d{1,6}(,\d{1,6}){0,31})$/.test(resp))
      fail(`diffusion.timestep_respacing '${resp}': expected "N", "a,b,…" or "ddimN"`);
    out.respacing = resp;
  }
  return out;
}

/** The stored (metadata) form: JSON of the normalised settings. */
export function diffusionToJson(d: DiffusionSettings): string {
  return JSON.stringify(d);
}

/** Parse the metadata value `diffusion` of a weight file (untrusted: size-capped, validated). */
export function diffusionFromMetadata(
  value: string | undefined,
  learnSigma: boolean,
  label = 'weights',
): DiffusionSettings {
  if (value === undefined) return defaultDiffusion(learnSigma);
  if (value.length > 4096)
    throw new DiffusionConfigError(`${label}: metadata 'diffusion' is ${value.length} characters (at most 4096)`);
  let obj: unknown;
  try {
    obj = JSON.parse(value);
  } catch (err) {
    throw new DiffusionConfigError(`${label}: metadata 'diffusion' is not JSON (${(err as Error).message})`);
  }
  try {
    return parseDiffusionConfig(obj, learnSigma);
  } catch (err) {
    throw new DiffusionConfigError(`${label}: ${(err as Error).message}`);
  }
}
