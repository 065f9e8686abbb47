// Unconditional DDPM (Ho et al. 2020) with guided-diffusion's p_sample: the prior alone, no measurement.
import { DDPM } from '../updates.js';
import type { SamplerMethod } from './method.js';

export const ddpm: SamplerMethod = {
  name: 'ddpm',
  summary: 'unconditional DDPM ancestral sampling (the prior)',
  update: DDPM,
  needsMeasurement: false,
  cmi: false,
  // guided-diffusion samples with all T = 1000 steps unless respaced (improved-diffusion README)
  protocolSteps: 1000,
  stepsSource: 'guided-diffusion (no respacing)',
  defaults: () => ({}),
};
