// The "exact likelihood covariance" reference guidance: p(y | xₜ) ≈ N(y; A x̂₀(xₜ), K), K = A Cₜ Aᵀ + σ_y² I
// with Cₜ = Cov[x₀ | xₜ] the *true* posterior covariance (second-order Tweedie: Cₜ = (σₜ²/aₜ²)(I − σₜ ∂ε/∂x)).
// For a Gaussian prior and linear A this likelihood is exact and x̂₀ is affine, so
//   ε_y(xₜ) = ε(xₜ) − σₜ ∇ₓₜ log p(y | xₜ),   ∇ₓₜ log p(y|xₜ) = J_x̂₀ᵀ Aᵀ K⁻¹ (y − A x̂₀),  J_x̂₀ = (I − σₜ ∂ε/∂x)/aₜ
// is the exact conditional ε, and a DDPM/DDIM loop on it samples the posterior up to time discretisation:
// the error must vanish as NFE grows (the lab's check that the whole chain is right).
//
// Three pieces:
//  - ExactCovarianceGuidance: ε_y on the GPU for any ScoreModel and linear MeasurementOperator (K⁻¹ by a
//    batched CG on the GPU (src/operators/cg.ts), or a direct solve supplied by the caller, e.g. per
//    frequency for circular blur).
//  - sampleWithEps: DDPM (fixed-small variance) / DDIM(η) with a given ε, through the samplers' driver.
//  - exactGuidedMoments{Dense,Circulant}: the same loop propagated exactly in float64 for Gaussian priors
//    (the sampler is affine in x_T, y and the noise), so its output law is known without sampling.
import type { Engine, Tensor } from '../engine/index.js';
import { axpby, copy, lincomb } from '../engine/ops/vector.js';
import { batchedCg } from '../operators/cg.js';
import type { MeasurementOperator } from '../operators/operator.js';
import { sample } from '../samplers/sampler.js';
import { scheduleFromBetas } from '../samplers/schedule.js';
import type { ScoreModel } from '../samplers/score-model.js';
import { applySpectral64, spectralBlocks, type FreqMultiplier } from './circulant.js';
import type { CirculantGaussian } from './exact-posterior.js';
import { GaussianCirculantPrior } from './gaussian-circulant.js';
import { CircularBlurOperator, MaskOperator } from './lab-operators.js';
import { InpaintOperator } from '../operators/masks.js';
import { inverseSpd, matMul, matVec, symEig, symmetrize, transpose } from './linalg64.js';
import type { CirculantBlocks } from './metrics.js';
import { alphaBar, noiseScales, respacedTimesteps } from './schedule64.js';

// ------------------------------------------------------------------------------------------ guidance

export interface ExactGuidanceOptions {
  /** direct K⁻¹r for timestep t (all images share t); when absent, batched CG */
  solveK?: (r: Tensor, t: number) => Tensor;
  /** Cₜ v; default second-order Tweedie through the model's JVP: (σ²/a²)(v − σ ∂ε/∂x v) */
  covariance?: (v: Tensor, x: Tensor, t: number) => Tensor;
  /** preconditioner ≈ K⁻¹ for the CG */
  precondK?: (r: Tensor, t: number) => Tensor;
  cgMaxIter?: number;
  cgTol?: number;
}

export class ExactCovarianceGuidance {
  /** CG statistics of the last call (iterations, max relative residual) */
  lastSolve = { iterations: 0, relResidual: 0 };

  constructor(
    readonly model: ScoreModel,
    readonly op: MeasurementOperator,
    /** measurement, batch first, one row per image of the batch being sampled */
    readonly y: Tensor,
    readonly sigmaY: number,
    readonly opts: ExactGuidanceOptions = {},
  ) {
    if (!op.linear) throw new Error(`ExactCovarianceGuidance: operator '${op.name}' is not linear`);
    if (model.learnSigma) throw new Error('ExactCovarianceGuidance: expects an ε-only model (learnSigma false)');
  }

  private adjoint(x: Tensor, u: Tensor): Tensor {
    return this.op.adjoint ? this.op.adjoint(u) : this.op.vjp(x, u);
  }

  /** The exact conditional ε_y(x, t) (all images at the same timestep). */
  async eps(x: Tensor, t: readonly number[]): Promise<Tensor> {
    const e = this.model.engine;
    const t0 = t[0];
    if (t.some((tn) => tn !== t0))
      throw new Error('ExactCovarianceGuidance: all images of a batch must share the timestep');
    if (this.y.shape[0] !== x.shape[0])
      throw new Error(`ExactCovarianceGuidance: y has batch ${this.y.shape[0]}, x has ${x.shape[0]}`);
    const { a, s } = noiseScales(t0);
    const eps = this.model.forward(x, t);
    const x0 = lincomb(e, 1 / a, x, -s / a, eps);
    const ax0 = this.op.forward(x0);
    const r = lincomb(e, 1, this.y, -1, ax0);
    e.release(ax0);
    let kinvR: Tensor;
    if (this.opts.solveK) kinvR = this.opts.solveK(r, t0);
    else {
      const cov = this.opts.covariance ?? ((v: Tensor, xx: Tensor, tt: number) => this.tweedieCov(v, xx, tt));
      const applyK = (v: Tensor) => {
        const atv = this.adjoint(x0, v);
        const cv = cov(atv, x, t0);
        const acv = this.op.forward(cv);
        e.release(atv, cv);
        return axpby(e, this.sigmaY * this.sigmaY, v, 1, acv);
      };
      const pk = this.opts.precondK;
      const precond = pk ? (v: Tensor) => pk(v, t0) : undefined;
      const res = await batchedCg(e, applyK, r, null, {
        iters: this.opts.cgMaxIter ?? 300,
        tol: this.opts.cgTol ?? 1e-4,
        checkEvery: 10,
        precond,
      });
      this.lastSolve = { iterations: res.iters, relResidual: res.relResidual };
      e.release(res.frozen);
      kinvR = res.x;
    }
    const g0 = this.adjoint(x0, kinvR);
    const { grad, out } = this.model.vjp(x, t, g0);
    // ε_y = ε − σ (g0 − σ Jεᵀ g0)/a
    const epsY = lincomb(e, 1, eps, -s / a, g0);
    axpby(e, (s * s) / a, grad, 1, epsY);
    e.release(x0, r, kinvR, g0, grad, out, eps);
    return epsY;
  }

  private tweedieCov(v: Tensor, x: Tensor, t: number): Tensor {
    const e = this.model.engine;
    const { a, s } = noiseScales(t);
    const { out, tangent } = this.model.jvp(
      x,
      [...Array(x.shape[0])].map(() => t),
      v,
    );
    const c = lincomb(e, (s * s) / (a * a), v, (-s * s * s) / (a * a), tangent);
    e.release(out, tangent);
    return c;
  }
}

/**
 * The exact guidance's linear algebra specialised to a circulant Gaussian prior (Cₜ = σₜ²ΣΣₜ⁻¹ is one
 * spectral filter, no JVP needed):
 *  - circular blur: K = B Cₜ Bᴴ + σ_y² is diagonal in Fourier → direct K⁻¹;
 *  - mask (MaskOperator, or src/operators' InpaintOperator): CG on K = M Cₜ M + σ_y² I preconditioned by M(Cₜ + σ_y²I)⁻¹M + (I − M)/σ_y² (exact where the
 *    mask is all ones; typically 3–5× fewer iterations than plain CG).
 */
export function gaussianGuidanceOps(
  prior: GaussianCirculantPrior,
  op: MeasurementOperator,
  sigmaY: number,
): ExactGuidanceOptions {
  const s2 = sigmaY * sigmaY;
  const batchT = (x: Tensor, t: number) => new Array(x.shape[0]).fill(t);
  const covariance = (v: Tensor, _x: Tensor, t: number) =>
    prior.applyGpu(v, batchT(v, t), 'post-cov', GaussianCirculantPrior.posteriorCovFn);
  const id = `${op.name}-${(opsIds.get(op) ?? opsIds.set(op, opsIds.size).get(op))!}-${sigmaY}`;
  if (op instanceof CircularBlurOperator) {
    const b = op.transfer;
    const solveK = (r: Tensor, t: number) =>
      prior.applyGpu(r, batchT(r, t), `kinv-${id}`, (tt) => {
        const c = GaussianCirculantPrior.posteriorCovFn(tt);
        return (s, i) => 1 / ((b.re[i] ** 2 + b.im[i] ** 2) * c(s, i) + s2);
      });
    return { solveK, covariance };
  }
  if (op instanceof MaskOperator || op instanceof InpaintOperator) {
    const e = prior.engine;
    const precondK = (r: Tensor, t: number) => {
      const mr = op.forward(r);
      const f = prior.applyGpu(mr, batchT(r, t), 'precond-inv', (tt) => {
        const c = GaussianCirculantPrior.posteriorCovFn(tt);
        return (s, i) => 1 / (c(s, i) + s2);
      });
      const mf = op.forward(f);
      const out = lincomb(e, 1 / s2, r, -1 / s2, mr); // (I − M) r / σ_y²
      axpby(e, 1, mf, 1, out);
      e.release(mr, f, mf);
      return out;
    };
    return { covariance, precondK };
  }
  return { covariance };
}
const opsIds = new Map<MeasurementOperator, number>();

// ------------------------------------------------------------------------------------------ sampler loop

export type BaseSampler = 'ddpm' | 'ddim';

/** Per-step affine coefficients x' = α x + β ε + √v z of the respaced DDPM (fixed small) or DDIM(η) step. */
export function stepCoefficients(
  t: number,
  tPrev: number | null,
  base: BaseSampler,
  eta = 0,
): { alpha: number; beta: number; v: number } {
  const ab = alphaBar(t),
    abPrev = tPrev === null ? 1 : alphaBar(tPrev);
  const a = Math.sqrt(ab),
    s = Math.sqrt(1 - ab);
  if (base === 'ddpm') {
    const b = 1 - ab / abPrev;
    const c1 = (Math.sqrt(abPrev) * b) / (1 - ab),
      c2 = (Math.sqrt(1 - b) * (1 - abPrev)) / (1 - ab);
    return { alpha: c1 / a + c2, beta: (-c1 * s) / a, v: (b * (1 - abPrev)) / (1 - ab) };
  }
  const c = eta * Math.sqrt((1 - abPrev) / (1 - ab)) * Math.sqrt(1 - ab / abPrev);
  return {
    alpha: Math.sqrt(abPrev) / a,
    beta: Math.sqrt(Math.max(1 - abPrev - c * c, 0)) - (Math.sqrt(abPrev) * s) / a,
    v: c * c,
  };
}

export interface LoopOptions {
  nfe: number;
  base?: BaseSampler;
  eta?: number;
  seed?: number;
  /** starting noise x_T (default N(0, I) from `seed`) */
  xT?: Tensor;
  onStep?: (step: number, t: number) => void;
}

/**
 * DDPM (fixed-small variance) / DDIM(η) over `nfe` evenly respaced steps with a caller-supplied ε (e.g.
 * ExactCovarianceGuidance.eps), run by the samplers' common driver (src/samplers/sampler.ts): ε enters as
 * the model output, the schedule is this lab's respacing (respacedTimesteps, the one exactGuidedMoments*
 * propagate), no clip_denoised. Noise: the driver's per-image streams from `seed` (image n: seed + n).
 */
export async function sampleWithEps(
  e: Engine,
  shape: readonly number[],
  epsFn: (x: Tensor, t: readonly number[]) => Promise<Tensor> | Tensor,
  opts: LoopOptions,
): Promise<Tensor> {
  const ts = respacedTimesteps(opts.nfe);
  const betas = new Float64Array(ts.length);
  ts.forEach((t, i) => (betas[i] = 1 - alphaBar(t) / (i > 0 ? alphaBar(ts[i - 1]) : 1)));
  const [N, C, H, W] = shape;
  const none = (): never => {
    throw new Error('sampleWithEps: ε only (no derivatives)');
  };
  const model: ScoreModel = {
    engine: e,
    imageShape: [C, H, W],
    outChannels: C,
    learnSigma: false,
    forward: none,
    forwardAsync: async (x, t) => epsFn(x, t),
    vjp: none,
    jvp: none,
    d2: none,
  };
  const r = await sample({
    model,
    method: opts.base ?? 'ddpm',
    schedule: scheduleFromBetas(betas, ts),
    varType: 'fixed_small',
    clip: false,
    eta: opts.eta ?? 0,
    batch: N,
    seed: opts.seed ?? 1,
    xT: opts.xT,
    distanceEvery: 10,
    onStep: (st) => opts.onStep?.(st.i, st.t),
  });
  return r.x0;
}

// ------------------------------------------------------------------------------------------ exact moments

export interface MomentsOptions {
  nfe: number;
  base?: BaseSampler;
  eta?: number;
}

/**
 * Exact output law N(mean, cov) of the exact-guided sampler for a Gaussian prior N(μ, Σ) (dense) and dense
 * A [m, D], propagating x' = T x + u + noise from x_T ~ N(0, I) in float64. O(D³) per step.
 */
export function exactGuidedMomentsDense(
  mu: ArrayLike<number>,
  Sigma: Float64Array,
  A: ArrayLike<number>,
  m: number,
  y: ArrayLike<number>,
  sigmaY: number,
  opts: MomentsOptions,
) {
  const D = mu.length;
  // work in Σ's eigenbasis, where ε, x̂₀ and Cₜ are diagonal: Σ = QΛQᵀ, Ã = AQ
  const { values: lam, vectors: Q } = symEig(Sigma, D);
  const L = lam.map((v) => Math.max(v, 0));
  const At = matMul(Float64Array.from(A as ArrayLike<number>), Q, m, D, D);
  const AtT = transpose(At, m, D);
  const muQ = matVec(transpose(Q, D, D), mu, D, D);
  let mean: Float64Array = new Float64Array(D);
  let cov: Float64Array = new Float64Array(D * D);
  for (let i = 0; i < D; i++) cov[i * D + i] = 1;
  const ts = respacedTimesteps(opts.nfe);
  for (let i = ts.length - 1; i >= 0; i--) {
    const { a, s } = noiseScales(ts[i]);
    const { alpha, beta, v } = stepCoefficients(ts[i], i > 0 ? ts[i - 1] : null, opts.base ?? 'ddpm', opts.eta ?? 0);
    const den = L.map((l) => a * a * l + s * s);
    const ev = L.map((_, k) => s / den[k]); // ε = E(x − aμ)
    const jv = L.map((l, k) => (a * l) / den[k]); // x̂₀ = μ + J(x − aμ)
    const cv = L.map((l, k) => (s * s * l) / den[k]); // Cₜ
    // K = Ã diag(c) Ãᵀ + σ_y² I
    const K = new Float64Array(m * m);
    for (let r = 0; r < m; r++)
      for (let c = 0; c < m; c++) {
        let acc = 0;
        for (let k = 0; k < D; k++) acc += At[r * D + k] * cv[k] * At[c * D + k];
        K[r * m + c] = acc + (r === c ? sigmaY * sigmaY : 0);
      }
    const Kinv = inverseSpd(K, m);
    // W = J Ãᵀ K⁻¹ (D×m); ε_y = E(x − aμ) − σ W (y − Ã(μ + J(x − aμ)))  [all in Q-coordinates]
    const W = matMul(AtT, Kinv, D, m, m);
    for (let k = 0; k < D; k++) for (let c = 0; c < m; c++) W[k * m + c] *= jv[k];
    const WA = matMul(W, At, D, m, D); // W Ã
    // ε_y = Ec x + ec with Ec = diag(e) + σ WÃ diag(j), ec = −a e μ − σ W (y − Ãμ + a Ã J μ)
    const Ec = new Float64Array(D * D);
    for (let r = 0; r < D; r++)
      for (let c = 0; c < D; c++) Ec[r * D + c] = s * WA[r * D + c] * jv[c] + (r === c ? ev[r] : 0);
    const resid = Float64Array.from(y as ArrayLike<number>);
    const muShift = muQ.map((v, k) => v - a * jv[k] * v); // μ − aJμ
    const Amu = matVec(At, muShift, m, D);
    for (let r = 0; r < m; r++) resid[r] -= Amu[r];
    const Wr = matVec(W, resid, D, m);
    const ec = muQ.map((v, k) => -a * ev[k] * v - s * Wr[k]);
    // x' = (αI + βEc) x + βec + √v z
    const T = Ec.map((v2) => beta * v2);
    for (let k = 0; k < D; k++) T[k * D + k] += alpha;
    const meanQ = mean; // mean and cov are kept in Q-coordinates (x_T ~ N(0, I) is invariant)
    const nm = matVec(T, meanQ, D, D).map((v2, k) => v2 + beta * ec[k]);
    const TP = matMul(T, cov, D, D, D);
    cov = symmetrize(matMul(TP, transpose(T, D, D), D, D, D), D);
    if (i > 0) for (let k = 0; k < D; k++) cov[k * D + k] += v;
    mean = nm;
  }
  // back to pixel coordinates
  const meanX = matVec(Q, mean, D, D);
  const covX = symmetrize(matMul(matMul(Q, cov, D, D, D), transpose(Q, D, D), D, D, D), D);
  return { mean: meanX, cov: covX };
}

/**
 * Exact output law of the exact-guided sampler for a circulant Gaussian prior and a circular blur with
 * transfer b(ξ) (same on every channel): every step is a function of the per-frequency blocks S(ξ), so
 * each eigen-mode (s = λ(ξ), and s = 0 for colour's complement) follows a scalar affine recursion.
 * Returns the mean image and the covariance blocks; cost O(NFE·HW).
 */
export function exactGuidedMomentsCirculant(
  prior: CirculantGaussian,
  transfer: FreqMultiplier,
  y: ArrayLike<number>,
  sigmaY: number,
  opts: MomentsOptions,
): { mean: Float64Array; blocks: CirculantBlocks } {
  const spec = prior.spectrum;
  const hw = spec.height * spec.width;
  const B = Float64Array.from({ length: hw }, (_, i) => transfer.re[i] ** 2 + transfer.im[i] ** 2);
  // per frequency, two modes: index 0 → s = λ(ξ), 1 → s = 0
  const cm = [new Float64Array(hw), new Float64Array(hw)];
  const cy = [new Float64Array(hw), new Float64Array(hw)];
  const vr = [new Float64Array(hw).fill(1), new Float64Array(hw).fill(1)];
  const ts = respacedTimesteps(opts.nfe);
  const s2y = sigmaY * sigmaY;
  for (let i = ts.length - 1; i >= 0; i--) {
    const { a, s } = noiseScales(ts[i]);
    const { alpha, beta, v } = stepCoefficients(ts[i], i > 0 ? ts[i - 1] : null, opts.base ?? 'ddpm', opts.eta ?? 0);
    for (let mode = 0; mode < 2; mode++)
      for (let f = 0; f < hw; f++) {
        const sv = mode === 0 ? spec.lambda[f] : 0;
        const den = a * a * sv + s * s;
        const ev = s / den,
          jv = (a * sv) / den,
          c = (s * s * sv) / den;
        const K = B[f] * c + s2y;
        // ε_y = E X + F m + G b*Y
        const E = ev + (s * jv * jv * B[f]) / K;
        const F = -a * ev + ((s * jv * B[f]) / K) * (1 - a * jv);
        const G = (-s * jv) / K;
        const T = alpha + beta * E;
        cm[mode][f] = T * cm[mode][f] + beta * F;
        cy[mode][f] = T * cy[mode][f] + beta * G;
        vr[mode][f] = T * T * vr[mode][f] + (i > 0 ? v : 0);
      }
  }
  const pick = (arr: Float64Array[]) => (sv: number, f: number) =>
    sv === 0 && spec.lambda[f] !== 0 ? arr[1][f] : arr[0][f];
  const conjB = { re: transfer.re, im: transfer.im.map((q) => -q) };
  const m1 = applySpectral64(spec, prior.mean, pick(cm));
  const m2 = applySpectral64(spec, y, pick(cy), conjB);
  const mean = m1.map((q, k) => q + m2[k]);
  const { channels, height, width } = spec;
  return { mean, blocks: { channels, height, width, blocks: spectralBlocks(spec, pick(vr)) } };
}
