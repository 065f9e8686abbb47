// The CMI term without estimators: at one xₜ, everything docs/cmi.md approximates, built exactly from the
// network's derivatives with float64 linear algebra on the host.
//
// With J = ∂ε/∂x (d × d, J[i][j] = ∂εᵢ/∂xⱼ, from d batched JVPs), σ² = (1−ᾱ)/ᾱ and Σ = σ²(I − √(1−ᾱ) J):
//   I = ½ log det(I + ΣM) = ½ log det(Iₘ + AΣAᵀ/σ_y²)                        (Sylvester; M = AᵀA/σ_y²)
//   ∂ₖI = ½ Tr(Y'⁻¹ A ∂ₖΣ Aᵀ)/σ_y²,  Y' = Iₘ + AΣAᵀ/σ_y²                      (Jacobi)
//       = c Σᵢⱼ Gᵢⱼ ∂ₖ∂ⱼεᵢ,   c = −½σ²√(1−ᾱ),  G = Aᵀ Y'⁻ᵀ A / σ_y²  (the d × d contraction matrix)
// G has rank ≤ m (the measurement count) and factorises as G = Σₗ uₗ wₗᵀ with uₗ = Aᵀ Y'⁻ᵀ eₗ and
// wₗ = Aₗᵀ/σ_y² (row l of A). Hence two exact forms, one network pass per factor, no third-order tensor:
//   reverse-over-forward  ∇I = c Σₗ ∇ₓ⟨uₗ, J(x) wₗ⟩        — the gradient of I as the network defines it;
//   hyper-dual            ∇I = c Σₗ D²ε[uₗ, wₗ]              — what the Hutchinson estimator averages to.
// They agree when ∂ₖ∂ⱼεᵢ is symmetric in all three indices (ε a gradient field, as for an exact score);
// a trained network's is not, and the study measures by how much.
//
// The Hutchinson pairs the sampler uses (src/samplers/cmi.ts) are reproduced here with dense solves, so the
// estimator can be compared with the exact gradient probe by probe:
//   exact Σ⁻¹:     a = Σ⁻¹v,  b = Aᵀ(σ_y² + AΣAᵀ)⁻¹AΣv;      isotropic:  a = v/σ²,  b = Aᵀ(σ_y²/σ² + AAᵀ)⁻¹Av.
// E[abᵀ] = G for a symmetric Σ (exact) — the isotropic estimator targets a different matrix.
import type { Engine } from '../engine/executor.js';
import type { ScoreModel } from '../samplers/score-model.js';

/** The network's derivatives at one fixed (xₜ, t), batched, in float64 arrays of length d. */
export interface DerivOracle {
  readonly d: number;
  /** J v for each v */
  jvp(vs: readonly Float64Array[]): Promise<Float64Array[]>;
  /** D²ε[a, b] for each pair */
  d2(as: readonly Float64Array[], bs: readonly Float64Array[]): Promise<Float64Array[]>;
  /** J(xₚ)ᵀ u at the shifted points xₚ = xₜ + δₚ (reverse mode), for finite differences of vjps */
  vjpAt(deltas: readonly Float64Array[], us: readonly Float64Array[]): Promise<Float64Array[]>;
  /** J(xₜ + δ) v for each (δ, v): JVPs at shifted points (finite differences of I) */
  jvpAt(deltas: readonly Float64Array[], vs: readonly Float64Array[]): Promise<Float64Array[]>;
}

// ------------------------------------------------------------------ dense float64 LU

/** LU with partial pivoting of a general n × n matrix (row-major). */
export class Lu {
  private lu: Float64Array;
  private piv: Int32Array;
  /** log|det| and the determinant's sign */
  readonly logAbsDet: number;
  readonly sign: number;

  constructor(
    a: ArrayLike<number>,
    readonly n: number,
  ) {
    const lu = Float64Array.from(a);
    const piv = new Int32Array(n);
    let sign = 1,
      logAbsDet = 0;
    for (let k = 0; k < n; k++) {
      let p = k,
        best = Math.abs(lu[k * n + k]);
      for (let i = k + 1; i < n; i++) {
        const v = Math.abs(lu[i * n + k]);
        if (v > best) ((best = v), (p = i));
      }
      if (best === 0) throw new Error(`Lu: singular matrix (column ${k})`);
      piv[k] = p;
      if (p !== k) {
        sign = -sign;
        for (let j = 0; j < n; j++) {
          const t = lu[k * n + j];
          lu[k * n + j] = lu[p * n + j];
          lu[p * n + j] = t;
        }
      }
      const d = lu[k * n + k];
      if (d < 0) sign = -sign;
      logAbsDet += Math.log(Math.abs(d));
      for (let i = k + 1; i < n; i++) {
        const f = (lu[i * n + k] /= d);
        if (f === 0) continue;
        const ri = i * n,
          rk = k * n;
        for (let j = k + 1; j < n; j++) lu[ri + j] -= f * lu[rk + j];
      }
    }
    this.lu = lu;
    this.piv = piv;
    this.logAbsDet = logAbsDet;
    this.sign = sign;
  }

  /** A⁻¹ b */
  solve(b: ArrayLike<number>): Float64Array {
    const { n, lu, piv } = this;
    const x = Float64Array.from(b);
    for (let k = 0; k < n; k++) {
      const p = piv[k];
      if (p !== k) [x[k], x[p]] = [x[p], x[k]];
    }
    for (let i = 0; i < n; i++) {
      let s = x[i];
      for (let j = 0; j < i; j++) s -= lu[i * n + j] * x[j];
      x[i] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i];
      for (let j = i + 1; j < n; j++) s -= lu[i * n + j] * x[j];
      x[i] = s / lu[i * n + i];
    }
    return x;
  }

  /** A⁻ᵀ b (PA = LU ⇒ Aᵀ = Uᵀ Lᵀ P) */
  solveT(b: ArrayLike<number>): Float64Array {
    const { n, lu, piv } = this;
    const x = Float64Array.from(b);
    for (let i = 0; i < n; i++) {
      let s = x[i];
      for (let j = 0; j < i; j++) s -= lu[j * n + i] * x[j];
      x[i] = s / lu[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i];
      for (let j = i + 1; j < n; j++) s -= lu[j * n + i] * x[j];
      x[i] = s;
    }
    for (let k = n - 1; k >= 0; k--) {
      const p = piv[k];
      if (p !== k) [x[k], x[p]] = [x[p], x[k]];
    }
    return x;
  }
}

// ------------------------------------------------------------------ the exact quantities

export interface CmiSetting {
  /** ᾱ at the step */
  alphaBar: number;
  /** σ_y² (> 0) */
  sigmaY2: number;
  /** the operator as a dense m × d matrix (rows that are identically zero may be dropped) */
  A: Float64Array;
  m: number;
  d: number;
}

/** σ², √(1−ᾱ) and the gradient's prefactor c = −½σ²√(1−ᾱ). */
export function cmiScales(alphaBar: number): { s2: number; sq: number; c: number } {
  const s2 = (1 - alphaBar) / alphaBar;
  const sq = Math.sqrt(1 - alphaBar);
  return { s2, sq, c: -0.5 * s2 * sq };
}

/** The dense ε-Jacobian J[i·d + j] = ∂εᵢ/∂xⱼ from d JVPs with the basis vectors, `batch` at a time. */
export async function denseJacobian(
  o: DerivOracle,
  batch = 16,
  onProgress?: (done: number) => void,
): Promise<Float64Array> {
  const d = o.d;
  const J = new Float64Array(d * d);
  for (let j0 = 0; j0 < d; j0 += batch) {
    const vs = Array.from({ length: Math.min(batch, d - j0) }, (_, q) => {
      const v = new Float64Array(d);
      v[j0 + q] = 1;
      return v;
    });
    const cols = await o.jvp(vs);
    cols.forEach((col, q) => {
      for (let i = 0; i < d; i++) J[i * d + j0 + q] = col[i];
    });
    onProgress?.(j0 + vs.length);
  }
  return J;
}

/** A (J Aᵀ) from the columns JAᵀ (m vectors of length d): the m × m matrix AJAᵀ. */
function aTimesCols(s: CmiSetting, cols: readonly Float64Array[]): Float64Array {
  const { A, m, d } = s;
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let l = 0; l < m; l++) {
      let acc = 0;
      const col = cols[l];
      for (let k = 0; k < d; k++) acc += A[i * d + k] * col[k];
      out[i * m + l] = acc;
    }
  return out;
}

function rowOf(A: Float64Array, l: number, d: number): Float64Array {
  return A.slice(l * d, (l + 1) * d);
}

/** JAᵀ as m columns, from a dense J. */
export function jTimesAt(s: CmiSetting, J: Float64Array): Float64Array[] {
  const { A, m, d } = s;
  return Array.from({ length: m }, (_, l) => {
    const col = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += J[i * d + k] * A[l * d + k];
      col[i] = acc;
    }
    return col;
  });
}

/** Y' = Iₘ + AΣAᵀ/σ_y² with Σ = σ²(I − √(1−ᾱ)J), from the columns JAᵀ. */
function yPrime(s: CmiSetting, jAt: readonly Float64Array[]): Float64Array {
  const { A, m, d, sigmaY2 } = s;
  const { s2, sq } = cmiScales(s.alphaBar);
  const ajat = aTimesCols(s, jAt);
  const y = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let l = 0; l < m; l++) {
      let aat = 0;
      for (let k = 0; k < d; k++) aat += A[i * d + k] * A[l * d + k];
      y[i * m + l] = (i === l ? 1 : 0) + (s2 * (aat - sq * ajat[i * m + l])) / sigmaY2;
    }
  return y;
}

/**
 * I = ½ log |det(I + ΣM)|, from the columns JAᵀ (m JVPs suffice), and the determinant's sign. A network's Σ
 * need not be positive definite (at high noise K = I − √(1−ᾱ)J is a small difference of O(1) terms), so the
 * determinant can be negative; Jacobi's formula ∂ log|det Y| = Tr(Y⁻¹∂Y) holds either way.
 */
export function mutualInfoSigned(s: CmiSetting, jAt: readonly Float64Array[]): { I: number; sign: number } {
  const lu = new Lu(yPrime(s, jAt), s.m);
  return { I: 0.5 * lu.logAbsDet, sign: lu.sign };
}

/** I = ½ log det(I + ΣM) (an error where the determinant is not positive). */
export function mutualInfo(s: CmiSetting, jAt: readonly Float64Array[]): number {
  const r = mutualInfoSigned(s, jAt);
  if (r.sign <= 0) throw new Error('mutualInfo: det(I + ΣM) ≤ 0 (Σ far from positive definite)');
  return r.I;
}

/** The factors of the contraction matrix: G = Σₗ uₗ wₗᵀ, and the prefactor c (∇I = c Σₗ ⟨…⟩). */
export function contractionFactors(
  s: CmiSetting,
  jAt: readonly Float64Array[],
): { u: Float64Array[]; w: Float64Array[]; c: number } {
  const { A, m, d, sigmaY2 } = s;
  const lu = new Lu(yPrime(s, jAt), m);
  const u: Float64Array[] = [];
  const w: Float64Array[] = [];
  for (let l = 0; l < m; l++) {
    const el = new Float64Array(m);
    el[l] = 1;
    const z = lu.solveT(el); // Y'⁻ᵀ eₗ
    const ul = new Float64Array(d);
    for (let i = 0; i < m; i++) if (z[i] !== 0) for (let k = 0; k < d; k++) ul[k] += A[i * d + k] * z[i];
    u.push(ul);
    w.push(rowOf(A, l, d).map((v) => v / sigmaY2));
  }
  return { u, w, c: cmiScales(s.alphaBar).c };
}

/** The exact ∇I in its hyper-dual form: c Σₗ D²ε[uₗ, wₗ], `batch` passes at a time. */
export async function exactGradientHyperDual(
  o: DerivOracle,
  f: { u: Float64Array[]; w: Float64Array[]; c: number },
  batch = 16,
): Promise<Float64Array> {
  const g = new Float64Array(o.d);
  for (let l0 = 0; l0 < f.u.length; l0 += batch) {
    const h = await o.d2(f.u.slice(l0, l0 + batch), f.w.slice(l0, l0 + batch));
    for (const v of h) for (let k = 0; k < o.d; k++) g[k] += f.c * v[k];
  }
  return g;
}

/** Central differences: offsets (in units of h) and weights of order 2 or 4. */
function stencil(order: 2 | 4): { k: number[]; w: number[] } {
  return order === 4 ? { k: [1, -1, 2, -2], w: [8 / 12, -8 / 12, -1 / 12, 1 / 12] } : { k: [1, -1], w: [0.5, -0.5] };
}

/**
 * ∇ₓ⟨u, J(x) w⟩ for each pair by a central difference (order 4, or 2 at half the cost) of J(x + h ŵ)ᵀu in
 * h, ŵ = w/‖w‖ — the reverse-over-forward product without a forward-over-reverse pass.
 */
export async function reverseOverForward(
  o: DerivOracle,
  us: readonly Float64Array[],
  ws: readonly Float64Array[],
  h: number,
  batch = 16,
  order: 2 | 4 = 4,
): Promise<Float64Array[]> {
  const st = stencil(order);
  const K = st.k.length;
  const out: Float64Array[] = [];
  for (let l0 = 0; l0 < us.length; l0 += Math.max(1, Math.floor(batch / K))) {
    const deltas: Float64Array[] = [];
    const cot: Float64Array[] = [];
    const hs: number[] = [];
    for (let l = l0; l < Math.min(l0 + Math.max(1, Math.floor(batch / K)), us.length); l++) {
      const hl = h / Math.hypot(...ws[l]);
      hs.push(hl);
      for (const k of st.k) {
        deltas.push(ws[l].map((v) => k * hl * v));
        cot.push(us[l]);
      }
    }
    const g = await o.vjpAt(deltas, cot);
    hs.forEach((hl, q) => {
      const vals = g.slice(K * q, K * q + K);
      out.push(vals[0].map((_, k) => vals.reduce((acc, v, i) => acc + st.w[i] * v[k], 0) / hl));
    });
  }
  return out;
}

/** The exact ∇I in its reverse-over-forward form: c Σₗ ∇⟨uₗ, J wₗ⟩ (finite differences of vjps in h). */
export async function exactGradientReverse(
  o: DerivOracle,
  f: { u: Float64Array[]; w: Float64Array[]; c: number },
  h: number,
  batch = 16,
  order: 2 | 4 = 4,
): Promise<Float64Array> {
  const parts = await reverseOverForward(o, f.u, f.w, h, batch, order);
  const g = new Float64Array(o.d);
  for (const v of parts) for (let k = 0; k < o.d; k++) g[k] += f.c * v[k];
  return g;
}

/**
 * ⟨∇I, δ⟩ by the central difference (order 4, or 2) of I along δ (I at xₜ ± hδ, ± 2hδ; each from m JVPs at the
 * shifted point; log |det| where the determinant is negative). `h` is the step along the unit vector δ/‖δ‖;
 * the result is per unit of δ/‖δ‖.
 */
export async function finiteDifferenceI(
  s: CmiSetting,
  o: DerivOracle,
  dir: Float64Array,
  h: number,
  order: 2 | 4 = 4,
): Promise<number> {
  const st = stencil(order);
  const n = Math.hypot(...dir);
  const unit = dir.map((v) => v / n);
  const rows = Array.from({ length: s.m }, (_, l) => rowOf(s.A, l, s.d));
  const I: number[] = [];
  for (const k of st.k) {
    const delta = unit.map((v) => k * h * v);
    const cols = await o.jvpAt(
      rows.map(() => delta),
      rows,
    );
    I.push(mutualInfoSigned(s, cols).I);
  }
  return I.reduce((acc, v, i) => acc + st.w[i] * v, 0) / h;
}

export type HutchinsonMode = 'exact' | 'isotropic';

/**
 * The sampler's Hutchinson pair (a, b) for probe v, with dense solves: `exact` uses the network's Σ,
 * `isotropic` Σ ≈ σ²I (src/samplers/cmi.ts). `sigmaLu` is the LU of Σ (exact mode).
 */
export function hutchinsonPair(
  s: CmiSetting,
  mode: HutchinsonMode,
  v: Float64Array,
  dense: { J: Float64Array; sigmaLu: Lu; measLu: Lu } | null,
): { a: Float64Array; b: Float64Array } {
  const { A, m, d, sigmaY2 } = s;
  const { s2, sq } = cmiScales(s.alphaBar);
  const applyA = (x: Float64Array) =>
    Float64Array.from({ length: m }, (_, i) => {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += A[i * d + k] * x[k];
      return acc;
    });
  const applyAt = (q: Float64Array) => {
    const out = new Float64Array(d);
    for (let i = 0; i < m; i++) if (q[i] !== 0) for (let k = 0; k < d; k++) out[k] += A[i * d + k] * q[i];
    return out;
  };
  if (mode === 'isotropic') {
    if (!dense) throw new Error('hutchinsonPair: isotropic needs the LU of σ_y²/σ² + AAᵀ in measLu');
    return { a: v.map((x) => x / s2), b: applyAt(dense.measLu.solve(applyA(v))) };
  }
  if (!dense) throw new Error('hutchinsonPair: exact mode needs the dense J');
  const { J } = dense;
  const sigmaV = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let acc = 0;
    for (let k = 0; k < d; k++) acc += J[i * d + k] * v[k];
    sigmaV[i] = s2 * (v[i] - sq * acc);
  }
  return { a: dense.sigmaLu.solve(v), b: applyAt(dense.measLu.solve(applyA(sigmaV))) };
}

/** The LUs hutchinsonPair needs: Σ and σ_y² + AΣAᵀ (exact), or σ_y²/σ² + AAᵀ (isotropic). */
export function hutchinsonSolvers(
  s: CmiSetting,
  mode: HutchinsonMode,
  J: Float64Array | null,
): { J: Float64Array; sigmaLu: Lu; measLu: Lu } {
  const { A, m, d, sigmaY2 } = s;
  const { s2, sq } = cmiScales(s.alphaBar);
  const aat = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let l = 0; l < m; l++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += A[i * d + k] * A[l * d + k];
      aat[i * m + l] = acc;
    }
  if (mode === 'isotropic') {
    for (let i = 0; i < m; i++) aat[i * m + i] += sigmaY2 / s2;
    const one = new Lu(new Float64Array([1]), 1);
    return { J: new Float64Array(0), sigmaLu: one, measLu: new Lu(aat, m) };
  }
  if (!J) throw new Error('hutchinsonSolvers: exact mode needs the dense J');
  const sigma = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) sigma[i] = -s2 * sq * J[i];
  for (let i = 0; i < d; i++) sigma[i * d + i] += s2;
  const S = aTimesCols(s, jTimesAt(s, sigma)); // A(ΣAᵀ): jTimesAt multiplies any d × d matrix by Aᵀ
  for (let i = 0; i < m; i++) S[i * m + i] += sigmaY2;
  return { J, sigmaLu: new Lu(sigma, d), measLu: new Lu(S, m) };
}

// ------------------------------------------------------------------ small helpers

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

export function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Rademacher vectors from a seeded generator. */
export function rademacher(d: number, next: () => number): Float64Array {
  return Float64Array.from({ length: d }, () => (next() < 0.5 ? -1 : 1));
}

// ------------------------------------------------------------------ a ScoreModel as an oracle

/**
 * The oracle of a ScoreModel (the UNet or a lab prior) at one image xₜ (float32 on the GPU): every call
 * stacks up to `batch` items on the batch axis of one network pass and reads back the ε channels.
 */
export function modelOracle(e: Engine, model: ScoreModel, x: ArrayLike<number>, t: number, batch = 16): DerivOracle {
  const [C, H, W] = model.imageShape;
  const d = C * H * W;
  if (x.length !== d) throw new Error(`modelOracle: x has ${x.length} entries, the model's images ${d}`);
  const shape = (n: number) => [n, C, H, W];
  const outC = model.outChannels;
  const eps = (flat: Float32Array, n: number) =>
    Array.from({ length: n }, (_, q) => Float64Array.from(flat.subarray(q * outC * H * W, q * outC * H * W + d)));
  const upload = (vs: readonly ArrayLike<number>[], base?: ArrayLike<number>) => {
    const buf = new Float32Array(vs.length * d);
    vs.forEach((v, q) => {
      for (let k = 0; k < d; k++) buf[q * d + k] = (base ? base[k] : 0) + v[k];
    });
    return e.upload(buf, shape(vs.length));
  };
  const xs = (n: number) => upload(Array.from({ length: n }, () => x));
  const chunks = async <T>(n: number, f: (i0: number, nb: number) => Promise<T[]>): Promise<T[]> => {
    const out: T[] = [];
    for (let i0 = 0; i0 < n; i0 += batch) out.push(...(await f(i0, Math.min(batch, n - i0))));
    return out;
  };
  const ts = (n: number) => new Array(n).fill(t);
  /** ε-JVPs of the probes `vs`, at the points `at(i0, nb)` gives for each chunk of nb probes from i0 */
  const jvpFrom = (vs: readonly Float64Array[], at: (i0: number, nb: number) => ReturnType<typeof xs>) =>
    chunks(vs.length, async (i0, nb) => {
      const X = at(i0, nb),
        V = upload(vs.slice(i0, i0 + nb));
      const r = model.jvp(X, ts(nb), V);
      const out = eps(await e.read(r.tangent), nb);
      e.release(X, V, r.out, r.tangent);
      return out;
    });
  return {
    d,
    jvp: (vs) => jvpFrom(vs, (_i0, nb) => xs(nb)),
    jvpAt: (deltas, vs) => jvpFrom(vs, (i0, nb) => upload(deltas.slice(i0, i0 + nb), x)),
    d2: (as, bs) =>
      chunks(as.length, async (i0, nb) => {
        const X = xs(nb),
          Aa = upload(as.slice(i0, i0 + nb)),
          Bb = upload(bs.slice(i0, i0 + nb));
        const r = model.d2(X, ts(nb), Aa, Bb);
        const out = eps(await e.read(r.d2), nb);
        e.release(X, Aa, Bb, r.out, r.dw, r.dv, r.d2);
        return out;
      }),
    vjpAt: (deltas, us) =>
      chunks(us.length, async (i0, nb) => {
        const X = upload(deltas.slice(i0, i0 + nb), x);
        const ubuf = new Float32Array(nb * outC * H * W);
        for (let q = 0; q < nb; q++) ubuf.set(Float32Array.from(us[i0 + q]), q * outC * H * W);
        const U = e.upload(ubuf, [nb, outC, H, W]);
        const r = model.vjp(X, ts(nb), U);
        const g = await e.read(r.grad);
        e.release(X, U, r.out, r.grad);
        return Array.from({ length: nb }, (_, q) => Float64Array.from(g.subarray(q * d, (q + 1) * d)));
      }),
  };
}

/**
 * How far the network's K = I − √(1−ᾱ)J (Σ = σ²K) is from an invertible covariance factor: log|det K| and
 * its sign, the smallest singular value (inverse iteration on KᵀK), and ‖K⁻¹Kᵀ − I‖_F/√d — the factor by
 * which the `exact` estimator's target Σ⁻¹ΣᵀG departs from G (zero for a symmetric K).
 */
export function kDiagnostics(
  J: Float64Array,
  d: number,
  alphaBar: number,
  iters = 30,
): { logAbsDet: number; sign: number; sigmaMin: number; asymmetryAmplification: number } {
  const { sq } = cmiScales(alphaBar);
  const K = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) K[i] = -sq * J[i];
  for (let i = 0; i < d; i++) K[i * d + i] += 1;
  const lu = new Lu(K, d);
  let num = 0;
  for (let j = 0; j < d; j++) {
    const x = lu.solve(K.subarray(j * d, (j + 1) * d)); // column j of Kᵀ is row j of K
    x[j] -= 1;
    for (const v of x) num += v * v;
  }
  let v = Float64Array.from({ length: d }, (_, i) => Math.sin(1 + i));
  let s2 = 0;
  for (let it = 0; it < iters; it++) {
    const w = lu.solve(lu.solveT(v)); // (KᵀK)⁻¹v
    const n = Math.hypot(...w);
    s2 = Math.hypot(...v) / n;
    v = w.map((q) => q / n);
  }
  return {
    logAbsDet: lu.logAbsDet,
    sign: lu.sign,
    sigmaMin: Math.sqrt(s2),
    asymmetryAmplification: Math.sqrt(num / d),
  };
}
