// The diffusion schedule on the CPU in float64, exactly as guided-diffusion builds it (gaussian_diffusion.py
// and respace.py): β schedule, respacing by section counts or "ddimN", and every per-step coefficient the
// samplers need. Index k of a Schedule is a *respaced* step (0 = least noise); `timestepMap[k]` is the
// timestep of the original T-step process that the network is called with.

export type BetaScheduleName = 'linear' | 'cosine';

/** guided-diffusion `get_named_beta_schedule`. Linear: np.linspace(1e-4·s, 0.02·s, T) with s = 1000/T. */
export function namedBetas(name: BetaScheduleName, T = 1000): Float64Array {
  if (!Number.isInteger(T) || T < 1) throw new Error(`beta schedule: T must be a positive integer, got ${T}`);
  const out = new Float64Array(T);
  if (name === 'linear') {
    const s = 1000 / T;
    const a = s * 0.0001,
      b = s * 0.02;
    // numpy.linspace: start + i·step, and the last element set to stop exactly
    const step = T > 1 ? (b - a) / (T - 1) : 0;
    for (let i = 0; i < T; i++) out[i] = a + i * step;
    if (T > 1) out[T - 1] = b;
    return out;
  }
  if (name === 'cosine') {
    const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (let i = 0; i < T; i++) out[i] = Math.min(1 - f((i + 1) / T) / f(i / T), 0.999);
    return out;
  }
  throw new Error(`unknown beta schedule '${name}' (expected 'linear' or 'cosine')`);
}

/** Python 3 round(): halves go to the even neighbour. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * guided-diffusion `space_timesteps(T, section_counts)`: "ddimN" (the fixed integer stride of the DDIM
 * paper), a comma list of per-section counts ("10,10"), a number, or an array. Returns the kept original
 * timesteps in increasing order.
 */
export function spaceTimesteps(T: number, sectionCounts: string | number | readonly number[]): number[] {
  let counts: number[];
  if (typeof sectionCounts === 'string') {
    const s = sectionCounts.trim();
    if (s.startsWith('ddim')) {
      const want = Number(s.slice(4));
      if (!Number.isInteger(want) || want < 1)
        throw new Error(`respacing '${s}': expected ddimN with a positive integer N`);
      for (let i = 1; i < T; i++) {
        if (Math.ceil(T / i) === want) return Array.from({ length: want }, (_, k) => k * i);
      }
      throw new Error(`respacing '${s}': cannot create exactly ${want} steps out of ${T} with an integer stride`);
    }
    counts = s.split(',').map((p) => {
      const n = Number(p.trim());
      if (!p.trim() || !Number.isInteger(n) || n < 0)
        throw new Error(`respacing '${s}': '${p}' is not a non-negative integer`);
      return n;
    });
  } else if (typeof sectionCounts === 'number') counts = [sectionCounts];
  else counts = [...sectionCounts];
  if (!counts.length) throw new Error('respacing: no section counts');

  const sizePer = Math.floor(T / counts.length);
  const extra = T % counts.length;
  let start = 0;
  const steps = new Set<number>();
  counts.forEach((count, i) => {
    const size = sizePer + (i < extra ? 1 : 0);
    if (size < count) throw new Error(`respacing: cannot divide a section of ${size} steps into ${count}`);
    const stride = count <= 1 ? 1 : (size - 1) / (count - 1);
    let cur = 0;
    for (let j = 0; j < count; j++) {
      steps.add(start + pyRound(cur));
      cur += stride;
    }
    start += size;
  });
  return [...steps].sort((a, b) => a - b);
}

export type VarianceType = 'learned_range' | 'fixed_small' | 'fixed_large';

/** Per-step constants of a (respaced) GaussianDiffusion, all float64. */
export interface Schedule {
  /** number of respaced steps */
  readonly length: number;
  /** original timestep of respaced step k (what the network sees) */
  readonly timestepMap: readonly number[];
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly alphasCumprodPrev: Float64Array;
  readonly sqrtRecipAlphasCumprod: Float64Array;
  readonly sqrtRecipm1AlphasCumprod: Float64Array;
  readonly posteriorVariance: Float64Array;
  /** log of the posterior variance with entry 0 replaced by entry 1 (it is 0 there) */
  readonly posteriorLogVarianceClipped: Float64Array;
  readonly posteriorMeanCoef1: Float64Array;
  readonly posteriorMeanCoef2: Float64Array;
}

/** GaussianDiffusion's constants from a β sequence (respaced or not). */
export function scheduleFromBetas(betas: Float64Array, timestepMap?: readonly number[]): Schedule {
  const n = betas.length;
  if (n < 1) throw new Error('schedule: empty beta sequence');
  for (const b of betas) if (!(b > 0 && b <= 1)) throw new Error(`schedule: betas must lie in (0, 1], got ${b}`);
  const map = timestepMap ?? Array.from({ length: n }, (_, i) => i);
  if (map.length !== n) throw new Error(`schedule: ${map.length} timesteps for ${n} betas`);
  const f = () => new Float64Array(n);
  const ac = f(),
    acPrev = f(),
    sra = f(),
    srm1 = f(),
    pv = f(),
    plv = f(),
    c1 = f(),
    c2 = f();
  let prod = 1;
  for (let i = 0; i < n; i++) {
    acPrev[i] = prod;
    prod *= 1 - betas[i];
    ac[i] = prod;
  }
  for (let i = 0; i < n; i++) {
    sra[i] = Math.sqrt(1 / ac[i]);
    srm1[i] = Math.sqrt(1 / ac[i] - 1);
    pv[i] = (betas[i] * (1 - acPrev[i])) / (1 - ac[i]);
    c1[i] = (betas[i] * Math.sqrt(acPrev[i])) / (1 - ac[i]);
    c2[i] = ((1 - acPrev[i]) * Math.sqrt(1 - betas[i])) / (1 - ac[i]);
  }
  for (let i = 0; i < n; i++) plv[i] = Math.log(i === 0 ? (n > 1 ? pv[1] : pv[0]) : pv[i]);
  return {
    length: n,
    timestepMap: map,
    betas,
    alphasCumprod: ac,
    alphasCumprodPrev: acPrev,
    sqrtRecipAlphasCumprod: sra,
    sqrtRecipm1AlphasCumprod: srm1,
    posteriorVariance: pv,
    posteriorLogVarianceClipped: plv,
    posteriorMeanCoef1: c1,
    posteriorMeanCoef2: c2,
  };
}

export interface ScheduleOptions {
  /** training steps T (default 1000) */
  steps?: number;
  noiseSchedule?: BetaScheduleName;
  /** guided-diffusion timestep_respacing: "20", "10,10", "ddim50", a number; empty/undefined keeps all */
  respacing?: string | number | readonly number[];
}

/** SpacedDiffusion: the respaced βₖ = 1 − ᾱ_{tₖ}/ᾱ_{tₖ₋₁} over the kept timesteps. */
export function createSchedule(opts: ScheduleOptions = {}): Schedule {
  const T = opts.steps ?? 1000;
  const base = scheduleFromBetas(namedBetas(opts.noiseSchedule ?? 'linear', T));
  const r = opts.respacing;
  if (r === undefined || r === '' || (Array.isArray(r) && r.length === 0)) return base;
  const keep = spaceTimesteps(T, r);
  const betas = new Float64Array(keep.length);
  let last = 1;
  keep.forEach((t, i) => {
    betas[i] = 1 - base.alphasCumprod[t] / last;
    last = base.alphasCumprod[t];
  });
  return scheduleFromBetas(betas, keep);
}

/**
 * Log-variance of p(x_{k-1} | x_k) for step k: learned_range interpolates frac·log βₖ + (1−frac)·log β̃ₖ
 * (clipped) with frac = (v+1)/2 — that part is per pixel and done on the GPU; here the two end points.
 */
export function logVarianceBounds(s: Schedule, k: number): { minLog: number; maxLog: number } {
  return { minLog: s.posteriorLogVarianceClipped[k], maxLog: Math.log(s.betas[k]) };
}

/** Fixed variances: fixed_small = β̃ (log clipped like guided-diffusion's processor: log of the raw value,
 *  which is -inf at k = 0 where the sampler adds no noise anyway); fixed_large = β with entry 0 = β̃₁. */
export function fixedLogVariance(s: Schedule, k: number, type: 'fixed_small' | 'fixed_large'): number {
  if (type === 'fixed_small') return Math.log(s.posteriorVariance[k]);
  return Math.log(k === 0 ? (s.length > 1 ? s.posteriorVariance[1] : s.posteriorVariance[0]) : s.betas[k]);
}
