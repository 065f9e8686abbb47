// Exact posteriors p(x₀ | y), y = A x₀ + n, n ~ N(0, σ_y² I), for the lab's priors (float64, host side).
//  - Circulant Gaussian prior + circular blur: diagonal in Fourier, closed form per frequency block.
//  - Circulant Gaussian prior + mask (inpainting): not diagonal; mean and exact samples by CG on
//    v ↦ MΣMv + σ_y² v (Σ applied by FFT), dense covariance for small images.
//  - Any dense Gaussian prior + dense A, and the Gaussian mixture + dense A (a mixture with updated
//    weights, means and covariances).
import { applySpectral64, spectralBlocks, type CirculantSpectrum, type FreqMultiplier } from './circulant.js';
import { fft2InPlace } from './fft64.js';
import { cholesky, cholSolve, conjugateGradient, matMul, symmetrize, transpose } from './linalg64.js';
import { GmmDense, type GmmSpec } from './gmm.js';
import type { CirculantBlocks } from './metrics.js';
import type { Rng64 } from './rng64.js';

/** What the closed forms need of a stationary Gaussian prior (GaussianCirculantPrior satisfies it). */
export interface CirculantGaussian {
  spectrum: CirculantSpectrum;
  mean: Float64Array;
}

/**
 * Transfer function b(ξ) of the circular convolution y[p] = Σ_o k[o] x[p − o] by a kh×kw kernel whose
 * centre element (⌊kh/2⌋, ⌊kw/2⌋) sits at offset 0 (same kernel on every channel).
 */
export function circularBlurTransfer(
  kernel: ArrayLike<number>,
  kh: number,
  kw: number,
  H: number,
  W: number,
): FreqMultiplier {
  if (kernel.length !== kh * kw)
    throw new Error(`circularBlurTransfer: kernel of ${kernel.length} values for ${kh}×${kw}`);
  if (kh > H || kw > W) throw new Error(`circularBlurTransfer: kernel ${kh}×${kw} larger than the image ${H}×${W}`);
  const re = new Float64Array(H * W),
    im = new Float64Array(H * W);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const y = (i - Math.floor(kh / 2) + H) % H,
        x = (j - Math.floor(kw / 2) + W) % W;
      re[y * W + x] += kernel[i * kw + j];
    }
  fft2InPlace(re, im, H, W);
  return { re, im };
}

/** Normalised isotropic Gaussian kernel of size k×k (odd k) and standard deviation `std` pixels. */
export function gaussianKernel(k: number, std: number): Float64Array {
  const out = new Float64Array(k * k);
  const c = Math.floor(k / 2);
  let s = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      const v = Math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * std * std));
      out[i * k + j] = v;
      s += v;
    }
  return out.map((v) => v / s);
}

const conj = (b: FreqMultiplier): FreqMultiplier => ({ re: b.re, im: b.im.map((v) => -v) });
const abs2 = (b: FreqMultiplier, i: number) => b.re[i] * b.re[i] + b.im[i] * b.im[i];

/** Circular blur applied to a [C, H, W] image (same transfer on each channel). */
export function applyCircularBlur64(spec: CirculantSpectrum, b: FreqMultiplier, x: ArrayLike<number>): Float64Array {
  return applySpectral64(spec, x, () => 1, b);
}

/**
 * Deblurring posterior: per frequency block, Σ_post = S σ_y²/(|b|²S + σ_y²) and
 * μ_post = μ + S/(|b|²S + σ_y²) · b* (ŷ − b μ̂). Stationary (circulant) like the prior.
 */
export class CirculantDeblurPosterior {
  readonly mean: Float64Array;
  /** per-block function of S giving the posterior covariance blocks */
  readonly covFn: (s: number, i: number) => number;

  constructor(
    readonly prior: CirculantGaussian,
    readonly transfer: FreqMultiplier,
    readonly y: ArrayLike<number>,
    readonly sigmaY: number,
  ) {
    const spec = prior.spectrum;
    const D = spec.channels * spec.height * spec.width;
    if (y.length !== D) throw new Error(`CirculantDeblurPosterior: y of ${y.length} values, expected ${D}`);
    if (!(sigmaY > 0)) throw new Error(`CirculantDeblurPosterior: σ_y must be positive (got ${sigmaY})`);
    const s2 = sigmaY * sigmaY;
    const Amu = applyCircularBlur64(spec, transfer, prior.mean);
    const r = Float64Array.from(y, (v, i) => v - Amu[i]);
    const gain = applySpectral64(spec, r, (s, i) => s / (abs2(transfer, i) * s + s2), conj(transfer));
    this.mean = gain.map((v, i) => v + prior.mean[i]);
    this.covFn = (s, i) => (s * s2) / (abs2(transfer, i) * s + s2);
  }

  blocks(): CirculantBlocks {
    const { channels, height, width } = this.prior.spectrum;
    return { channels, height, width, blocks: spectralBlocks(this.prior.spectrum, this.covFn) };
  }

  /** One exact posterior draw μ_post + Σ_post^{½} w. */
  sample(rng: Rng64): Float64Array {
    const spec = this.prior.spectrum;
    const w = rng.normals(spec.channels * spec.height * spec.width);
    return applySpectral64(spec, w, (s, i) => Math.sqrt(this.covFn(s, i))).map((v, i) => v + this.mean[i]);
  }
}

/**
 * Inpainting posterior: A = diag(mask) (mask 1 = observed, same layout as x), y on the full grid (entries
 * outside the mask carry no information and are ignored). Mean μ + ΣM K⁻¹(y − Mμ), K = MΣM + σ_y²I, by
 * CG in float64 with the circulant preconditioner M(Σ + σ_y²I)⁻¹M + (I − M)/σ_y².
 */
export class MaskedGaussianPosterior {
  readonly mean: Float64Array;
  readonly D: number;
  lastCg = { iterations: 0, relResidual: 0 };

  constructor(
    readonly prior: CirculantGaussian,
    readonly mask: ArrayLike<number>,
    readonly y: ArrayLike<number>,
    readonly sigmaY: number,
    readonly tol = 1e-10,
  ) {
    const spec = prior.spectrum;
    const D = (this.D = spec.channels * spec.height * spec.width);
    if (mask.length !== D || y.length !== D)
      throw new Error(`MaskedGaussianPosterior: mask/y of ${mask.length}/${y.length} values, expected ${D}`);
    for (let i = 0; i < D; i++)
      if (mask[i] !== 0 && mask[i] !== 1)
        throw new Error(`MaskedGaussianPosterior: mask values must be 0 or 1 (got ${mask[i]} at ${i})`);
    if (!(sigmaY > 0)) throw new Error(`MaskedGaussianPosterior: σ_y must be positive (got ${sigmaY})`);
    const r = Float64Array.from(y, (v, i) => mask[i] * (v - prior.mean[i]));
    this.mean = this.gainApply(r).map((v, i) => v + prior.mean[i]);
  }

  /** Σ v */
  private sigma(v: ArrayLike<number>): Float64Array {
    return applySpectral64(this.prior.spectrum, v, (s) => s);
  }

  /** K v = MΣMv + σ_y² v */
  applyK(v: Float64Array): Float64Array {
    const m = this.mask,
      s2 = this.sigmaY ** 2;
    const sv = this.sigma(v.map((x, i) => x * m[i]));
    return sv.map((x, i) => x * m[i] + s2 * v[i]);
  }

  solveK(r: Float64Array): Float64Array {
    const m = this.mask,
      s2 = this.sigmaY ** 2;
    const precond = (v: Float64Array) => {
      const p = applySpectral64(
        this.prior.spectrum,
        v.map((x, i) => x * m[i]),
        (s) => 1 / (s + s2),
      );
      return p.map((x, i) => (m[i] ? x : v[i] / s2));
    };
    const res = conjugateGradient((v) => this.applyK(v), r, { tol: this.tol, maxIter: 20 * this.D, precond });
    this.lastCg = { iterations: res.iterations, relResidual: res.relResidual };
    return res.x;
  }

  /** Σ M K⁻¹ r */
  private gainApply(r: Float64Array): Float64Array {
    const a = this.solveK(r);
    return this.sigma(a.map((x, i) => x * this.mask[i]));
  }

  /** Exact draw by Matheron's rule: x = x_pr + ΣMK⁻¹(y − M x_pr − n), x_pr ~ N(μ, Σ), n ~ N(0, σ_y² I). */
  sample(rng: Rng64): Float64Array {
    const spec = this.prior.spectrum;
    const w = rng.normals(this.D);
    const xpr = applySpectral64(spec, w, (s) => Math.sqrt(s)).map((v, i) => v + this.prior.mean[i]);
    const r = Float64Array.from(this.y, (v, i) => this.mask[i] * (v - xpr[i] - this.sigmaY * rng.normal()));
    const g = this.gainApply(r);
    return xpr.map((v, i) => v + g[i]);
  }

  /**
   * Exact per-pixel posterior variances [Σ_post]ᵢᵢ = Σᵢᵢ − (MΣeᵢ)ᵀK⁻¹(MΣeᵢ): one preconditioned CG solve
   * per pixel (D solves; 64×64 gray takes about a minute). `onProgress(done, total)` every 256 pixels.
   */
  marginalVariances(onProgress?: (done: number, total: number) => void): Float64Array {
    const D = this.D;
    const out = new Float64Array(D);
    const e = new Float64Array(D);
    for (let i = 0; i < D; i++) {
      e.fill(0);
      e[i] = 1;
      const se = this.sigma(e);
      const r = se.map((v, k) => v * this.mask[k]);
      const z = this.solveK(r);
      let q = 0;
      for (let k = 0; k < D; k++) q += r[k] * z[k];
      out[i] = Math.max(se[i] - q, 0);
      if (onProgress && (i + 1) % 256 === 0) onProgress(i + 1, D);
    }
    return out;
  }

  /** Dense posterior covariance Σ − ΣM K⁻¹ MΣ (small images only: O(D³)). */
  denseCov(): Float64Array {
    const D = this.D;
    if (D > 2048) throw new Error(`MaskedGaussianPosterior.denseCov: D = ${D} is too large for a dense covariance`);
    const Sigma = new Float64Array(D * D);
    const e = new Float64Array(D);
    for (let j = 0; j < D; j++) {
      e.fill(0);
      e[j] = 1;
      Sigma.set(this.sigma(e), j * D); // Σ symmetric: column j = row j
    }
    const A = new Float64Array(D * D);
    for (let i = 0; i < D; i++) if (this.mask[i]) A[i * D + i] = 1;
    return gaussianPosteriorDense(this.prior.mean, Sigma, A, D, this.y, this.sigmaY).cov;
  }
}

/**
 * Dense Gaussian posterior for N(μ, Σ) and y = A x + n, A [m, D]:
 * G = ΣAᵀ(AΣAᵀ + σ_y²I)⁻¹, mean μ + G(y − Aμ), cov Σ − GAΣ; also the evidence log N(y; Aμ, AΣAᵀ + σ_y²I).
 */
export function gaussianPosteriorDense(
  mean: ArrayLike<number>,
  Sigma: Float64Array,
  A: ArrayLike<number>,
  m: number,
  y: ArrayLike<number>,
  sigmaY: number,
) {
  const D = mean.length;
  if (Sigma.length !== D * D || A.length !== m * D || y.length !== m)
    throw new Error(`gaussianPosteriorDense: sizes do not match D = ${D}, m = ${m}`);
  const Af = Float64Array.from(A as ArrayLike<number>);
  const SAt = matMul(Sigma, transpose(Af, m, D), D, D, m); // D×m
  const K = matMul(Af, SAt, m, D, m);
  for (let i = 0; i < m; i++) K[i * m + i] += sigmaY * sigmaY;
  const L = cholesky(symmetrize(K, m), m);
  const r = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = y[i];
    for (let j = 0; j < D; j++) s -= Af[i * D + j] * mean[j];
    r[i] = s;
  }
  const alpha = cholSolve(L, m, r);
  const postMean = Float64Array.from(mean as ArrayLike<number>);
  for (let i = 0; i < D; i++) for (let j = 0; j < m; j++) postMean[i] += SAt[i * m + j] * alpha[j];
  // cov = Σ − SAt K⁻¹ SAtᵀ
  const cov = Float64Array.from(Sigma);
  const col = new Float64Array(m);
  const KinvSAtT = new Float64Array(m * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < m; j++) col[j] = SAt[i * m + j];
    const z = cholSolve(L, m, col);
    for (let j = 0; j < m; j++) KinvSAtT[j * D + i] = z[j];
  }
  const corr = matMul(SAt, KinvSAtT, D, m, D);
  for (let i = 0; i < D * D; i++) cov[i] -= corr[i];
  let logdet = 0;
  for (let i = 0; i < m; i++) logdet += 2 * Math.log(L[i * m + i]);
  const evidence = -0.5 * r.reduce((s, v, i) => s + v * alpha[i], 0) - 0.5 * logdet - 0.5 * m * Math.log(2 * Math.PI);
  return { mean: postMean, cov: symmetrize(cov, D), logEvidence: evidence };
}

/**
 * The GMM posterior for y = A x₀ + n: Σₖ π'ₖ N(μ'ₖ, Σ'ₖ) with π'ₖ ∝ πₖ N(y; Aμₖ, AΣₖAᵀ + σ_y²I) and each
 * component's Gaussian posterior. Returned as a GmmDense (dense covariances) to sample and score.
 */
export function gmmPosterior(
  gmm: GmmDense,
  A: ArrayLike<number>,
  m: number,
  y: ArrayLike<number>,
  sigmaY: number,
): GmmDense {
  const parts = gmm.covs.map((S, k) => gaussianPosteriorDense(gmm.means[k], S, A, m, y, sigmaY));
  const logw = parts.map((p, k) => gmm.logPi[k] + p.logEvidence);
  const mx = Math.max(...logw);
  // components far from y underflow: keep them (weight ~1e-300) so the mixture keeps its shape
  const w = logw.map((l) => Math.max(Math.exp(l - mx), 1e-300));
  const spec: GmmSpec = {
    shape: gmm.spec.shape,
    weights: w,
    means: parts.map((p) => p.mean),
    covariances: parts.map((p) => ({ kind: 'dense' as const, matrix: p.cov })),
  };
  return new GmmDense(spec);
}
