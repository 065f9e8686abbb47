// Float64 schedule math for the validation lab: guided-diffusion's linear β schedule (1e-4 → 0.02 over
// 1000 steps) and its even respacing. Kept inside src/lab so the lab's closed forms and its reference
// sampler loop do not depend on the samplers' schedule module (which is written in parallel); both follow
// guided-diffusion (`get_named_beta_schedule('linear')`, `space_timesteps(T, [N])`).

export const T_TRAIN = 1000;

let cached: { betas: Float64Array; abar: Float64Array } | null = null;

function schedule() {
  if (!cached) {
    const betas = new Float64Array(T_TRAIN);
    const abar = new Float64Array(T_TRAIN);
    let prod = 1;
    for (let i = 0; i < T_TRAIN; i++) {
      // np.linspace(1e-4, 0.02, 1000)
      betas[i] = 1e-4 + ((0.02 - 1e-4) * i) / (T_TRAIN - 1);
      prod *= 1 - betas[i];
      abar[i] = prod;
    }
    cached = { betas, abar };
  }
  return cached;
}

function checkT(t: number): void {
  if (!Number.isInteger(t) || t < 0 || t >= T_TRAIN)
    throw new Error(`timestep ${t}: expected an integer in [0, ${T_TRAIN - 1}]`);
}

/** ᾱₜ = ∏_{s≤t}(1 − β_s) */
export function alphaBar(t: number): number {
  checkT(t);
  return schedule().abar[t];
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

/**
 * guided-diffusion `space_timesteps(1000, [n])`: n timesteps spread evenly over [0, 999] (rounded), in
 * increasing order. n = 1000 keeps every step.
 */
export function respacedTimesteps(n: number): number[] {
  if (!Number.isInteger(n) || n < 1 || n > T_TRAIN) throw new Error(`respacing: ${n} steps, expected 1..${T_TRAIN}`);
  if (n === 1) return [0];
  const stride = (T_TRAIN - 1) / (n - 1);
  const out: number[] = [];
  let cur = 0;
  for (let i = 0; i < n; i++) {
    out.push(Math.round(cur));
    cur += stride;
  }
  return out;
}
