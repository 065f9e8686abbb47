// Gaussian-mixture prior p₀ = Σₖ πₖ N(μₖ, Σₖ) in small dimension D = C·H·W (e.g. 1×8×8), with diagonal,
// low-rank-plus-diagonal or dense covariances. Diffused: pₜ = Σₖ πₖ N(aₜμₖ, aₜ²Σₖ + σₜ²I).
//
// Two implementations of the same closed forms:
//  - GmmDense: float64 on the CPU, dense — score, Hessian, the full third-derivative tensor, directional
//    D²s, Cov[x₀|xₜ], and the brute-force CMI gradient `gmmMutualInfoGradientDense` the samplers' Hutchinson
//    estimator is checked against.
//  - GaussianMixturePrior: the ScoreModel on the GPU (shaders/prior-gmm.wgsl), one hyper-dual pass giving
//    ε, Dε[w], Dε[v], D²ε[w, v] in float32.
// Each Σₖ is eigendecomposed once (Jacobi, float64): Σₖ = Qₖ diag(λₖ) Qₖᵀ, so every timestep only rescales
// eigenvalues (a²λ + σ²) — nothing is refactorised per step.
import type { Engine, Tensor } from '../engine/index.js';
import type { ScoreModel } from '../samplers/score-model.js';
import { defineKernels } from '../engine/kernel.js';
import { grid1d } from '../engine/ops/vector.js';
import { inverseSpd, logDetSpd, matMul, symEig } from './linalg64.js';
import { noiseScales } from './schedule64.js';
import { Rng64 } from './rng64.js';

// binding specs by access and element type, with the WGSL variable's name
const R = (wgsl: string) => ({ wgsl }) as const;
const W = (wgsl: string) => ({ access: 'read_write', wgsl }) as const;
const C = (wgsl: string) => ({ type: 'vec2f', wgsl }) as const;
const V = (wgsl: string) => ({ type: 'vec4f', wgsl }) as const;
const VW = (wgsl: string) => ({ access: 'read_write', type: 'vec4f', wgsl }) as const;
export const PRIOR_GMM = defineKernels('prior-gmm', {
  uniforms: {
    count: 'u32',
    n: 'u32',
    k: 'u32',
    d: 'u32',
  },
  entries: {
    gmm_project: {
      bindings: {
        x: R('pj_x'),
        w: R('pj_w'),
        v: R('pj_v'),
        q: R('pj_q'),
        lam: R('pj_lam'),
        mu: R('pj_mu'),
        prm: C('pj_prm'),
        ys: VW('pj_ys'),
      },
    },
    gmm_logits: { bindings: { ys: V('lg_ys'), logpi: R('lg_logpi'), out: VW('lg_out') } },
    gmm_eps: {
      bindings: {
        q: R('ep_q'),
        prm: C('ep_prm'),
        ys: V('ep_ys'),
        l: V('ep_l'),
        out: W('ep_out'),
        dw: W('ep_dw'),
        dv: W('ep_dv'),
        d2: W('ep_d2'),
      },
    },
  },
});

export type GmmCovariance =
  | { kind: 'diag'; diag: ArrayLike<number> }
  /** diag(d) + U Uᵀ, U is D×rank row-major */
  | { kind: 'lowrank'; diag: ArrayLike<number>; factor: ArrayLike<number>; rank: number }
  | { kind: 'dense'; matrix: ArrayLike<number> };

export interface GmmSpec {
  shape: readonly [number, number, number];
  weights: readonly number[];
  means: readonly ArrayLike<number>[];
  covariances: readonly GmmCovariance[];
}

export function covarianceMatrix(c: GmmCovariance, D: number): Float64Array {
  const m = new Float64Array(D * D);
  if (c.kind === 'dense') {
    if (c.matrix.length !== D * D) throw new Error(`GMM: dense covariance of ${c.matrix.length} values for D = ${D}`);
    m.set(c.matrix as ArrayLike<number>);
    return m;
  }
  if (c.diag.length !== D) throw new Error(`GMM: diagonal of ${c.diag.length} values for D = ${D}`);
  for (let i = 0; i < D; i++) m[i * D + i] = c.diag[i];
  if (c.kind === 'lowrank') {
    const r = c.rank;
    if (c.factor.length !== D * r)
      throw new Error(`GMM: low-rank factor of ${c.factor.length} values for D×rank = ${D}×${r}`);
    for (let i = 0; i < D; i++)
      for (let j = 0; j < D; j++) for (let l = 0; l < r; l++) m[i * D + j] += c.factor[i * r + l] * c.factor[j * r + l];
  }
  return m;
}

/** Quantities of one diffused component at (x, t). */
interface CompEval {
  z: Float64Array; // Pₖ (x − aμₖ)  (= −∇ℓₖ)
  logit: number; // ℓₖ = log πₖ + log N(x; aμₖ, Σₖₜ)
  g: Float64Array; // eigen-gains 1/(a²λ + σ²)
}

export class GmmDense {
  readonly D: number;
  readonly K: number;
  readonly Q: Float64Array[]; // eigenvectors in columns, D×D
  readonly lam: Float64Array[];
  readonly means: Float64Array[];
  readonly logPi: Float64Array;
  readonly covs: Float64Array[];

  constructor(readonly spec: GmmSpec) {
    const [C, H, W] = spec.shape;
    const D = (this.D = C * H * W);
    const K = (this.K = spec.weights.length);
    if (spec.means.length !== K || spec.covariances.length !== K)
      throw new Error(`GMM: ${K} weights, ${spec.means.length} means, ${spec.covariances.length} covariances`);
    const wsum = spec.weights.reduce((a, b) => a + b, 0);
    if (spec.weights.some((w) => !(w > 0))) throw new Error('GMM: mixture weights must be positive');
    this.logPi = Float64Array.from(spec.weights, (w) => Math.log(w / wsum));
    this.means = spec.means.map((m) => {
      if (m.length !== D) throw new Error(`GMM: mean of ${m.length} values for D = ${D}`);
      return Float64Array.from(m as ArrayLike<number>);
    });
    this.covs = spec.covariances.map((c) => covarianceMatrix(c, D));
    this.Q = [];
    this.lam = [];
    for (const c of this.covs) {
      const { values, vectors } = symEig(c, D);
      for (const v of values)
        if (v < -1e-10 * Math.max(1, ...values)) throw new Error(`GMM: covariance has a negative eigenvalue ${v}`);
      this.lam.push(values.map((v) => Math.max(v, 0)));
      this.Q.push(vectors);
    }
  }

  private comp(k: number, x: ArrayLike<number>, a: number, s: number): CompEval {
    const D = this.D,
      Q = this.Q[k],
      lam = this.lam[k],
      mu = this.means[k];
    const d = new Float64Array(D);
    for (let i = 0; i < D; i++) d[i] = x[i] - a * mu[i];
    const y = new Float64Array(D);
    for (let i = 0; i < D; i++) {
      const di = d[i];
      for (let j = 0; j < D; j++) y[j] += Q[i * D + j] * di;
    }
    const g = Float64Array.from(lam, (l) => 1 / (a * a * l + s * s));
    let quad = 0,
      logdet = 0;
    for (let j = 0; j < D; j++) {
      quad += g[j] * y[j] * y[j];
      logdet -= Math.log(g[j]);
      y[j] *= g[j];
    }
    const z = new Float64Array(D);
    for (let i = 0; i < D; i++) {
      let acc = 0;
      for (let j = 0; j < D; j++) acc += Q[i * D + j] * y[j];
      z[i] = acc;
    }
    return { z, g, logit: this.logPi[k] - 0.5 * logdet - 0.5 * quad - 0.5 * D * Math.log(2 * Math.PI) };
  }

  private evalAll(x: ArrayLike<number>, t: number) {
    const { a, s } = noiseScales(t);
    return this.evalAt(x, a, s);
  }

  private evalAt(x: ArrayLike<number>, a: number, s: number) {
    if (x.length !== this.D) throw new Error(`GMM: x of ${x.length} values for D = ${this.D}`);
    const comps = Array.from({ length: this.K }, (_, k) => this.comp(k, x, a, s));
    const m = Math.max(...comps.map((c) => c.logit));
    const ex = comps.map((c) => Math.exp(c.logit - m));
    const sum = ex.reduce((p, q) => p + q, 0);
    const w = ex.map((v) => v / sum);
    return { a, s, comps, w, logp: m + Math.log(sum) };
  }

  /** Precision Pₖ = Qₖ diag(g) Qₖᵀ of component k at the evaluated timestep. */
  private precision(k: number, g: Float64Array): Float64Array {
    const D = this.D,
      Q = this.Q[k];
    const P = new Float64Array(D * D);
    for (let i = 0; i < D; i++)
      for (let j = 0; j <= i; j++) {
        let acc = 0;
        for (let l = 0; l < D; l++) acc += Q[i * D + l] * g[l] * Q[j * D + l];
        P[i * D + j] = acc;
        P[j * D + i] = acc;
      }
    return P;
  }

  /** log pₜ(x) of the diffused mixture */
  logDensity(x: ArrayLike<number>, t: number): number {
    return this.evalAll(x, t).logp;
  }

  /** log p₀(x) of the mixture itself (needs non-singular component covariances) */
  logDensity0(x: ArrayLike<number>): number {
    return this.evalAt(x, 1, 0).logp;
  }

  /** Component responsibilities of the mixture itself, p(k | x₀ = x) (mode assignment of samples). */
  responsibilities0(x: ArrayLike<number>): number[] {
    return this.evalAt(x, 1, 0).w;
  }

  /** Posterior component responsibilities wₖ(x) = p(k | xₜ = x). */
  responsibilities(x: ArrayLike<number>, t: number): number[] {
    return this.evalAll(x, t).w;
  }

  score(x: ArrayLike<number>, t: number): Float64Array {
    const { comps, w } = this.evalAll(x, t);
    const s = new Float64Array(this.D);
    comps.forEach((c, k) => c.z.forEach((v, i) => (s[i] -= w[k] * v)));
    return s;
  }

  eps(x: ArrayLike<number>, t: number): Float64Array {
    const { s } = noiseScales(t);
    return this.score(x, t).map((v) => -s * v);
  }

  /** x̂₀ = E[x₀ | xₜ = x] = (x + σ²∇log pₜ)/a (Tweedie) */
  denoise(x: ArrayLike<number>, t: number): Float64Array {
    const { a, s } = noiseScales(t);
    const sc = this.score(x, t);
    return Float64Array.from(sc, (v, i) => (x[i] + s * s * v) / a);
  }

  /** ∇² log pₜ(x), dense D×D */
  hessian(x: ArrayLike<number>, t: number): Float64Array {
    const D = this.D;
    const { comps, w } = this.evalAll(x, t);
    const H = new Float64Array(D * D);
    const zbar = new Float64Array(D);
    comps.forEach((c, k) => {
      const P = this.precision(k, c.g);
      for (let i = 0; i < D; i++) {
        zbar[i] += w[k] * c.z[i];
        for (let j = 0; j < D; j++) H[i * D + j] += w[k] * (c.z[i] * c.z[j] - P[i * D + j]);
      }
    });
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) H[i * D + j] -= zbar[i] * zbar[j];
    return H;
  }

  /** Cov[x₀ | xₜ = x] = (σ²/a²)(I + σ² ∇² log pₜ) (second-order Tweedie), dense D×D */
  posteriorCov(x: ArrayLike<number>, t: number): Float64Array {
    const { a, s } = noiseScales(t);
    const H = this.hessian(x, t);
    const D = this.D;
    const C = new Float64Array(D * D);
    for (let i = 0; i < D * D; i++) C[i] = ((s * s) / (a * a)) * ((i % (D + 1) === 0 ? 1 : 0) + s * s * H[i]);
    return C;
  }

  /** D²s(x)[u, v] = Σ_ab ∂_a∂_b s(x) u_a v_b, s = ∇log pₜ — O(K·D²) directional formula. */
  d2Score(x: ArrayLike<number>, t: number, u: ArrayLike<number>, v: ArrayLike<number>): Float64Array {
    const D = this.D;
    const { comps, w } = this.evalAll(x, t);
    // in terms of gₖ = ∇ℓₖ = −zₖ and Gₖ = ∇²ℓₖ = −Pₖ (see docs/validation-lab.md)
    const K = this.K;
    const Gv: Float64Array[] = [],
      Gu: Float64Array[] = [];
    const alpha = new Float64Array(K),
      beta = new Float64Array(K),
      gamma = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      const P = this.precision(k, comps[k].g);
      const gv = new Float64Array(D),
        gu = new Float64Array(D);
      for (let i = 0; i < D; i++) {
        let a1 = 0,
          a2 = 0;
        for (let j = 0; j < D; j++) {
          a1 -= P[i * D + j] * v[j];
          a2 -= P[i * D + j] * u[j];
        }
        gv[i] = a1;
        gu[i] = a2;
      }
      Gv.push(gv);
      Gu.push(gu);
      for (let i = 0; i < D; i++) {
        alpha[k] -= comps[k].z[i] * v[i];
        beta[k] -= comps[k].z[i] * u[i];
        gamma[k] += u[i] * gv[i];
      }
    }
    const abar = w.reduce((p, wk, k) => p + wk * alpha[k], 0);
    const bbar = w.reduce((p, wk, k) => p + wk * beta[k], 0);
    const dw = w.map((wk, k) => wk * (beta[k] - bbar));
    const dAbar = dw.reduce((p, d, k) => p + d * alpha[k], 0) + w.reduce((p, wk, k) => p + wk * gamma[k], 0);
    const out = new Float64Array(D);
    for (let k = 0; k < K; k++) {
      const gk = comps[k].z; // gₖ = −zₖ
      for (let i = 0; i < D; i++) {
        out[i] +=
          dw[k] * Gv[k][i] -
          dw[k] * (alpha[k] - abar) * gk[i] -
          w[k] * (gamma[k] - dAbar) * gk[i] +
          w[k] * (alpha[k] - abar) * Gu[k][i];
      }
    }
    return out;
  }

  /** The full third-derivative tensor T_abc = ∂_a∂_b∂_c log pₜ(x), [D, D, D] (symmetric). */
  thirdDerivative(x: ArrayLike<number>, t: number): Float64Array {
    const D = this.D;
    const { comps, w } = this.evalAll(x, t);
    const H = this.hessian(x, t);
    const gbar = new Float64Array(D);
    comps.forEach((c, k) => c.z.forEach((z, i) => (gbar[i] -= w[k] * z)));
    const T = new Float64Array(D * D * D);
    const Ef = new Float64Array(D * D); // E[f_ab], f = G + g gᵀ
    comps.forEach((c, k) => {
      const P = this.precision(k, c.g);
      const g = c.z.map((z) => -z);
      const wk = w[k];
      for (let a = 0; a < D; a++)
        for (let b = 0; b < D; b++) {
          const fab = -P[a * D + b] + g[a] * g[b];
          Ef[a * D + b] += wk * fab;
          const base = (a * D + b) * D;
          for (let cc = 0; cc < D; cc++) {
            // E[G_ac g_b + g_a G_bc] + E[f_ab g_c]
            T[base + cc] += wk * (-P[a * D + cc] * g[b] - g[a] * P[b * D + cc] + fab * g[cc]);
          }
        }
    });
    for (let a = 0; a < D; a++)
      for (let b = 0; b < D; b++) {
        const base = (a * D + b) * D;
        for (let cc = 0; cc < D; cc++)
          T[base + cc] -= Ef[a * D + b] * gbar[cc] + H[a * D + cc] * gbar[b] + gbar[a] * H[b * D + cc];
      }
    return T;
  }

  /** One draw from p₀ (float64). */
  sample(rng: Rng64): Float64Array {
    const u = rng.uniform();
    let k = 0,
      acc = Math.exp(this.logPi[0]);
    while (u > acc && k < this.K - 1) acc += Math.exp(this.logPi[++k]);
    return this.sampleComponent(k, rng);
  }

  sampleComponent(k: number, rng: Rng64): Float64Array {
    const D = this.D,
      Q = this.Q[k],
      lam = this.lam[k];
    const z = rng.normals(D).map((v, j) => v * Math.sqrt(lam[j]));
    const x = Float64Array.from(this.means[k]);
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) x[i] += Q[i * D + j] * z[j];
    return x;
  }
}

/**
 * The CMI of the measurement y = A x₀ + n, n ~ N(0, σ_y² I), under the Gaussian approximation
 * x₀ | xₜ ~ N(x̂₀, Σ), Σ = Cov[x₀|xₜ]: I(x) = ½ log det(I + Σ M), M = AᵀA/σ_y².
 * @param A dense [m, D] row-major
 */
export function gmmMutualInfoDense(
  gmm: GmmDense,
  x: ArrayLike<number>,
  t: number,
  A: ArrayLike<number>,
  m: number,
  sigmaY: number,
): number {
  const D = gmm.D;
  const Sigma = gmm.posteriorCov(x, t);
  const M = normalMatrix(A, m, D, sigmaY);
  // det(I + ΣM) = det(Σ)·det(Σ⁻¹ + M)
  const SigInv = inverseSpd(Sigma, D);
  const S = SigInv.map((v, i) => v + M[i]);
  return 0.5 * (logDetSpd(Sigma, D) + logDetSpd(S, D));
}

function normalMatrix(A: ArrayLike<number>, m: number, D: number, sigmaY: number): Float64Array {
  if (A.length !== m * D) throw new Error(`A of ${A.length} values for [${m}, ${D}]`);
  const M = new Float64Array(D * D);
  for (let r = 0; r < m; r++)
    for (let i = 0; i < D; i++) {
      const ai = A[r * D + i];
      if (ai === 0) continue;
      for (let j = 0; j < D; j++) M[i * D + j] += (ai * A[r * D + j]) / (sigmaY * sigmaY);
    }
  return M;
}

/**
 * Brute-force ∇ₓₜ I(x₀; y | xₜ) for a GMM prior (the CMI paper's Theorem 2 with dense matrices):
 *   ∂ₖI = (σₜ⁴/(2aₜ²)) Tr(M Σ_y Σ⁻¹ ∂ₖ∇²log pₜ),  Σ = Cov[x₀|xₜ], M = AᵀA/σ_y², Σ_y = (Σ⁻¹ + M)⁻¹,
 * contracting the exact third-derivative tensor. Also returns the pieces a Hutchinson estimator uses:
 * `sigmaInv` (Σ⁻¹) and `mSigmaY` (M Σ_y), so E_v[D²s[Σ⁻¹v, MΣ_y v]]·σₜ⁴/(2aₜ²) = grad for E[vvᵀ] = I.
 * @param A dense [m, D] row-major measurement matrix
 */
export function gmmMutualInfoGradientDense(
  gmm: GmmDense,
  x: ArrayLike<number>,
  t: number,
  A: ArrayLike<number>,
  m: number,
  sigmaY: number,
) {
  const D = gmm.D;
  const { a, s } = noiseScales(t);
  const Sigma = gmm.posteriorCov(x, t);
  const sigmaInv = inverseSpd(Sigma, D);
  const M = normalMatrix(A, m, D, sigmaY);
  const sigmaY_ = inverseSpd(
    sigmaInv.map((v, i) => v + M[i]),
    D,
  );
  const mSigmaY = matMul(M, sigmaY_, D, D, D);
  const B = matMul(mSigmaY, sigmaInv, D, D, D);
  const T = gmm.thirdDerivative(x, t);
  const c = s ** 4 / (2 * a * a);
  const grad = new Float64Array(D);
  for (let k = 0; k < D; k++) {
    let acc = 0;
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) acc += T[(k * D + i) * D + j] * B[j * D + i];
    grad[k] = c * acc;
  }
  return { grad, info: gmmMutualInfoDense(gmm, x, t, A, m, sigmaY), sigma: Sigma, sigmaInv, mSigmaY, coefficient: c };
}

/**
 * A random GMM for tests and studies: K components in [C, H, W], means spread at `spread`, covariances
 * diag(d) (+ U Uᵀ of `rank` columns when rank > 0), per-coordinate variances in [0.5, 1.5]·`scale`.
 */
export function randomGmmSpec(opts: {
  shape: readonly [number, number, number];
  components: number;
  rank?: number;
  seed?: number;
  spread?: number;
  scale?: number;
}): GmmSpec {
  const [C, H, W] = opts.shape;
  const D = C * H * W;
  const rng = new Rng64(opts.seed ?? 1);
  const K = opts.components,
    r = opts.rank ?? 0,
    spread = opts.spread ?? 0.6,
    scale = opts.scale ?? 0.02;
  const weights: number[] = [],
    means: Float64Array[] = [],
    covariances: GmmCovariance[] = [];
  for (let k = 0; k < K; k++) {
    weights.push(0.5 + rng.uniform());
    means.push(rng.normals(D).map((v) => Math.max(-1, Math.min(1, spread * v))));
    const diag = Float64Array.from({ length: D }, () => scale * (0.5 + rng.uniform()));
    if (r > 0) {
      const factor = rng.normals(D * r).map((v) => v * Math.sqrt((4 * scale) / r));
      covariances.push({ kind: 'lowrank', diag, factor, rank: r });
    } else covariances.push({ kind: 'diag', diag });
  }
  return { shape: opts.shape, weights, means, covariances };
}

/** The GMM prior on the GPU: ScoreModel with ε, JVP, VJP (= JVP: ∂ε/∂x is symmetric) and hyper-dual d2. */
export class GaussianMixturePrior implements ScoreModel {
  readonly imageShape: readonly [number, number, number];
  readonly outChannels: number;
  readonly learnSigma = false;
  private q: Tensor;
  private lam: Tensor;
  private mu: Tensor;
  private logpi: Tensor;

  constructor(
    readonly engine: Engine,
    readonly dense: GmmDense,
  ) {
    this.imageShape = [...dense.spec.shape] as [number, number, number];
    this.outChannels = dense.spec.shape[0];
    const { D, K } = dense;
    if (K > 16)
      throw new Error(
        `GaussianMixturePrior: ${K} components; the GPU kernel holds at most 16 (MAXK in shaders/prior-gmm.wgsl)`,
      );
    const q = new Float32Array(K * D * D),
      lam = new Float32Array(K * D),
      mu = new Float32Array(K * D);
    for (let k = 0; k < K; k++) {
      q.set(dense.Q[k], k * D * D);
      lam.set(dense.lam[k], k * D);
      mu.set(dense.means[k], k * D);
    }
    this.q = engine.upload(q, [K, D, D], 'gmm-q');
    this.lam = engine.upload(lam, [K, D], 'gmm-lam');
    this.mu = engine.upload(mu, [K, D], 'gmm-mu');
    this.logpi = engine.upload(Float32Array.from(dense.logPi), [K], 'gmm-logpi');
  }

  static fromSpec(engine: Engine, spec: GmmSpec): GaussianMixturePrior {
    return new GaussianMixturePrior(engine, new GmmDense(spec));
  }

  /** One hyper-dual pass at x + w e₁ + v e₂: ε, Dε[w], Dε[v], D²ε[w, v]. */
  private pass(x: Tensor, t: readonly number[], w: Tensor, v: Tensor) {
    const e = this.engine;
    const { D, K } = this.dense;
    const N = t.length;
    for (const [name, tt] of [
      ['x', x],
      ['w', w],
      ['v', v],
    ] as const) {
      if (tt.size !== N * D || tt.shape[0] !== N)
        throw new Error(
          `GaussianMixturePrior: ${name} of shape [${tt.shape}] for ${N} timesteps, expected [${N}, ${this.imageShape}]`,
        );
    }
    const prm = new Float32Array(2 * N);
    t.forEach((tn, n) => {
      const { a, s } = noiseScales(tn);
      prm[2 * n] = a;
      prm[2 * n + 1] = s;
    });
    const prmT = e.upload(prm, [N, 2], 'gmm-prm');
    const ys = e.tensor([N, K, D, 4], 'gmm-ys');
    const nkd = N * K * D;
    e.run({
      kernel: PRIOR_GMM.gmm_project,
      buffers: { x, w, v, q: this.q, lam: this.lam, mu: this.mu, prm: prmT, ys },
      params: { count: nkd, n: N, k: K, d: D },
      grid: grid1d(e, nkd),
      flops: 6 * nkd * D,
      bytes: 4 * nkd * D,
    });
    const logits = e.tensor([N, K, 4], 'gmm-logits');
    e.run({
      kernel: PRIOR_GMM.gmm_logits,
      buffers: { ys, logpi: this.logpi, out: logits },
      params: { count: N * K, n: N, k: K, d: D },
      grid: grid1d(e, N * K),
      flops: 12 * nkd,
      bytes: 16 * nkd,
    });
    const shape = x.shape;
    const out = e.tensor(shape, 'gmm-eps'),
      dw = e.tensor(shape, 'gmm-eps-dw'),
      dv = e.tensor(shape, 'gmm-eps-dv'),
      d2 = e.tensor(shape, 'gmm-eps-d2');
    e.run({
      kernel: PRIOR_GMM.gmm_eps,
      buffers: { q: this.q, prm: prmT, ys, l: logits, out, dw, dv, d2 },
      params: { count: N * D, n: N, k: K, d: D },
      grid: grid1d(e, N * D),
      flops: 6 * nkd * D,
      bytes: 16 * nkd * D,
    });
    e.release(prmT, ys, logits);
    return { out, dw, dv, d2 };
  }

  forward(x: Tensor, t: readonly number[]): Tensor {
    const r = this.pass(x, t, x, x);
    this.engine.release(r.dw, r.dv, r.d2);
    return r.out;
  }

  jvp(x: Tensor, t: readonly number[], v: Tensor): { out: Tensor; tangent: Tensor } {
    const r = this.pass(x, t, v, v);
    this.engine.release(r.dv, r.d2);
    return { out: r.out, tangent: r.dw };
  }

  vjp(x: Tensor, t: readonly number[], u: Tensor): { out: Tensor; grad: Tensor } {
    const { out, tangent } = this.jvp(x, t, u);
    return { out, grad: tangent };
  }

  d2(x: Tensor, t: readonly number[], w: Tensor, v: Tensor) {
    return this.pass(x, t, w, v);
  }

  destroy(): void {
    this.engine.release(this.q, this.lam, this.mu, this.logpi);
  }
}
