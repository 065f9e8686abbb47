// Unconditional DDIM (Song, Meng, Ermon, ICLR 2021) with guided-diffusion's ddim_sample.
import { DDIM } from '../updates.js';
import type { SamplerMethod } from './method.js';

/** η = 0 (the deterministic DDIM of the paper); 100 steps: the paper's Table 1 S = 100 column. */
export const DDIM_PROTOCOL = { steps: 100, eta: 0 } as const;

export const ddim: SamplerMethod = {
  name: 'ddim',
  summary: 'unconditional DDIM(η) sampling (the prior)',
  update: DDIM,
  needsMeasurement: false,
  cmi: false,
  protocolSteps: DDIM_PROTOCOL.steps,
  stepsSource: 'DDIM paper Table 1 (S = 100)',
  defaults: () => ({ eta: DDIM_PROTOCOL.eta }),
};
