// Float64 reference of the samplers in src/samplers for a GMM prior (exact ε, Hessian and D²s from
// src/lab/gmm.ts GmmDense) and a dense linear operator, one image at a time. Mirrors the GPU driver's
// order of operations: base sample x', the method's gradient at xₜ, the CMI term added to x', then the
// method's correction (DPS/ΠGDM step, DSG sphere, MCG projection).
import type { GmmDense } from '../../src/lab/gmm.js';
import { inverseSpd, matMul, matVec, transpose } from '../../src/lab/linalg64.js';
import type { Schedule } from '../../src/samplers/schedule.js';

export interface RefProblem {
  gmm: GmmDense;
  sched: Schedule;
  /** A [m, D] */
  A: Float64Array;
  m: number;
  sigmaY: number;
  clip: boolean;
  /** A⁺ [D, m] (MCG) */
  pinv?: Float64Array;
  /** Poisson DPS: the norm weighted by mean(1/|y|) (the DPS reference's ‖r‖/|y| averaged) */
  poisson?: boolean;
  /** SVD factors (DDRM): U [m, m], s [m], V [D, D] */
  svd?: { u: Float64Array; s: Float64Array; v: Float64Array };
}

export interface RefRun {
  method: 'ddpm' | 'ddim' | 'dps' | 'pigdm' | 'mcg' | 'dsg' | 'ddrm';
  zeta: number;
  eta: number;
  dsg?: { rate: number; interval: number };
  ddrm?: { eta: number; etaB: number };
  cmi?: { r: number; mode: 'exact' | 'isotropic'; eta: { kind: 'constant' | 'residual' | 'relative'; eta: number } };
  y: Float64Array;
  xT: Float64Array;
  stepNoise: (i: number) => Float64Array;
  measNoise?: (i: number) => Float64Array;
  probe?: (i: number, j: number) => Float64Array;
}

const norm = (v: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
};
const axpy = (a: number, x: ArrayLike<number>, y: Float64Array) => {
  for (let i = 0; i < y.length; i++) y[i] += a * x[i];
  return y;
};

/** ∂ε/∂x = −σₜ ∇²log pₜ (symmetric for an exact score). */
function jacEps(p: RefProblem, x: Float64Array, t: number, sigma: number): Float64Array {
  return p.gmm.hessian(x, t).map((h) => -sigma * h);
}

export function refSample(p: RefProblem, run: RefRun): { x: Float64Array; traj: Float64Array[]; dist: number[] } {
  const { gmm, sched: s, A, m } = p;
  const D = gmm.D;
  const At = transpose(A, m, D);
  const S = s.length;
  let x: Float64Array = Float64Array.from(run.xT);
  const traj: Float64Array[] = [];
  const dist: number[] = [];
  if (run.method === 'ddrm') x = ddrmInit(p, run);
  for (let i = 0; i < S; i++) {
    const k = S - 1 - i;
    const t = s.timestepMap[k];
    const ab = s.alphasCumprod[k],
      abp = s.alphasCumprodPrev[k];
    const sq = Math.sqrt(1 - ab);
    const z = k > 0 ? run.stepNoise(i) : new Float64Array(D);
    const eps = gmm.eps(x, t);
    const raw = x.map((xi, j) => s.sqrtRecipAlphasCumprod[k] * xi - s.sqrtRecipm1AlphasCumprod[k] * eps[j]);
    const clip = run.method === 'ddrm' ? false : p.clip;
    const x0 = raw.map((v) => (clip ? Math.min(1, Math.max(-1, v)) : v));
    const pass = raw.map((v) => (!clip || (v >= -1 && v <= 1) ? 1 : 0));
    const r = Float64Array.from(run.y, (yv, j) => yv - matVec(A, x0, m, D)[j]);
    const w = p.poisson ? run.y.reduce((acc, v) => acc + 1 / Math.max(Math.abs(v), 1e-6), 0) / m : 1;
    dist.push(w * norm(r));
    if (run.method === 'ddrm') {
      x = ddrmStep(p, run, k, x0, eps, z);
      traj.push(Float64Array.from(x));
      continue;
    }
    let next: Float64Array,
      mean: Float64Array | null = null,
      sigma = 0;
    if (run.method === 'ddpm' || run.method === 'dps' || run.method === 'mcg') {
      const logvar = Math.log(k === 0 ? s.posteriorVariance[1] : s.betas[k]); // fixed_large
      next = x0.map(
        (v, j) =>
          s.posteriorMeanCoef1[k] * v + s.posteriorMeanCoef2[k] * x[j] + (k > 0 ? Math.exp(0.5 * logvar) * z[j] : 0),
      );
    } else {
      sigma = k > 0 ? run.eta * Math.sqrt((1 - abp) / (1 - ab)) * Math.sqrt(1 - ab / abp) : 0;
      const dir = Math.sqrt(Math.max(0, 1 - abp - sigma * sigma));
      mean = x0.map(
        (v, j) => Math.sqrt(abp) * v + dir * ((s.sqrtRecipAlphasCumprod[k] * x[j] - v) / s.sqrtRecipm1AlphasCumprod[k]),
      );
      next = mean.map((v, j) => v + sigma * z[j]);
    }
    // pullback of a cotangent on x̂₀ to xₜ
    const Je = jacEps(p, x, t, sq);
    const pull = (g: Float64Array) => {
      const gm = g.map((v, j) => v * pass[j]);
      const back = matVec(Je, gm, D, D); // Jεᵀ = Jε
      return gm.map((v, j) => s.sqrtRecipAlphasCumprod[k] * v - s.sqrtRecipm1AlphasCumprod[k] * back[j]);
    };
    let grad: Float64Array | null = null;
    let stepScale = 0;
    const guided =
      run.method === 'dps' ||
      run.method === 'mcg' ||
      run.method === 'pigdm' ||
      (run.method === 'dsg' && k % run.dsg!.interval === 0);
    if (guided) {
      if (run.method === 'pigdm') {
        const r2 = 1 - ab;
        const Mm = matMul(A, At, m, D, m).map((v, j) => r2 * v + (j % (m + 1) === 0 ? p.sigmaY ** 2 : 0));
        const sol = matVec(inverseSpd(Mm, m), r, m, m);
        grad = pull(matVec(At, sol, D, m));
        // NVlabs' weighting √ᾱ_prev √ᾱ rₜ² (the 'score' weighting is checked against exact-guidance.ts in pigdm.test.ts)
        stepScale = run.zeta * Math.sqrt(abp * ab) * (1 - ab);
      } else {
        const nr = norm(r);
        grad = pull(matVec(At, r, D, m).map((v) => (-w * v) / nr));
        stepScale = run.method === 'dsg' ? 0 : -run.zeta;
      }
    }
    if (run.cmi) {
      const gI = refCmiGradient(p, x, k, run.cmi.r, run.cmi.mode, (j) => run.probe!(i, j));
      const e = run.cmi.eta;
      let c = e.eta;
      if (e.kind === 'residual') c = e.eta / norm(r);
      else if (e.kind === 'relative') {
        const stepNorm =
          run.method === 'dsg' ? Math.sqrt(D) * sigma * run.dsg!.rate : Math.abs(stepScale) * norm(grad!);
        c = (e.eta * stepNorm) / Math.max(norm(gI), 1e-12);
      }
      axpy(c, gI, next);
    }
    if (grad) {
      if (run.method === 'dsg') {
        const radius = Math.sqrt(D) * sigma;
        const gn = Math.max(norm(grad), 1e-8);
        const rate = run.dsg!.rate;
        const mix = next.map((v, j) => (1 - rate) * (v - mean![j]) - (rate * radius * grad![j]) / gn);
        const mn = Math.max(norm(mix), 1e-8);
        next = mean!.map((v, j) => v + (radius * mix[j]) / mn);
      } else axpy(stepScale, grad, next);
    }
    if (run.method === 'mcg') {
      const n = run.measNoise!(i);
      const yt = run.y.map((v, j) => Math.sqrt(ab) * v + Math.sqrt(1 - ab) * n[j]);
      const ax = matVec(A, next, m, D);
      const corr = matVec(
        p.pinv!,
        yt.map((v, j) => v - ax[j]),
        D,
        m,
      );
      axpy(1, corr, next);
    }
    x = next;
    traj.push(Float64Array.from(x));
  }
  return { x, traj, dist };
}

/** Hutchinson CMI gradient in float64 with the given probes (exact Σ⁻¹ or isotropic Σ ≈ σ²I). */
export function refCmiGradient(
  p: RefProblem,
  x: Float64Array,
  k: number,
  r: number,
  mode: 'exact' | 'isotropic',
  probe: (j: number) => Float64Array,
): Float64Array {
  const { gmm, A, m, sched: s } = p;
  const D = gmm.D;
  const t = s.timestepMap[k];
  const ab = s.alphasCumprod[k];
  const s2 = (1 - ab) / ab;
  const At = transpose(A, m, D);
  let Sigma: Float64Array;
  if (mode === 'exact') Sigma = gmm.posteriorCov(x, t);
  else {
    Sigma = new Float64Array(D * D);
    for (let i = 0; i < D; i++) Sigma[i * D + i] = s2;
  }
  const SigInv = inverseSpd(Sigma, D);
  // MΣ_y = Aᵀ(σ_y² I + AΣAᵀ)⁻¹AΣ
  const ASAt = matMul(matMul(A, Sigma, m, D, D), At, m, D, m).map(
    (v, j) => v + (j % (m + 1) === 0 ? p.sigmaY ** 2 : 0),
  );
  const MSy = matMul(matMul(At, inverseSpd(ASAt, m), D, m, m), matMul(A, Sigma, m, D, D), D, m, D);
  const c = (1 - ab) ** 2 / (2 * ab);
  const g = new Float64Array(D);
  for (let j = 0; j < r; j++) {
    const v = probe(j);
    const d2 = gmm.d2Score(x, t, matVec(SigInv, v, D, D), matVec(MSy, v, D, D));
    axpy(c / r, d2, g);
  }
  return g;
}

function ddrmInit(p: RefProblem, run: RefRun): Float64Array {
  const { s: sv, u: U, v: V } = p.svd!;
  const D = p.gmm.D,
    m = p.m;
  const abT = p.sched.alphasCumprod[p.sched.length - 1];
  const st = Math.sqrt(1 - abT) / Math.sqrt(abT);
  const uty = matVec(transpose(U, m, m), run.y, m, m);
  const spec = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    let base = 0,
      inv = 0;
    if (j < m && sv[j] * st > p.sigmaY) {
      base = uty[j] / sv[j];
      inv = p.sigmaY / sv[j];
    }
    spec[j] = (base + Math.sqrt(Math.max(st * st - inv * inv, 0)) * run.xT[j]) / st;
  }
  return matVec(V, spec, D, D);
}

function ddrmStep(
  p: RefProblem,
  run: RefRun,
  k: number,
  x0: Float64Array,
  eps: Float64Array,
  z: Float64Array,
): Float64Array {
  const { s: sv, u: U, v: V } = p.svd!;
  const D = p.gmm.D,
    m = p.m,
    s0 = p.sigmaY;
  const { eta, etaB } = run.ddrm!;
  const Vt = transpose(V, D, D);
  const vx0 = matVec(Vt, x0, D, D),
    ve = matVec(Vt, eps, D, D);
  const uty = matVec(transpose(U, m, m), run.y, m, m);
  const abn = p.sched.alphasCumprodPrev[k];
  const sn = Math.sqrt(1 - abn) / Math.sqrt(abn);
  const out = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    const stdC = sn * eta;
    let v = vx0[j] + Math.sqrt(Math.max(sn * sn - stdC * stdC, 0)) * ve[j] + stdC * z[j];
    if (j < m) {
      const sj = sv[j];
      if (sj * sn < s0)
        v = vx0[j] + Math.sqrt(Math.max(sn * sn - stdC * stdC, 0)) * ((uty[j] - sj * vx0[j]) / s0) + stdC * z[j];
      else if (sj * sn > s0)
        v =
          (etaB * uty[j]) / sj +
          (1 - etaB) * vx0[j] +
          Math.sqrt(Math.max(sn * sn - ((s0 * s0) / (sj * sj)) * etaB * etaB, 0)) * z[j];
    }
    out[j] = v;
  }
  return matVec(V, out, D, D).map((v) => Math.sqrt(abn) * v);
}
