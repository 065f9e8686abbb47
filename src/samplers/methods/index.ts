// The method registry: one line per method. A new method is a file in this folder exporting a
// SamplerMethod and one line here (docs/samplers.md).
import { ddim } from './ddim.js';
import { ddpm } from './ddpm.js';
import { ddrm } from './ddrm.js';
import { dps } from './dps.js';
import { dsg } from './dsg.js';
import { mcg } from './mcg.js';
import type { SamplerMethod } from './method.js';
import { pigdm } from './pigdm.js';

export const METHODS: readonly SamplerMethod[] = [
  ddpm, // unconditional DDPM
  ddim, // unconditional DDIM
  dps, // DPS
  pigdm, // ΠGDM
  mcg, // MCG
  dsg, // DSG
  ddrm, // DDRM
];

export function findMethod(name: string): SamplerMethod | undefined {
  return METHODS.find((m) => m.name === name);
}

export * from './method.js';
