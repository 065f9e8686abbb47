// DDRM (Kawar, Elad, Ermon, Song, NeurIPS 2022; reference code bahjat-kawar/ddrm): its own SVD-space
// update (../ddrm.ts), no gradient guidance, so no CMI term.
import { DDRM } from '../updates.js';
import type { Protocol, SamplerMethod } from './method.js';

/**
 * bahjat-kawar/ddrm README: "ETA … (default: 0.85)", "ETA_B … (default: 1)", and every example runs
 * `--timesteps 20`; NVlabs' RED-diff `_configs/algo/ddrm.yaml` has the same eta 0.85 / eta_b 1. The
 * reference uses the raw Tweedie x̂₀ (no clip).
 */
export const DDRM_PROTOCOL = { steps: 20, eta: 0.85, etaB: 1, clip: false } as const;

export const ddrm: SamplerMethod = {
  name: 'ddrm',
  summary: 'DDRM (Kawar et al. 2022): SVD-space denoising (masks, SR, separable blur)',
  update: DDRM,
  needsMeasurement: true,
  cmi: false,
  protocolSteps: DDRM_PROTOCOL.steps,
  stepsSource: 'bahjat-kawar/ddrm README (--timesteps 20)',
  defaults: (): Protocol => ({ eta: DDRM_PROTOCOL.eta, etaB: DDRM_PROTOCOL.etaB, clip: DDRM_PROTOCOL.clip }),
};
