// Distances between a sampler's output and the exact posterior (all float64, host side).
//  - W2 between Gaussians: the general formula with dense matrix square roots (Jacobi), and the
//    per-frequency formula for circulant covariances (C×C Hermitian blocks per 2-D frequency).
//  - Moment estimates from samples (mean, unbiased covariance; circulant projection = averaged periodogram).
//  - Sample-set distances for non-Gaussian posteriors (GMM): sliced W2, energy distance, mode weights.
// Samples are passed as arrays of Float64Array/Float32Array vectors of equal length D.
import { matMul, sqrtmPsd, symEig, trace } from './linalg64.js';
import { fftChannels } from './circulant.js';
import { Rng64 } from './rng64.js';

export type Vec = ArrayLike<number>;

export interface W2Result {
  /** W2 = √(mean² + cov²) */
  w2: number;
  /** ‖m₁ − m₂‖ */
  mean: number;
  /** Bures part √(tr Σ₁ + tr Σ₂ − 2 tr(Σ₁^{½} Σ₂ Σ₁^{½})^{½}) */
  cov: number;
}

function sqDist(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/** W2 between N(m₁, Σ₁) and N(m₂, Σ₂), dense D×D covariances (O(D³), D up to a few hundred). */
export function w2GaussianDense(m1: Vec, S1: Float64Array, m2: Vec, S2: Float64Array, D: number): W2Result {
  if (m1.length !== D || m2.length !== D || S1.length !== D * D || S2.length !== D * D)
    throw new Error(`w2GaussianDense: sizes do not match D = ${D}`);
  const r1 = sqrtmPsd(S1, D);
  const mid = matMul(matMul(r1, S2, D, D, D), r1, D, D, D);
  const { values } = symEig(mid, D);
  const cross = values.reduce((s, v) => s + Math.sqrt(Math.max(v, 0)), 0);
  const cov2 = Math.max(trace(S1, D) + trace(S2, D) - 2 * cross, 0);
  const mean2 = sqDist(m1, m2);
  return { w2: Math.sqrt(mean2 + cov2), mean: Math.sqrt(mean2), cov: Math.sqrt(cov2) };
}

/**
 * Circulant covariance as per-frequency Hermitian blocks: [H·W, C, C, 2] (re, im), in the eigenvalue
 * convention of fft64.ts (Σ = F⁻¹ S F, so S(ξ) are the eigen-blocks of Σ).
 */
export interface CirculantBlocks {
  channels: number;
  height: number;
  width: number;
  blocks: Float64Array;
}

/** Bures² of two C×C Hermitian PSD blocks via the real 2C×2C embedding [[Re, −Im], [Im, Re]]. */
function buresBlock(a: Float64Array, b: Float64Array, off: number, C: number): number {
  if (C === 1) {
    const x = Math.max(a[off], 0),
      y = Math.max(b[off], 0);
    return (Math.sqrt(x) - Math.sqrt(y)) ** 2;
  }
  const n = 2 * C;
  const emb = (src: Float64Array) => {
    const m = new Float64Array(n * n);
    for (let i = 0; i < C; i++)
      for (let j = 0; j < C; j++) {
        const re = src[off + (i * C + j) * 2],
          im = src[off + (i * C + j) * 2 + 1];
        m[i * n + j] = re;
        m[(i + C) * n + j + C] = re;
        m[i * n + j + C] = -im;
        m[(i + C) * n + j] = im;
      }
    return m;
  };
  const A = emb(a),
    B = emb(b);
  const r = sqrtmPsd(A, n);
  const { values } = symEig(matMul(matMul(r, B, n, n, n), r, n, n, n), n);
  const cross = values.reduce((s, v) => s + Math.sqrt(Math.max(v, 0)), 0);
  // the embedding doubles every eigenvalue's multiplicity
  return Math.max((trace(A, n) + trace(B, n) - 2 * cross) / 2, 0);
}

/** W2 between two Gaussians with circulant covariances (per-frequency Bures) and means m₁, m₂ ([C·H·W]). */
export function w2GaussianCirculant(m1: Vec, S1: CirculantBlocks, m2: Vec, S2: CirculantBlocks): W2Result {
  const { channels: C, height: H, width: W } = S1;
  if (S2.channels !== C || S2.height !== H || S2.width !== W)
    throw new Error('w2GaussianCirculant: block layouts differ');
  if (m1.length !== C * H * W || m2.length !== C * H * W)
    throw new Error(`w2GaussianCirculant: means must have ${C * H * W} values`);
  let cov2 = 0;
  for (let i = 0; i < H * W; i++) cov2 += buresBlock(S1.blocks, S2.blocks, i * C * C * 2, C);
  const mean2 = sqDist(m1, m2);
  return { w2: Math.sqrt(mean2 + cov2), mean: Math.sqrt(mean2), cov: Math.sqrt(cov2) };
}

/** Sample mean and unbiased covariance (divides by N − 1), dense D×D. */
export function sampleMeanCov(samples: readonly Vec[]): { mean: Float64Array; cov: Float64Array; D: number } {
  const N = samples.length;
  if (N < 2) throw new Error(`sampleMeanCov: need at least 2 samples, got ${N}`);
  const D = samples[0].length;
  const mean = new Float64Array(D);
  for (const s of samples) for (let i = 0; i < D; i++) mean[i] += s[i] / N;
  const cov = new Float64Array(D * D);
  const d = new Float64Array(D);
  for (const s of samples) {
    for (let i = 0; i < D; i++) d[i] = s[i] - mean[i];
    for (let i = 0; i < D; i++) {
      const di = d[i] / (N - 1);
      for (let j = 0; j < D; j++) cov[i * D + j] += di * d[j];
    }
  }
  return { mean, cov, D };
}

/**
 * Sample mean and the circulant projection of the sample covariance: S(ξ) = (1/(N−1)) Σₙ X̂ₙ(ξ)X̂ₙ(ξ)ᴴ / (HW),
 * X̂ₙ the per-channel DFT of xₙ − mean (the averaged periodogram). Consistent for stationary outputs;
 * for non-stationary ones it measures the stationarised distribution.
 */
export function sampleMeanCirculant(
  samples: readonly Vec[],
  C: number,
  H: number,
  W: number,
): { mean: Float64Array; blocks: CirculantBlocks } {
  const N = samples.length;
  if (N < 2) throw new Error(`sampleMeanCirculant: need at least 2 samples, got ${N}`);
  const D = C * H * W,
    hw = H * W;
  const mean = new Float64Array(D);
  for (const s of samples) {
    if (s.length !== D) throw new Error(`sampleMeanCirculant: sample of ${s.length} values for [${C}, ${H}, ${W}]`);
    for (let i = 0; i < D; i++) mean[i] += s[i] / N;
  }
  const blocks = new Float64Array(hw * C * C * 2);
  const scale = 1 / ((N - 1) * hw);
  for (const s of samples) {
    const { re, im } = fftChannels(
      Float64Array.from(s as ArrayLike<number>, (v, i) => v - mean[i]),
      C,
      H,
      W,
    );
    for (let f = 0; f < hw; f++)
      for (let c = 0; c < C; c++)
        for (let d = 0; d < C; d++) {
          const ar = re[c * hw + f],
            ai = im[c * hw + f],
            br = re[d * hw + f],
            bi = -im[d * hw + f];
          const o = (f * C * C + c * C + d) * 2;
          blocks[o] += scale * (ar * br - ai * bi);
          blocks[o + 1] += scale * (ar * bi + ai * br);
        }
  }
  return { mean, blocks: { channels: C, height: H, width: W, blocks } };
}

/** 1-D W2² between two empirical distributions (quantile coupling; unequal sizes by quantile interpolation). */
function w2sq1d(a: Float64Array, b: Float64Array): number {
  a.sort();
  b.sort();
  if (a.length === b.length) {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
    return s / a.length;
  }
  // integrate (F⁻¹_a(q) − F⁻¹_b(q))² over q on the union of both step grids
  const qs = new Set<number>();
  for (let i = 1; i < a.length; i++) qs.add(i / a.length);
  for (let i = 1; i < b.length; i++) qs.add(i / b.length);
  const cuts = [0, ...[...qs].sort((x, y) => x - y), 1];
  let s = 0;
  for (let k = 0; k + 1 < cuts.length; k++) {
    const mid = 0.5 * (cuts[k] + cuts[k + 1]);
    s +=
      (cuts[k + 1] - cuts[k]) *
      (a[Math.min(a.length - 1, Math.floor(mid * a.length))] - b[Math.min(b.length - 1, Math.floor(mid * b.length))]) **
        2;
  }
  return s;
}

/**
 * Sliced W2: √(E_θ W2²(θᵀX, θᵀY)) over `projections` uniform random directions θ (seeded).
 * Estimator noise: Monte Carlo over θ plus the finite-sample bias of each 1-D W2 (O(1/√N) for N samples).
 */
export function slicedW2(X: readonly Vec[], Y: readonly Vec[], projections = 256, seed = 1): number {
  const D = X[0].length;
  const rng = new Rng64(seed);
  let acc = 0;
  for (let p = 0; p < projections; p++) {
    const th = rng.normals(D);
    const n = Math.sqrt(th.reduce((s, v) => s + v * v, 0));
    const proj = (S: readonly Vec[]) =>
      Float64Array.from(S, (s) => {
        let d = 0;
        for (let i = 0; i < D; i++) d += s[i] * th[i];
        return d / n;
      });
    acc += w2sq1d(proj(X), proj(Y));
  }
  return Math.sqrt(acc / projections);
}

/**
 * Energy distance E(X, Y) = 2E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ (U-statistics within each set, so the
 * estimate is unbiased and can be slightly negative when the laws agree). Returns the squared-scale value.
 */
export function energyDistance(X: readonly Vec[], Y: readonly Vec[]): number {
  const dist = (a: Vec, b: Vec) => Math.sqrt(sqDist(a, b));
  let xy = 0;
  for (const a of X) for (const b of Y) xy += dist(a, b);
  xy /= X.length * Y.length;
  const within = (S: readonly Vec[]) => {
    let s = 0;
    for (let i = 0; i < S.length; i++) for (let j = i + 1; j < S.length; j++) s += dist(S[i], S[j]);
    return (2 * s) / (S.length * (S.length - 1));
  };
  return 2 * xy - within(X) - within(Y);
}

/**
 * Mode weights: the fraction of samples assigned to each component (argmax of `responsibility(x)`), and
 * the total-variation distance to reference weights when given.
 */
export function modeWeights(
  samples: readonly Vec[],
  responsibility: (x: Vec) => ArrayLike<number>,
  reference?: ArrayLike<number>,
): { weights: number[]; tv?: number } {
  let K = 0;
  const counts: number[] = [];
  for (const s of samples) {
    const r = responsibility(s);
    K = r.length;
    let best = 0;
    for (let k = 1; k < r.length; k++) if (r[k] > r[best]) best = k;
    counts[best] = (counts[best] ?? 0) + 1;
  }
  const weights = Array.from({ length: K }, (_, k) => (counts[k] ?? 0) / samples.length);
  if (!reference) return { weights };
  let tv = 0;
  for (let k = 0; k < K; k++) tv += Math.abs(weights[k] - reference[k]);
  return { weights, tv: tv / 2 };
}
