// The validation lab's view of the diffusion schedule: guided-diffusion's linear β schedule over 1000 steps
// and its even respacing, evaluated (in float64) by the samplers' one schedule definition
// (src/samplers/schedule.ts: `namedBetas('linear')`, `spaceTimesteps(T, n)`), with the lab's notation
// aₜ = √ᾱₜ, σₜ = √(1 − ᾱₜ).
import { namedBetas, scheduleFromBetas, spaceTimesteps, type Schedule } from '../samplers/schedule.js';

export const T_TRAIN = 1000;

let cached: Schedule | null = null;
function schedule(): Schedule {
  return (cached ??= scheduleFromBetas(namedBetas('linear', T_TRAIN)));
}

function checkT(t: number): void {
  if (!Number.isInteger(t) || t < 0 || t >= T_TRAIN)
    throw new Error(`timestep ${t}: expected an integer in [0, ${T_TRAIN - 1}]`);
}

/** ᾱₜ = ∏_{s≤t}(1 − β_s) */
export function alphaBar(t: number): number {
  checkT(t);
  return schedule().alphasCumprod[t];
}

export function beta(t: number): number {
  checkT(t);
  return schedule().betas[t];
}

/** aₜ = √ᾱₜ (signal scale) and σₜ = √(1 − ᾱₜ) (noise level): xₜ = aₜ x₀ + σₜ ε. */
export function noiseScales(t: number): { a: number; s: number } {
  const ab = alphaBar(t);
  return { a: Math.sqrt(ab), s: Math.sqrt(1 - ab) };
}

/** guided-diffusion `space_timesteps(1000, [n])`: n timesteps spread evenly over [0, 999], increasing. */
export function respacedTimesteps(n: number): number[] {
  if (!Number.isInteger(n) || n < 1 || n > T_TRAIN) throw new Error(`respacing: ${n} steps, expected 1..${T_TRAIN}`);
  return spaceTimesteps(T_TRAIN, n);
}
