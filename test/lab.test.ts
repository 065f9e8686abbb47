// Analytic priors of the validation lab: GPU ε/JVP/VJP/d2 against their float64 host twins, and the
// host twins against finite differences of log pₜ.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { GaussianCirculantPrior } from '../src/lab/gaussian-circulant.js';
import { syntheticTexture } from '../src/lab/textures.js';
import { Rng64 } from '../src/lab/rng64.js';
import { noiseScales } from '../src/lab/schedule64.js';
import { getTestEngine, relMaxErr } from './helpers.js';
import { SpectralFilter } from '../src/lab/spectral-filter.js';
import { fftChannels, ifftChannels } from '../src/lab/circulant.js';
import { negFreq } from '../src/lab/fft64.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

const f32 = (a: ArrayLike<number>) => Float32Array.from(a as ArrayLike<number>);

/** Batch of N images drawn around the prior's scale. */
function batch(N: number, D: number, seed: number, scale = 1): Float64Array {
  const r = new Rng64(seed);
  return r.normals(N * D).map((v) => v * scale);
}

describe('stationary Gaussian (ADSN) prior', () => {
  for (const C of [1, 3] as const) {
    it(`C=${C}: GPU ε, JVP, VJP, d2 match the float64 closed form (8×8 and 6×10)`, async () => {
      for (const [H, W] of [
        [8, 8],
        [6, 10],
      ]) {
        const prior = GaussianCirculantPrior.fromExample(e, syntheticTexture(C, H, W, 3), C, H, W);
        const D = C * H * W,
          N = 3;
        const t = [999, 500, 3];
        const x = batch(N, D, 11),
          v = batch(N, D, 12),
          u = batch(N, D, 13);
        const xt = e.upload(f32(x), [N, C, H, W]),
          vt = e.upload(f32(v), [N, C, H, W]),
          ut = e.upload(f32(u), [N, C, H, W]);
        const out = await e.read(prior.forward(xt, t));
        const jv = prior.jvp(xt, t, vt);
        const vj = prior.vjp(xt, t, ut);
        const d2 = prior.d2(xt, t, ut, vt);
        const [tan, grad, d2o, d2v] = [
          await e.read(jv.tangent),
          await e.read(vj.grad),
          await e.read(d2.d2),
          await e.read(d2.dv),
        ];
        for (let n = 0; n < N; n++) {
          const sl = (a: ArrayLike<number>) => Array.prototype.slice.call(a, n * D, (n + 1) * D) as number[];
          const refEps = prior.eps64(sl(x), t[n]);
          const s = noiseScales(t[n]).s;
          // JVP of ε is linear: ε(v) − ε(0)
          const zero = new Array(D).fill(0);
          const e0 = prior.eps64(zero, t[n]);
          const refJv = prior.eps64(sl(v), t[n]).map((q, i) => q - e0[i]);
          const refVj = prior.eps64(sl(u), t[n]).map((q, i) => q - e0[i]);
          // float32 direct DFTs of length ≤ 10: error ~ 1e-6 of the largest value; 1e-4 leaves ample room
          expect(relMaxErr(sl(out), refEps)).toBeLessThan(1e-4);
          expect(relMaxErr(sl(tan), refJv)).toBeLessThan(1e-4);
          expect(relMaxErr(sl(grad), refVj)).toBeLessThan(1e-4);
          expect(relMaxErr(sl(d2v), refJv)).toBeLessThan(1e-4);
          expect(s).toBeGreaterThan(0);
        }
        expect(Math.max(...d2o.map(Math.abs))).toBe(0);
        // forwardWithVjp: the same ε and uᵀ∂ε/∂x
        const fv = prior.forwardWithVjp(xt, t);
        const [fo, fg] = [await e.read(fv.out), await e.read(fv.backward(ut))];
        fv.release();
        expect(relMaxErr(fo, out)).toBeLessThan(1e-6);
        expect(relMaxErr(fg, grad)).toBeLessThan(1e-6);
        prior.destroy();
      }
    });

    it(`C=${C}: score = ∇ log pₜ by central finite differences (float64)`, () => {
      const H = 6,
        W = 6,
        D = C * H * W;
      const prior = GaussianCirculantPrior.fromExample(e, syntheticTexture(C, H, W, 5), C, H, W);
      const rng = new Rng64(7);
      for (const t of [0, 40, 700]) {
        const { a } = noiseScales(t);
        const x = prior.sample64(rng).map((v, i) => a * v + 0.3 * rng.normal());
        const s = prior.score64(x, t);
        const h = 1e-5;
        let err = 0,
          scale = 0;
        for (let i = 0; i < D; i++) {
          const xp = Float64Array.from(x),
            xm = Float64Array.from(x);
          xp[i] += h;
          xm[i] -= h;
          const fd = (prior.logDensity64(xp, t) - prior.logDensity64(xm, t)) / (2 * h);
          err = Math.max(err, Math.abs(fd - s[i]));
          scale = Math.max(scale, Math.abs(s[i]));
        }
        // central differences: O(h²·∂³) = 0 for a quadratic; what remains is cancellation, ~1e-10·|log p|/h
        expect(err / scale).toBeLessThan(1e-6);
      }
      prior.destroy();
    });
  }

  it('spectral filter: the shared-FFT path equals the direct-DFT path and the float64 reference (C = 1, 3; with offsets)', async () => {
    const rng = new Rng64(17);
    for (const C of [1, 3]) {
      for (const [H, W] of [
        [16, 16],
        [12, 20],
      ]) {
        const N = 3,
          S = 2,
          D = C * H * W; // odd N: the paired path's last image pairs with zero
        const fast = new SpectralFilter(e, C, H, W),
          slow = new SpectralFilter(e, C, H, W, false);
        expect(fast.useFft).toBe(true);
        expect(slow.useFft).toBe(false);
        // a real filter: M(−ξ) = conj M(ξ) (what every lab table is; the paired-FFT path relies on it)
        const table = Float32Array.from(rng.normals(S * fast.slotSize));
        for (let sl = 0; sl < S; sl++)
          for (let f = 0; f < H * W; f++) {
            const g = negFreq(f, H, W);
            for (let q = 0; q < C * C; q++) {
              const [of, og] = [((sl * H * W + f) * C * C + q) * 2, ((sl * H * W + g) * C * C + q) * 2];
              if (g === f) table[of + 1] = 0;
              else if (f < g) {
                table[og] = table[of];
                table[og + 1] = -table[of + 1];
              }
            }
          }
        const offset = Float32Array.from(rng.normals(S * D));
        const slotsArr = Uint32Array.from([1, 0, 1]);
        const x = rng.normals(N * D);
        const [tt, ot, st, xt] = [
          e.upload(table, [S, fast.slotSize]),
          e.upload(offset, [S, D]),
          e.upload(slotsArr, [N]),
          e.upload(Float32Array.from(x), [N, C, H, W]),
        ];
        const a = await e.read(fast.apply(xt, tt, st, ot));
        const b = await e.read(slow.apply(xt, tt, st, ot));
        // float64 reference: per image, F⁻¹ M F x (complex matrices per frequency; the result's real part) + offset
        const hw = H * W;
        for (let n = 0; n < N; n++) {
          const { re, im } = fftChannels(x.slice(n * D, (n + 1) * D), C, H, W);
          const or = new Float64Array(D),
            oi = new Float64Array(D);
          for (let f = 0; f < hw; f++)
            for (let c = 0; c < C; c++)
              for (let d = 0; d < C; d++) {
                const o = ((slotsArr[n] * hw + f) * C * C + c * C + d) * 2;
                const mr = table[o],
                  mi = table[o + 1],
                  xr = re[d * hw + f],
                  xi = im[d * hw + f];
                or[c * hw + f] += mr * xr - mi * xi;
                oi[c * hw + f] += mr * xi + mi * xr;
              }
          const ref = ifftChannels(or, oi, C, H, W).map((v, i) => v + offset[slotsArr[n] * D + i]);
          // float32 FFT / direct DFT over ≤ 20 points: ~1e-6 of the largest value
          expect(relMaxErr(a.slice(n * D, (n + 1) * D), ref)).toBeLessThan(1e-5);
          expect(relMaxErr(b.slice(n * D, (n + 1) * D), ref)).toBeLessThan(1e-5);
        }
        fast.destroy();
        slow.destroy();
      }
    }
  });

  it('ADSN sample covariance matches the closed-form spectrum (pixel variance = texture variance)', () => {
    const H = 8,
      W = 8;
    const tex = syntheticTexture(1, H, W, 9);
    const prior = GaussianCirculantPrior.fromExample(e, tex, 1, H, W);
    const m = tex.reduce((a, b) => a + b, 0) / tex.length;
    const v = tex.reduce((a, b) => a + (b - m) ** 2, 0) / tex.length;
    // tr Σ / D = Σ_ξ λ(ξ) / HW² per pixel = the texture's empirical variance
    const trace = prior.spectrum.lambda.reduce((a, b) => a + b, 0) / (H * W);
    expect(Math.abs(trace - v) / v).toBeLessThan(1e-12);
    prior.destroy();
  });
});

// ---------------------------------------------------------------------------------------------- GMM
import {
  GaussianMixturePrior,
  GmmDense,
  gmmMutualInfoDense,
  gmmMutualInfoGradientDense,
  randomGmmSpec,
} from '../src/lab/gmm.js';

function fdCheck(f: (x: Float64Array) => Float64Array | number, x: Float64Array, dir: Float64Array, h: number) {
  const xp = x.map((v, i) => v + h * dir[i]),
    xm = x.map((v, i) => v - h * dir[i]);
  const fp = f(xp),
    fm = f(xm);
  if (typeof fp === 'number') return (fp - (fm as number)) / (2 * h);
  return (fp as Float64Array).map((v, i) => (v - (fm as Float64Array)[i]) / (2 * h));
}

describe('Gaussian mixture prior', () => {
  const spec = randomGmmSpec({ shape: [1, 3, 3], components: 3, rank: 2, seed: 4, spread: 0.5, scale: 0.05 });
  const gmm = new GmmDense(spec);
  const D = gmm.D;
  const rng = new Rng64(21);
  // points between the modes, where responsibilities are mixed and third derivatives are large
  const point = (t: number) => {
    const { a, s } = noiseScales(t);
    const x0 = gmm.means[0].map((v, i) => 0.5 * v + 0.5 * gmm.means[1][i]);
    return x0.map((v) => a * v + 0.5 * s * rng.normal());
  };

  it('float64: score, Hessian, D²s and the third-derivative tensor against central differences', () => {
    for (const t of [20, 200, 800]) {
      const x = point(t);
      const u = rng.normals(D),
        v = rng.normals(D);
      const h = 1e-5;
      // ∂_u log p vs score·u
      const fd1 = fdCheck((y) => gmm.logDensity(y, t), x, u, h) as number;
      const s = gmm.score(x, t);
      expect(Math.abs(fd1 - s.reduce((p, q, i) => p + q * u[i], 0)) / Math.max(1, Math.abs(fd1))).toBeLessThan(1e-6);
      // Hessian·u vs FD of the score
      const H = gmm.hessian(x, t);
      const Hu = Float64Array.from({ length: D }, (_, i) =>
        H.slice(i * D, (i + 1) * D).reduce((p, q, j) => p + q * u[j], 0),
      );
      expect(relMaxErr(fdCheck((y) => gmm.score(y, t), x, u, h) as Float64Array, Hu)).toBeLessThan(1e-6);
      // D²s[u, v] vs FD of H(x)v along u
      const Hv = (y: Float64Array) => {
        const Hy = gmm.hessian(y, t);
        return Float64Array.from({ length: D }, (_, i) =>
          Hy.slice(i * D, (i + 1) * D).reduce((p, q, j) => p + q * v[j], 0),
        );
      };
      const d2 = gmm.d2Score(x, t, u, v);
      expect(relMaxErr(fdCheck(Hv, x, u, h) as Float64Array, d2)).toBeLessThan(1e-5);
      // the tensor contracts to the same directional derivative, and is fully symmetric
      const T = gmm.thirdDerivative(x, t);
      const d2T = Float64Array.from({ length: D }, (_, c) => {
        let acc = 0;
        for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) acc += T[(a * D + b) * D + c] * u[a] * v[b];
        return acc;
      });
      expect(relMaxErr(d2T, d2)).toBeLessThan(1e-10);
      let asym = 0,
        mag = 0;
      for (let a = 0; a < D; a++)
        for (let b = 0; b < D; b++)
          for (let c = 0; c < D; c++) {
            const ref = T[(a * D + b) * D + c];
            mag = Math.max(mag, Math.abs(ref));
            asym = Math.max(
              asym,
              Math.abs(ref - T[(b * D + c) * D + a]),
              Math.abs(ref - T[(c * D + a) * D + b]),
              Math.abs(ref - T[(b * D + a) * D + c]),
            );
          }
      expect(asym / mag).toBeLessThan(1e-10);
    }
  });

  it('GPU ε, JVP, VJP and hyper-dual d2 match the float64 closed forms', async () => {
    for (const shape of [
      [1, 3, 3],
      [1, 8, 8],
    ] as const) {
      const sp = randomGmmSpec({ shape, components: 4, rank: 2, seed: 8, spread: 0.5, scale: 0.05 });
      const prior = GaussianMixturePrior.fromSpec(e, sp);
      const g = prior.dense,
        Dm = g.D,
        N = 4;
      const t = [900, 400, 150, 60];
      const xs: Float64Array[] = t.map((tn) => {
        const { a, s } = noiseScales(tn);
        return g.means[0].map((v, i) => a * (0.6 * v + 0.4 * g.means[1][i]) + 0.3 * s * rng.normal());
      });
      const ws = t.map(() => rng.normals(Dm)),
        vs = t.map(() => rng.normals(Dm));
      const up = (arr: Float64Array[]) => e.upload(Float32Array.from(arr.flatMap((a) => Array.from(a))), [N, ...shape]);
      const [xt, wt, vt] = [up(xs), up(ws), up(vs)];
      const r = prior.d2(xt, t, wt, vt);
      const [out, dw, dv, d2] = [await e.read(r.out), await e.read(r.dw), await e.read(r.dv), await e.read(r.d2)];
      const vj = prior.vjp(xt, t, wt);
      const grad = await e.read(vj.grad);
      const fw = await e.read(prior.forward(xt, t));
      for (let n = 0; n < N; n++) {
        const sl = (a: Float32Array) => a.slice(n * Dm, (n + 1) * Dm);
        const s = noiseScales(t[n]).s;
        const refEps = g.eps(xs[n], t[n]);
        const H = g.hessian(xs[n], t[n]);
        const Jw = Float64Array.from(
          { length: Dm },
          (_, i) => -s * H.slice(i * Dm, (i + 1) * Dm).reduce((p, q, j) => p + q * ws[n][j], 0),
        );
        const Jv = Float64Array.from(
          { length: Dm },
          (_, i) => -s * H.slice(i * Dm, (i + 1) * Dm).reduce((p, q, j) => p + q * vs[n][j], 0),
        );
        const refD2 = g.d2Score(xs[n], t[n], ws[n], vs[n]).map((q) => -s * q);
        // float32: ε and the first derivatives ~1e-6 relative. D²ε is small next to its terms where the
        // components' zₖ nearly agree (t = 900: a ≈ 0.017, D²ε ≈ 1e-6 of ε's terms); measured up to 2.3e-3 at
        // t = 900 and ≤ 1e-5 at t ≤ 400
        expect(relMaxErr(sl(out), refEps)).toBeLessThan(1e-4);
        expect(relMaxErr(sl(fw), refEps)).toBeLessThan(1e-4);
        expect(relMaxErr(sl(dw), Jw)).toBeLessThan(1e-4);
        expect(relMaxErr(sl(dv), Jv)).toBeLessThan(1e-4);
        expect(relMaxErr(sl(grad), Jw)).toBeLessThan(1e-4);
        expect(relMaxErr(sl(d2), refD2)).toBeLessThan(t[n] > 800 ? 1e-2 : 1e-4);
      }
      prior.destroy();
    }
  });

  it('brute-force ∇ₓI(x₀; y | xₜ) equals central differences of I (float64)', () => {
    const m = 4;
    const A = rng.normals(m * D).map((v) => v / Math.sqrt(D));
    for (const t of [100, 500]) {
      const x = point(t);
      const { grad } = gmmMutualInfoGradientDense(gmm, x, t, A, m, 0.1);
      const fd = Float64Array.from({ length: D }, (_, k) => {
        const dir = new Float64Array(D);
        dir[k] = 1;
        return fdCheck((y) => gmmMutualInfoDense(gmm, y, t, A, m, 0.1), x, dir, 1e-5) as number;
      });
      expect(relMaxErr(fd, grad)).toBeLessThan(1e-5);
    }
  });
});

// ---------------------------------------------------------------------------------------------- CMI
import { cmiGradient } from '../src/samplers/cmi.js';
import type { SamplerContext } from '../src/samplers/context.js';
import { NoiseStreams } from '../src/samplers/noise.js';
import { createSchedule } from '../src/samplers/schedule.js';
import { CircularBlurOperator, MaskOperator } from '../src/lab/lab-operators.js';
import { gaussianKernel } from '../src/lab/exact-posterior.js';

describe('CMI on the Gaussian prior', () => {
  // ∇²log pₜ = −Σₜ⁻¹ does not depend on x, so ∂ₖΣ_post = 0 and ∇ₓI(x₀; y | xₜ) = 0: the estimator's
  // D²s[Σ⁻¹v, MΣ_y v] is an exact zero (the prior's d2 returns zeros), whatever the probes and Σ⁻¹ mode.
  it('the samplers’ Hutchinson CMI gradient is exactly zero (deblur and inpainting, exact and isotropic Σ⁻¹)', async () => {
    const N = 2,
      C = 1,
      H = 8,
      W = 8;
    const shape = [N, C, H, W] as const;
    const prior = GaussianCirculantPrior.fromExample(e, syntheticTexture(C, H, W, 4), C, H, W);
    const sched = createSchedule();
    const rng = new Rng64(3);
    const ops = [
      new CircularBlurOperator(e, gaussianKernel(3, 0.8), 3, 3, shape),
      MaskOperator.box(e, shape, 2, 2, 4, 4),
    ];
    for (const op of ops) {
      const ctx: SamplerContext = {
        e,
        model: prior,
        op,
        noise: { kind: 'gaussian', level: 0.05 },
        y: e.upload(Float32Array.from(rng.normals(N * C * H * W)), [...shape]),
        sched,
        shape,
        clip: false,
        varType: 'fixed_large',
        streams: new NoiseStreams(e, shape, [7, 8]),
      };
      for (const t of [50, 500]) {
        const x = e.upload(Float32Array.from(rng.normals(N * C * H * W)), [...shape]);
        for (const sigmaInv of ['exact', 'isotropic'] as const) {
          const g = await cmiGradient(ctx, t, 0, x, {
            r: 2,
            eta: { kind: 'constant', eta: 1 },
            sigmaInv,
            cg: { iters: 4 },
          });
          const v = await e.read(g.grad);
          expect(Math.max(...v.map(Math.abs))).toBe(0);
          e.release(g.grad, g.guarded);
        }
        e.release(x);
      }
      (op as CircularBlurOperator | MaskOperator).destroy();
    }
    prior.destroy();
  });
});
