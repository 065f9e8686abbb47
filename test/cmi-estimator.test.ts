// The exact-CMI construction of src/lab/cmi-exact.ts (the ground truth of docs/results/cmi-estimator.md):
//  1. on a Gaussian-mixture prior (an exact score, so ∂ₖ∂ⱼεᵢ is fully symmetric) in float64: I equals the
//     lab's closed form, the hyper-dual sum over the contraction matrix's factors equals the lab's dense
//     third-derivative contraction and central differences of I, and the reverse-over-forward form agrees;
//  2. on a non-conservative field (ε with a non-symmetric Jacobian): finite differences of I follow the
//     reverse-over-forward form, and the hyper-dual form differs — the construction tells them apart;
//  3. the Hutchinson pairs averaged over all sign probes reproduce the exact gradient (exact Σ⁻¹);
//  4. the GPU oracle (what the study runs on the UNet) agrees with the float64 one on the GPU GMM prior.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import {
  contractionFactors,
  cosine,
  denseJacobian,
  exactGradientHyperDual,
  exactGradientReverse,
  finiteDifferenceI,
  hutchinsonPair,
  hutchinsonSolvers,
  jTimesAt,
  kDiagnostics,
  Lu,
  modelOracle,
  mutualInfo,
  relErr,
  type CmiSetting,
  type DerivOracle,
} from '../src/lab/cmi-exact.js';
import {
  GaussianMixturePrior,
  GmmDense,
  gmmMutualInfoDense,
  gmmMutualInfoGradientDense,
  randomGmmSpec,
} from '../src/lab/gmm.js';
import { symEig } from '../src/lab/linalg64.js';
import { Rng64 } from '../src/lab/rng64.js';
import { alphaBar, noiseScales } from '../src/lab/schedule64.js';
import { getTestEngine } from './helpers.js';

const SHAPE = [1, 2, 3] as const;
const D = 6,
  M = 4,
  SIGMA_Y = 0.1;
const gmm = new GmmDense(randomGmmSpec({ shape: SHAPE, components: 3, rank: 1, seed: 5, spread: 0.6, scale: 0.08 }));
const rng = new Rng64(21);
const A = rng.normals(M * D).map((v) => v / Math.sqrt(D));

function setting(t: number): CmiSetting {
  return { alphaBar: alphaBar(t), sigmaY2: SIGMA_Y ** 2, A, m: M, d: D };
}

/** A point between two modes at noise level t (large third derivatives there). */
function point(t: number): Float64Array {
  const { a, s } = noiseScales(t);
  return gmm.means[0].map((v, i) => a * (0.5 * v + 0.5 * gmm.means[1][i]) + 0.3 * s * rng.normal());
}

const add = (x: ArrayLike<number>, d: ArrayLike<number>) => Float64Array.from(x, (v, i) => v + d[i]);

/** The float64 oracle of an ε-field given its Jacobian and second directional derivative. */
function fieldOracle(
  jac: (x: Float64Array) => Float64Array,
  d2: (x: Float64Array, a: Float64Array, b: Float64Array) => Float64Array,
  x: Float64Array,
): DerivOracle {
  const mv = (Jm: Float64Array, v: ArrayLike<number>, tr = false) =>
    Float64Array.from({ length: D }, (_, i) => {
      let s = 0;
      for (let k = 0; k < D; k++) s += (tr ? Jm[k * D + i] : Jm[i * D + k]) * v[k];
      return s;
    });
  return {
    d: D,
    jvp: async (vs) => vs.map((v) => mv(jac(x), v)),
    jvpAt: async (ds, vs) => vs.map((v, q) => mv(jac(add(x, ds[q])), v)),
    d2: async (as, bs) => as.map((a, q) => d2(x, a, bs[q])),
    vjpAt: async (ds, us) => us.map((u, q) => mv(jac(add(x, ds[q])), u, true)),
  };
}

/** The GMM's ε = −σₜ s: J = −σₜ∇²log pₜ, D²ε = −σₜ D²s. */
function gmmOracle(x: Float64Array, t: number): DerivOracle {
  const { s } = noiseScales(t);
  return fieldOracle(
    (p) => gmm.hessian(p, t).map((v) => -s * v),
    (p, a, b) => gmm.d2Score(p, t, a, b).map((v) => -s * v),
    x,
  );
}

describe('exact CMI construction on an exact score (GMM, float64)', () => {
  for (const t of [60, 300, 700]) {
    it(`t = ${t}: I, the hyper-dual and reverse-over-forward gradients, and finite differences of I agree`, async () => {
      const x = point(t);
      const s = setting(t);
      const o = gmmOracle(x, t);
      const J = await denseJacobian(o, 4);
      const jAt = jTimesAt(s, J);
      // I: Sylvester's form from AJAᵀ against the lab's det(Σ)det(Σ⁻¹ + M) form
      const I = mutualInfo(s, jAt);
      expect(Math.abs(I - gmmMutualInfoDense(gmm, x, t, A, M, SIGMA_Y))).toBeLessThan(1e-10 * Math.max(1, I));
      const f = contractionFactors(s, jAt);
      const gHd = await exactGradientHyperDual(o, f, 3);
      const ref = gmmMutualInfoGradientDense(gmm, x, t, A, M, SIGMA_Y).grad;
      // two float64 evaluations of the same contraction: rounding only
      expect(relErr(gHd, ref)).toBeLessThan(1e-9);
      // the reverse-over-forward form by a fourth-order difference of J(x + hw)ᵀu: O(h⁴) + rounding/h
      const gRof = await exactGradientReverse(o, f, 1e-3 * noiseScales(t).s);
      expect(relErr(gRof, ref)).toBeLessThan(1e-6);
      // the second-order stencil (half the passes): O(h²) with h = 1e-3σₜ
      expect(relErr(await exactGradientReverse(o, f, 1e-3 * noiseScales(t).s, 4, 2), ref)).toBeLessThan(1e-4);
      // directional finite differences of I along ∇I and a random direction; the step is a small
      // fraction of the noise level σₜ, the scale on which pₜ varies
      for (const dir of [ref, rng.normals(D)]) {
        const fd = await finiteDifferenceI(s, o, dir, 1e-3 * noiseScales(t).s);
        const exact = ref.reduce((acc, g, k) => acc + (g * dir[k]) / Math.hypot(...dir), 0);
        expect(Math.abs(fd - exact)).toBeLessThan(1e-6 * Math.hypot(...ref));
        const fd2 = await finiteDifferenceI(s, o, dir, 1e-3 * noiseScales(t).s, 2);
        expect(Math.abs(fd2 - exact)).toBeLessThan(1e-4 * Math.hypot(...ref));
      }
    });
  }

  it('Hutchinson pairs (exact Σ⁻¹) over all 2^D sign probes average to the exact gradient', async () => {
    const t = 300;
    const x = point(t);
    const s = setting(t);
    const o = gmmOracle(x, t);
    const J = await denseJacobian(o);
    const ref = await exactGradientHyperDual(o, contractionFactors(s, jTimesAt(s, J)));
    const solvers = hutchinsonSolvers(s, 'exact', J);
    const as: Float64Array[] = [],
      bs: Float64Array[] = [];
    for (let b = 0; b < 1 << D; b++) {
      const v = Float64Array.from({ length: D }, (_, i) => ((b >> i) & 1 ? -1 : 1));
      const p = hutchinsonPair(s, 'exact', v, solvers);
      as.push(p.a);
      bs.push(p.b);
    }
    const h = await o.d2(as, bs);
    const { c } = { c: -0.5 * ((1 - s.alphaBar) / s.alphaBar) * Math.sqrt(1 - s.alphaBar) };
    const est = new Float64Array(D);
    h.forEach((v) => v.forEach((q, k) => (est[k] += (c * q) / h.length)));
    expect(relErr(est, ref)).toBeLessThan(1e-9);
    // the isotropic estimator targets another matrix: its full-sign average is not the exact gradient
    const iso = hutchinsonSolvers(s, 'isotropic', null);
    const isoH = await o.d2(
      ...(() => {
        const a2: Float64Array[] = [],
          b2: Float64Array[] = [];
        for (let b = 0; b < 1 << D; b++) {
          const v = Float64Array.from({ length: D }, (_, i) => ((b >> i) & 1 ? -1 : 1));
          const p = hutchinsonPair(s, 'isotropic', v, iso);
          a2.push(p.a);
          b2.push(p.b);
        }
        return [a2, b2] as const;
      })(),
    );
    const isoEst = new Float64Array(D);
    isoH.forEach((v) => v.forEach((q, k) => (isoEst[k] += (c * q) / isoH.length)));
    expect(relErr(isoEst, ref)).toBeGreaterThan(1e-3);
  });
});

describe('kDiagnostics', () => {
  it('a symmetric K: no asymmetry amplification, σ_min = the smallest eigenvalue, log det = Σ log λ', async () => {
    const t = 300;
    const x = point(t);
    const J = await denseJacobian(gmmOracle(x, t));
    const k = kDiagnostics(J, D, alphaBar(t), 60);
    const { s } = noiseScales(t);
    const K = J.map((v, i) => -s * v + (i % (D + 1) === 0 ? 1 : 0));
    const eig = symEig(K, D).values;
    expect(k.asymmetryAmplification).toBeLessThan(1e-10);
    expect(k.sign).toBe(1);
    expect(Math.abs(k.logAbsDet - eig.reduce((a, v) => a + Math.log(v), 0))).toBeLessThan(1e-9);
    expect(k.sigmaMin / Math.min(...eig)).toBeCloseTo(1, 6);
  });
});

describe('a non-conservative ε (non-symmetric Jacobian)', () => {
  // εᵢ(x) = Σⱼ Bᵢⱼxⱼ + ½ Σⱼₖ Qᵢⱼₖ xⱼxₖ with Qᵢⱼₖ = Qᵢₖⱼ but not symmetric in i ↔ j:
  // Jᵢⱼ = Bᵢⱼ + Σₖ Qᵢⱼₖxₖ, ∂ₖJᵢⱼ = Qᵢⱼₖ, D²ε[a, b]ᵢ = Σⱼₖ Qᵢⱼₖ aⱼbₖ.
  const r = new Rng64(8);
  const B = r.normals(D * D).map((v) => 0.1 * v);
  const Q = new Float64Array(D * D * D);
  for (let i = 0; i < D; i++)
    for (let j = 0; j < D; j++)
      for (let k = j; k < D; k++) Q[(i * D + j) * D + k] = Q[(i * D + k) * D + j] = 0.1 * r.normal();
  const jac = (x: Float64Array) =>
    Float64Array.from({ length: D * D }, (_, ij) => {
      const i = Math.floor(ij / D),
        j = ij % D;
      let s = B[ij];
      for (let k = 0; k < D; k++) s += Q[(i * D + j) * D + k] * x[k];
      return s;
    });
  const d2 = (_x: Float64Array, a: Float64Array, b: Float64Array) =>
    Float64Array.from({ length: D }, (_, i) => {
      let s = 0;
      for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) s += Q[(i * D + j) * D + k] * a[j] * b[k];
      return s;
    });

  it('finite differences of I follow the reverse-over-forward form, not the hyper-dual one', async () => {
    const t = 500;
    const x = r.normals(D).map((v) => 0.2 * v);
    const s = setting(t);
    const o = fieldOracle(jac, d2, x);
    const jAt = jTimesAt(s, await denseJacobian(o));
    const f = contractionFactors(s, jAt);
    const gRof = await exactGradientReverse(o, f, 1e-3);
    const gHd = await exactGradientHyperDual(o, f);
    for (const dir of [gRof, r.normals(D)]) {
      const fd = await finiteDifferenceI(s, o, dir, 1e-3);
      const exact = gRof.reduce((acc, g, k) => acc + (g * dir[k]) / Math.hypot(...dir), 0);
      // ε is quadratic, so I's dependence on x is smooth and the fourth-order differences are exact to
      // rounding: 1e-7 of ‖∇I‖ leaves room for the cancellation in (8(I₊ − I₋) − …)/12h at h = 1e-3
      expect(Math.abs(fd - exact)).toBeLessThan(1e-7 * Math.hypot(...gRof));
    }
    // the two forms differ by O(1) for a generic non-symmetric Q
    expect(relErr(gHd, gRof)).toBeGreaterThan(0.1);
    expect(cosine(gHd, gRof)).toBeLessThan(0.99);
  });
});

describe('Lu', () => {
  it('solves A x = b and Aᵀ x = b and gives log|det|', () => {
    const n = 7;
    const r = new Rng64(3);
    const a = r.normals(n * n);
    const lu = new Lu(a, n);
    const b = r.normals(n);
    const x = lu.solve(b),
      xt = lu.solveT(b);
    for (let i = 0; i < n; i++) {
      let s = 0,
        st = 0;
      for (let k = 0; k < n; k++) ((s += a[i * n + k] * x[k]), (st += a[k * n + i] * xt[k]));
      expect(Math.abs(s - b[i])).toBeLessThan(1e-12);
      expect(Math.abs(st - b[i])).toBeLessThan(1e-12);
    }
    // det of a 2×2 block-diagonal with a known determinant
    const diag = new Lu([2, 0, 0, 0, -3, 0, 0, 0, 0.5], 3);
    expect(diag.logAbsDet).toBeCloseTo(Math.log(3), 14);
    expect(diag.sign).toBe(-1);
  });
});

describe('the GPU oracle (float32 network passes)', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await getTestEngine();
  });

  it('matches the float64 GMM oracle: Jacobian, hyper-dual sum and vjps', async () => {
    const t = 300;
    const x = point(t);
    const s = setting(t);
    const prior = new GaussianMixturePrior(e, gmm);
    const gpu = modelOracle(e, prior, x, t, 4);
    const cpu = gmmOracle(x, t);
    const Jg = await denseJacobian(gpu, 4),
      Jc = await denseJacobian(cpu);
    // float32 network passes: ~1e-6 relative
    expect(relErr(Jg, Jc)).toBeLessThan(1e-4);
    const f = contractionFactors(s, jTimesAt(s, Jc));
    const gg = await exactGradientHyperDual(gpu, f, 4),
      gc = await exactGradientHyperDual(cpu, f);
    expect(relErr(gg, gc)).toBeLessThan(1e-4);
    const u = [rng.normals(D)],
      dl = [rng.normals(D).map((v) => 0.01 * v)];
    const vg = await gpu.vjpAt(dl, u),
      vc = await cpu.vjpAt(dl, u);
    expect(relErr(vg[0], vc[0])).toBeLessThan(1e-4);
    prior.destroy();
  });
});
