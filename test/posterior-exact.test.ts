// Exact posteriors of the validation lab and the exact-covariance guidance that must converge to them.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { GaussianCirculantPrior } from '../src/lab/gaussian-circulant.js';
import { spectralDense } from '../src/lab/circulant.js';
import {
  CirculantDeblurPosterior,
  MaskedGaussianPosterior,
  applyCircularBlur64,
  circularBlurTransfer,
  gaussianKernel,
  gaussianPosteriorDense,
  gmmPosterior,
} from '../src/lab/exact-posterior.js';
import {
  ExactCovarianceGuidance,
  exactGuidedMomentsCirculant,
  exactGuidedMomentsDense,
  gaussianGuidanceOps,
  sampleWithEps,
} from '../src/lab/exact-guidance.js';
import { CircularBlurOperator, DenseMatrixOperator, MaskOperator } from '../src/lab/lab-operators.js';
import { GmmDense, randomGmmSpec } from '../src/lab/gmm.js';
import { sampleMeanCov, w2GaussianCirculant, w2GaussianDense } from '../src/lab/metrics.js';
import { Rng64 } from '../src/lab/rng64.js';
import { syntheticTexture } from '../src/lab/textures.js';
import { getTestEngine, relMaxErr } from './helpers.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

/** Dense matrix of a linear map on [D] vectors. */
function denseOf(f: (x: Float64Array) => Float64Array, D: number, m = D): Float64Array {
  const A = new Float64Array(m * D);
  for (let j = 0; j < D; j++) {
    const ej = new Float64Array(D);
    ej[j] = 1;
    const col = f(ej);
    for (let i = 0; i < m; i++) A[i * D + j] = col[i];
  }
  return A;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('closed-form posteriors against dense linear algebra (float64)', () => {
  for (const C of [1, 3] as const) {
    it(`circulant deblurring, C=${C}: per-frequency mean and covariance = dense formulas`, () => {
      const H = 5,
        W = 6,
        D = C * H * W;
      const prior = GaussianCirculantPrior.fromExample(e, syntheticTexture(C, H, W, 2), C, H, W);
      const b = circularBlurTransfer(gaussianKernel(3, 0.8), 3, 3, H, W);
      const rng = new Rng64(3);
      const x = prior.sample64(rng);
      const y = applyCircularBlur64(prior.spectrum, b, x).map((v) => v + 0.05 * rng.normal());
      const post = new CirculantDeblurPosterior(prior, b, y, 0.05);
      const A = denseOf((v) => applyCircularBlur64(prior.spectrum, b, v), D);
      const ref = gaussianPosteriorDense(prior.mean, spectralDense(prior.spectrum), A, D, y, 0.05);
      expect(maxAbs(post.mean, ref.mean)).toBeLessThan(1e-10);
      expect(maxAbs(spectralDense(prior.spectrum, post.covFn), ref.cov)).toBeLessThan(1e-10);
      prior.destroy();
    });
  }

  it('masked (inpainting) posterior: CG mean, dense covariance, and Matheron samples', () => {
    const H = 4,
      W = 4,
      D = H * W;
    const prior = GaussianCirculantPrior.fromExample(e, syntheticTexture(1, H, W, 6), 1, H, W);
    const mask = new Float64Array(D).fill(1);
    for (const i of [5, 6, 9, 10]) mask[i] = 0;
    const rng = new Rng64(4);
    const x = prior.sample64(rng);
    const y = x.map((v, i) => mask[i] * (v + 0.05 * rng.normal()));
    const post = new MaskedGaussianPosterior(prior, mask, y, 0.05);
    const A = new Float64Array(D * D);
    for (let i = 0; i < D; i++) A[i * D + i] = mask[i];
    const ref = gaussianPosteriorDense(prior.mean, spectralDense(prior.spectrum), A, D, y, 0.05);
    expect(maxAbs(post.mean, ref.mean)).toBeLessThan(1e-8);
    expect(maxAbs(post.denseCov(), ref.cov)).toBeLessThan(1e-10);
    // 4000 exact draws: the fitted Gaussian is within the estimator's noise of the exact one
    // (E W2² ≈ tr Σ/N for the mean plus O(D·‖Σ‖/N) for the covariance: ~0.02 here)
    const samples = Array.from({ length: 4000 }, () => post.sample(rng));
    const fit = sampleMeanCov(samples);
    const w = w2GaussianDense(fit.mean, fit.cov, ref.mean, ref.cov, D);
    const spread = Math.sqrt(ref.cov.reduce((s, v, i) => s + (i % (D + 1) === 0 ? v : 0), 0));
    expect(w.w2 / spread).toBeLessThan(0.05);
    prior.destroy();
  });

  it('GMM posterior = prior × likelihood up to a constant, and its weights sum to one', () => {
    const gmm = new GmmDense(randomGmmSpec({ shape: [1, 2, 3], components: 3, rank: 1, seed: 5, scale: 0.05 }));
    const D = gmm.D,
      m = 3;
    const rng = new Rng64(8);
    const A = rng.normals(m * D).map((v) => v / Math.sqrt(D));
    const x = gmm.sample(rng);
    const sy = 0.1;
    const y = Array.from(
      { length: m },
      (_, i) => A.slice(i * D, (i + 1) * D).reduce((s, v, j) => s + v * x[j], 0) + sy * rng.normal(),
    );
    const post = gmmPosterior(gmm, A, m, y, sy);
    const loglik = (z: Float64Array) => {
      let q = 0;
      for (let i = 0; i < m; i++) q += (y[i] - A.slice(i * D, (i + 1) * D).reduce((s, v, j) => s + v * z[j], 0)) ** 2;
      return -q / (2 * sy * sy);
    };
    const diffs = Array.from({ length: 20 }, () => {
      const z = gmm.sample(rng).map((v) => v + 0.1 * rng.normal());
      return post.logDensity0(z) - gmm.logDensity0(z) - loglik(z);
    });
    const spreadD = Math.max(...diffs) - Math.min(...diffs);
    expect(spreadD).toBeLessThan(1e-8);
    expect(Math.abs(Math.exp(post.logPi[0]) + Math.exp(post.logPi[1]) + Math.exp(post.logPi[2]) - 1)).toBeLessThan(
      1e-12,
    );
  });
});

describe('exact-covariance guidance converges to the exact posterior', () => {
  // W2 of the guided sampler's exact output law (propagated in float64) to the exact posterior, relative
  // to the posterior's spread √tr Σ_post. DDPM with the fixed-small variance keeps a discretisation error
  // even on the full 1000-step schedule (the true reverse kernel is wider than β̃ₜ); measured ≈ 0.03.
  it('deblurring (circulant, 8×8 gray and 6×6 colour): W2 decreases with NFE, < 0.1·spread at 1000', () => {
    for (const [C, H, W] of [
      [1, 8, 8],
      [3, 6, 6],
    ] as const) {
      const prior = GaussianCirculantPrior.fromExample(e, syntheticTexture(C, H, W, 3), C, H, W);
      const b = circularBlurTransfer(gaussianKernel(5, 1.0), 5, 5, H, W);
      const rng = new Rng64(5);
      const y = applyCircularBlur64(prior.spectrum, b, prior.sample64(rng)).map((v) => v + 0.05 * rng.normal());
      const post = new CirculantDeblurPosterior(prior, b, y, 0.05);
      const blocks = post.blocks();
      const spread = Math.sqrt(prior.spectrum.lambda.reduce((s, l, i) => s + post.covFn(l, i), 0));
      for (const base of ['ddpm', 'ddim'] as const) {
        const w2 = [10, 20, 50, 100, 250, 1000].map((nfe) => {
          const mo = exactGuidedMomentsCirculant(prior, b, y, 0.05, { nfe, base });
          return w2GaussianCirculant(mo.mean, mo.blocks, post.mean, blocks).w2 / spread;
        });
        for (let k = 1; k < w2.length; k++) expect(w2[k]).toBeLessThan(w2[k - 1]);
        expect(w2[w2.length - 1]).toBeLessThan(0.1);
      }
      prior.destroy();
    }
  });

  it('inpainting (dense 6×6): W2 decreases with NFE, < 0.1·spread at 1000', () => {
    const H = 6,
      W = 6,
      D = H * W;
    const prior = GaussianCirculantPrior.fromExample(e, syntheticTexture(1, H, W, 7), 1, H, W);
    const mask = new Float64Array(D).fill(1);
    for (let yy = 1; yy < 4; yy++) for (let xx = 2; xx < 5; xx++) mask[yy * W + xx] = 0;
    const rng = new Rng64(9);
    const y = prior.sample64(rng).map((v, i) => mask[i] * (v + 0.05 * rng.normal()));
    const post = new MaskedGaussianPosterior(prior, mask, y, 0.05);
    const cov = post.denseCov();
    const spread = Math.sqrt(cov.reduce((s, v, i) => s + (i % (D + 1) === 0 ? v : 0), 0));
    const A = new Float64Array(D * D);
    for (let i = 0; i < D; i++) A[i * D + i] = mask[i];
    const Sigma = spectralDense(prior.spectrum);
    const w2 = [10, 50, 250, 1000].map((nfe) => {
      const mo = exactGuidedMomentsDense(prior.mean, Sigma, A, D, y, 0.05, { nfe });
      return w2GaussianDense(mo.mean, mo.cov, post.mean, cov, D).w2 / spread;
    });
    for (let k = 1; k < w2.length; k++) expect(w2[k]).toBeLessThan(w2[k - 1]);
    expect(w2[w2.length - 1]).toBeLessThan(0.1);
    prior.destroy();
  });

  it('dense and per-frequency propagation agree (deblurring, 4×4)', () => {
    const H = 4,
      W = 4,
      D = H * W;
    const prior = GaussianCirculantPrior.fromExample(e, syntheticTexture(1, H, W, 1), 1, H, W);
    const b = circularBlurTransfer(gaussianKernel(3, 0.7), 3, 3, H, W);
    const rng = new Rng64(2);
    const y = applyCircularBlur64(prior.spectrum, b, prior.sample64(rng)).map((v) => v + 0.05 * rng.normal());
    const A = denseOf((v) => applyCircularBlur64(prior.spectrum, b, v), D);
    for (const base of ['ddpm', 'ddim'] as const) {
      const md = exactGuidedMomentsDense(prior.mean, spectralDense(prior.spectrum), A, D, y, 0.05, {
        nfe: 30,
        base,
        eta: 0.5,
      });
      const mc = exactGuidedMomentsCirculant(prior, b, y, 0.05, { nfe: 30, base, eta: 0.5 });
      expect(maxAbs(md.mean, mc.mean)).toBeLessThan(1e-10);
      const covC = spectralDense(prior.spectrum, (s, i) => {
        // blocks of a gray prior are the scalar variances per frequency
        return mc.blocks.blocks[2 * i];
      });
      expect(maxAbs(md.cov, covC)).toBeLessThan(1e-10);
    }
    prior.destroy();
  });
});

describe('GPU: lab operators and the exact-guided sampler', () => {
  it('operators: adjoint identity ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ and blur = float64 twin', async () => {
    const rng = new Rng64(1);
    for (const C of [1, 3]) {
      const H = 6,
        W = 8,
        D = C * H * W;
      const blur = new CircularBlurOperator(e, Float64Array.from(rng.normals(9)), 3, 3, [2, C, H, W]);
      const mask = MaskOperator.box(e, [2, C, H, W], 1, 2, 3, 3);
      const x = rng.normals(2 * D),
        y = rng.normals(2 * D);
      const xt = e.upload(Float32Array.from(x), [2, C, H, W]),
        yt = e.upload(Float32Array.from(y), [2, C, H, W]);
      for (const op of [blur, mask]) {
        const [ax, aty] = [await e.read(op.forward(xt)), await e.read(op.adjoint!(yt))];
        const l = ax.reduce((s, v, i) => s + v * y[i], 0),
          r = aty.reduce((s, v, i) => s + v * x[i], 0);
        expect(Math.abs(l - r) / Math.abs(l)).toBeLessThan(1e-5);
      }
      const ax = await e.read(blur.forward(xt));
      expect(relMaxErr(ax.slice(0, D), blur.apply64(x.slice(0, D)))).toBeLessThan(1e-5);
      blur.destroy();
      mask.destroy();
    }
    const A = rng.normals(5 * 12);
    const dense = new DenseMatrixOperator(e, A, 5, [2, 1, 3, 4]);
    const x = rng.normals(24),
      y = rng.normals(10);
    const [ax, aty] = [
      await e.read(dense.forward(e.upload(Float32Array.from(x), [2, 1, 3, 4]))),
      await e.read(dense.adjoint(e.upload(Float32Array.from(y), [2, 5]))),
    ];
    const l = ax.reduce((s, v, i) => s + v * y[i], 0),
      r = aty.reduce((s, v, i) => s + v * x[i], 0);
    expect(Math.abs(l - r) / Math.abs(l)).toBeLessThan(1e-5);
    dense.destroy();
  });

  it('circular blur SVD view: V orthonormal, U diag(s) Vᵀ = A (gray and colour, even and odd sizes)', async () => {
    const rng = new Rng64(2);
    for (const [C, H, W] of [
      [1, 6, 8],
      [3, 5, 7],
    ] as const) {
      const N = 2,
        D = C * H * W;
      // point-symmetric kernel → real transfer function
      const k = Float64Array.from([0.05, 0.1, 0.05, 0.1, 0.4, 0.1, 0.05, 0.1, 0.05]);
      const blur = new CircularBlurOperator(e, k, 3, 3, [N, C, H, W], 0);
      const x = rng.normals(N * D);
      const xt = e.upload(Float32Array.from(x), [N, C, H, W]);
      const svd = blur.svd;
      const z = svd.vt(xt);
      const [zv, back] = [await e.read(z), await e.read(svd.v(z))];
      expect(relMaxErr(back, x)).toBeLessThan(1e-5);
      for (let n = 0; n < N; n++) {
        const nx = x.slice(n * D, (n + 1) * D).reduce((s, v) => s + v * v, 0);
        const nz = zv.slice(n * D, (n + 1) * D).reduce((s, v) => s + v * v, 0);
        expect(Math.abs(nz / nx - 1)).toBeLessThan(1e-5);
      }
      // U diag(s) Vᵀ x = A x
      const s = await e.read(svd.singulars);
      const sz = e.upload(
        Float32Array.from(zv, (v, i) => v * s[i % D]),
        [N, D],
      );
      const [usv, ax] = [await e.read(svd.u(sz)), await e.read(blur.forward(xt))];
      expect(relMaxErr(usv, ax)).toBeLessThan(1e-5);
      // singulars sorted descending
      for (let i = 1; i < D; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1] + 1e-7);
      // pinv = V diag(1/s) Uᵀ: A A⁺ A = A
      const apa = await e.read(blur.forward(blur.pinv(blur.forward(xt))));
      expect(relMaxErr(apa, ax)).toBeLessThan(1e-4);
      blur.destroy();
    }
  });

  // Monte Carlo: N = 256 GPU samples vs the exactly propagated law of the same sampler. The sample mean's
  // expected squared error is tr(cov)/N; 3× that is a ~1e-3-probability miss for D = 64 (χ²₆₄ tail is far
  // lighter). The per-pixel variance averaged over pixels has relative sd √(2/N) ≈ 9%: allow 25%.
  for (const task of ['deblur-direct', 'deblur-cg', 'inpaint-pcg'] as const) {
    // deblur-cg runs the generic path (K by CG, Cₜ by second-order Tweedie through the prior's JVP)
    const nfe = task === 'deblur-cg' ? 8 : 20;
    it(`sampler output law matches the propagated law (${task}, 8×8, NFE ${nfe}, N = 256)`, async () => {
      const H = 8,
        W = 8,
        D = H * W,
        N = 256;
      const prior = GaussianCirculantPrior.fromExample(e, syntheticTexture(1, H, W, 3), 1, H, W);
      const rng = new Rng64(11);
      const x0 = prior.sample64(rng);
      let yImg: Float64Array, op: CircularBlurOperator | MaskOperator, A: Float64Array;
      if (task === 'inpaint-pcg') {
        const mask = MaskOperator.box(e, [N, 1, H, W], 2, 3, 4, 4);
        op = mask;
        yImg = x0.map((v, i) => mask.mask[i] * (v + 0.05 * rng.normal()));
        A = new Float64Array(D * D);
        for (let i = 0; i < D; i++) A[i * D + i] = mask.mask[i];
      } else {
        const blur = new CircularBlurOperator(e, gaussianKernel(5, 1.0), 5, 5, [N, 1, H, W]);
        op = blur;
        yImg = blur.apply64(x0).map((v) => v + 0.05 * rng.normal());
        A = denseOf((v) => blur.apply64(v), D);
      }
      const yRep = new Float32Array(N * D);
      for (let n = 0; n < N; n++) yRep.set(Float32Array.from(yImg), n * D);
      const yT = e.upload(yRep, [N, 1, H, W]);
      const sy = 0.05;
      const opts = task === 'deblur-cg' ? {} : gaussianGuidanceOps(prior, op, sy);
      const guide = new ExactCovarianceGuidance(prior, op, yT, sy, { ...opts, cgTol: 1e-4, cgMaxIter: 400 });
      const out = await sampleWithEps(e, [N, 1, H, W], (x, t) => guide.eps(x, t), { nfe, seed: 5 });
      const xs = await e.read(out);
      const samples = Array.from({ length: N }, (_, n) => xs.slice(n * D, (n + 1) * D));
      const fit = sampleMeanCov(samples);
      const law = exactGuidedMomentsDense(prior.mean, spectralDense(prior.spectrum), A, D, yImg, sy, { nfe });
      let trc = 0,
        vS = 0,
        vL = 0;
      for (let i = 0; i < D; i++) {
        trc += law.cov[i * D + i];
        vS += fit.cov[i * D + i];
        vL += law.cov[i * D + i];
      }
      const meanErr2 = fit.mean.reduce((s, v, i) => s + (v - law.mean[i]) ** 2, 0);
      expect(meanErr2).toBeLessThan((3 * trc) / N);
      expect(Math.abs(vS / vL - 1)).toBeLessThan(0.25);
      if (task !== 'deblur-direct') expect(guide.lastSolve.relResidual).toBeLessThanOrEqual(1e-4);
      prior.destroy();
      (op as any).destroy();
    });
  }
});

describe('posterior study engine', () => {
  it('runs methods × NFE on a tiny ADSN deblurring task and writes markdown, CSV and a PNG plot', async () => {
    const { runPosteriorStudy } = await import('../src/lab/study.js');
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { PNG } = await import('pngjs');
    const dir = mkdtempSync(join(tmpdir(), 'study-'));
    const settings = {
      engine: e,
      prior: 'adsn:synthetic',
      size: 8,
      task: 'deblur',
      blur: { size: 3, std: 0.8 },
      methods: ['exact', 'dps', 'nosuch'],
      nfe: [5, 20],
      samples: 16,
      outDir: dir,
    };
    const res = await runPosteriorStudy({ ...settings, command: 'test' });
    expect(res.primary).toBe('w2');
    const exact = res.rows.filter((r) => r.method === 'exact');
    expect(exact.map((r) => r.error)).toEqual([undefined, undefined]);
    // the exact method's propagated law gets closer with more steps
    expect(exact[1].metrics.w2_law).toBeLessThan(exact[0].metrics.w2_law);
    expect(res.rows.find((r) => r.method === 'dps')!.metrics.w2).toBeGreaterThan(0);
    expect(res.rows.find((r) => r.method === 'nosuch')!.error).toMatch(/unknown method/);
    const md = readFileSync(join(dir, 'study.md'), 'utf8');
    expect(md).toContain('| exact |');
    expect(md).toContain('floor');
    const csv = readFileSync(join(dir, 'study.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('method,nfe,metric,value,floor,seconds,error');
    expect(csv.length).toBeGreaterThan(10);
    const png = PNG.sync.read(readFileSync(join(dir, 'study.png')));
    expect([png.width, png.height]).toEqual([900, 520]);
    // an interrupted study resumes from runs.jsonl: nothing is recomputed
    const again = await runPosteriorStudy({ ...settings, resume: true });
    expect(again.rows.map((r) => r.seconds)).toEqual(res.rows.map((r) => r.seconds));
  });

  it('GMM prior with a dense measurement: sliced W2, energy distance and mode weights', async () => {
    const { runPosteriorStudy } = await import('../src/lab/study.js');
    const res = await runPosteriorStudy({
      engine: e,
      prior: 'gmm:K=3,size=3,rank=1,seed=2',
      task: 'dense',
      rows: 4,
      methods: ['exact', 'dps'],
      nfe: [10],
      samples: 32,
    });
    expect(res.primary).toBe('sliced_w2');
    for (const r of res.rows) {
      expect(r.error).toBeUndefined();
      for (const k of ['sliced_w2', 'energy', 'mode_tv']) expect(Number.isFinite(r.metrics[k])).toBe(true);
    }
    expect(res.floor.sliced_w2).toBeGreaterThan(0);
  });
});
