// Samplers: the elementwise diffusion kernels against float64 references, the row/CG machinery, and every
// method end to end on a Gaussian-mixture prior (exact ε, Hessian and D²s on the host) with a dense
// operator, against the float64 reference in test/reference/samplers.ts fed the same noise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import { cpuRademacher, cpuRandn } from '../src/engine/ops/random.js';
import { GaussianMixturePrior, GmmDense, randomGmmSpec } from '../src/lab/gmm.js';
import { Rng64 } from '../src/lab/rng64.js';
import { ddimStep, ddimSigma, pSample, x0Pullback } from '../src/samplers/diffusion.js';
import { adjointSolve, batchedCg } from '../src/samplers/linalg.js';
import { parseMethod, parseEtaSchedule } from '../src/samplers/methods.js';
import { sample, type SampleOptions } from '../src/samplers/sampler.js';
import { createSchedule, type Schedule } from '../src/samplers/schedule.js';
import { denseMatvec } from '../src/samplers/rows.js';
import { getTestEngine, randomArray, relMaxErr } from './helpers.js';
import { refSample, type RefProblem, type RefRun } from './reference/samplers.js';
import { denseOperator, selectionMatrix, type DenseOperator } from './support/dense-operator.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

const TWO32 = 2 ** 32;

describe('diffusion kernels', () => {
  const s = createSchedule({ respacing: '20' });
  const [N, C, H, W] = [2, 3, 5, 7];
  const n = N * C * H * W,
    hw = H * W;
  const x = randomArray(n, 1, 2.5);
  const z = randomArray(n, 3);
  const mo = randomArray(2 * n, 2, 1.2); // ε and v interleaved per image by channel blocks

  function refX0(k: number, clip: boolean) {
    const x0 = new Float64Array(n),
      raw = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const img = Math.floor(i / (C * hw)),
        r = i % (C * hw);
      const eps = mo[img * 2 * C * hw + r];
      raw[i] = s.sqrtRecipAlphasCumprod[k] * x[i] - s.sqrtRecipm1AlphasCumprod[k] * eps;
      x0[i] = clip ? Math.min(1, Math.max(-1, raw[i])) : raw[i];
    }
    return { x0, raw };
  }

  it('p_sample: x̂₀ and the learned-range / fixed ancestral sample match float64 (rel 2e-6)', async () => {
    const xt = e.upload(x, [N, C, H, W]),
      mt = e.upload(mo, [N, 2 * C, H, W]),
      zt = e.upload(z, [N, C, H, W]);
    const eps1 = e.upload(
      Float32Array.from({ length: n }, (_, i) => mo[Math.floor(i / (C * hw)) * 2 * C * hw + (i % (C * hw))]),
      [N, C, H, W],
    );
    for (const k of [0, 1, 7, 19]) {
      for (const clip of [true, false]) {
        for (const varType of ['learned_range', 'fixed_small', 'fixed_large'] as const) {
          const out = varType === 'learned_range' ? mt : eps1;
          const r = pSample(e, s, k, xt, out, zt, { clip, varType });
          const [gx0, gs] = [await e.read(r.x0), await e.read(r.sample)];
          const { x0 } = refX0(k, clip);
          const ref = new Float64Array(n);
          for (let i = 0; i < n; i++) {
            const img = Math.floor(i / (C * hw)),
              rr = i % (C * hw);
            const mean = s.posteriorMeanCoef1[k] * x0[i] + s.posteriorMeanCoef2[k] * x[i];
            let lv: number;
            if (varType === 'learned_range') {
              const frac = (mo[img * 2 * C * hw + C * hw + rr] + 1) / 2;
              lv = frac * Math.log(s.betas[k]) + (1 - frac) * s.posteriorLogVarianceClipped[k];
            } else if (varType === 'fixed_small') lv = Math.log(s.posteriorVariance[k]);
            else lv = Math.log(k === 0 ? s.posteriorVariance[1] : s.betas[k]);
            ref[i] = mean + (k > 0 ? Math.exp(0.5 * lv) * z[i] : 0);
          }
          // float32 rounding of a handful of products and one exp: a few ulps of max|·|
          expect(relMaxErr(gx0, x0)).toBeLessThan(2e-6);
          expect(relMaxErr(gs, ref)).toBeLessThan(2e-6);
          e.release(r.x0, r.sample);
        }
      }
    }
    e.release(xt, mt, zt, eps1);
  });

  it('ddim_step (η = 0, 0.5, 1) matches float64 (rel 2e-6)', async () => {
    const xt = e.upload(x, [N, C, H, W]),
      mt = e.upload(mo, [N, 2 * C, H, W]),
      zt = e.upload(z, [N, C, H, W]);
    for (const k of [0, 5, 19]) {
      for (const eta of [0, 0.5, 1]) {
        const r = ddimStep(e, s, k, xt, mt, zt, eta, true);
        const [gx0, gm, gs] = [await e.read(r.x0), await e.read(r.mean), await e.read(r.sample)];
        const { x0 } = refX0(k, true);
        const sig = ddimSigma(s, k, eta),
          abp = s.alphasCumprodPrev[k];
        const mean = x0.map(
          (v, i) =>
            Math.sqrt(abp) * v +
            Math.sqrt(Math.max(0, 1 - abp - sig * sig)) *
              ((s.sqrtRecipAlphasCumprod[k] * x[i] - v) / s.sqrtRecipm1AlphasCumprod[k]),
        );
        const smp = mean.map((v, i) => v + (k > 0 ? sig * z[i] : 0));
        expect(relMaxErr(gx0, x0)).toBeLessThan(2e-6);
        // ε re-derived as (x/√ᾱ − x̂₀)/√(1/ᾱ−1) loses a little at k = 0 where √(1/ᾱ−1) = 0.01
        expect(relMaxErr(gm, mean)).toBeLessThan(k === 0 ? 2e-5 : 2e-6);
        expect(relMaxErr(gs, smp)).toBeLessThan(k === 0 ? 2e-5 : 2e-6);
        e.release(r.x0, r.mean, r.sample);
      }
    }
    e.release(xt, mt, zt);
  });

  it('x0 pullback: clamp mask and ε/v cotangent layout match float64; the chain rule matches central differences', async () => {
    const k = 12;
    const g = randomArray(n, 9);
    const xt = e.upload(x, [N, C, H, W]),
      mt = e.upload(mo, [N, 2 * C, H, W]),
      gt = e.upload(g, [N, C, H, W]);
    for (const clip of [true, false]) {
      const { uOut, gDirect } = x0Pullback(e, s, k, xt, mt, gt, clip);
      const [u, d] = [await e.read(uOut), await e.read(gDirect)];
      const { raw } = refX0(k, clip);
      let clamped = 0;
      for (let i = 0; i < n; i++) {
        const img = Math.floor(i / (C * hw)),
          rr = i % (C * hw);
        const pass = !clip || (raw[i] >= -1 && raw[i] <= 1) ? 1 : 0;
        clamped += 1 - pass;
        expect(Math.abs(u[img * 2 * C * hw + rr] + s.sqrtRecipm1AlphasCumprod[k] * g[i] * pass)).toBeLessThan(1e-5);
        expect(u[img * 2 * C * hw + C * hw + rr]).toBe(0);
        expect(Math.abs(d[i] - s.sqrtRecipAlphasCumprod[k] * g[i] * pass)).toBeLessThan(1e-5);
      }
      if (clip) expect(clamped).toBeGreaterThan(10); // the test exercises the clamp
      e.release(uOut, gDirect);
    }
    e.release(xt, mt, gt);

    // float64 chain rule on a toy ε(x) = tanh(Bx): ∇ₓ⟨g, x̂₀(x)⟩ = a·g⊙m − b·Bᵀ((1−ε²)⊙(g⊙m))
    const D = 6,
      a = 1.7,
      b = 0.9;
    const B = Float64Array.from(randomArray(D * D, 4, 0.5));
    const gg = Float64Array.from(randomArray(D, 5));
    const x64 = Float64Array.from(randomArray(D, 6, 0.6));
    const epsOf = (v: Float64Array) =>
      Array.from({ length: D }, (_, i) => Math.tanh(B.slice(i * D, i * D + D).reduce((p, q, j) => p + q * v[j], 0)));
    const L = (v: Float64Array) =>
      epsOf(v).reduce((p, ei, i) => p + gg[i] * Math.min(1, Math.max(-1, a * v[i] - b * ei)), 0);
    const ep = epsOf(x64);
    const mask = ep.map((ei, i) => (Math.abs(a * x64[i] - b * ei) <= 1 ? 1 : 0));
    const gm = gg.map((v, i) => v * mask[i]);
    const analytic = Array.from(
      { length: D },
      (_, j) => a * gm[j] - b * ep.reduce((p, ei, i) => p + gm[i] * (1 - ei * ei) * B[i * D + j], 0),
    );
    for (let j = 0; j < D; j++) {
      const h = 1e-6;
      const xp = Float64Array.from(x64),
        xm = Float64Array.from(x64);
      xp[j] += h;
      xm[j] -= h;
      expect(Math.abs((L(xp) - L(xm)) / (2 * h) - analytic[j])).toBeLessThan(1e-7);
    }
  });
});

describe('row machinery', () => {
  it('batched CG solves an SPD system per image; the curvature guard freezes an indefinite one', async () => {
    const D = 7,
      N = 3;
    const rng = new Rng64(5);
    // image n gets its own SPD matrix B_n = R_nᵀR_n + I (stored block-diagonally as one dense [N·D]² matrix)
    const big = new Float64Array(N * D * N * D);
    const mats: Float64Array[] = [];
    for (let n = 0; n < N; n++) {
      const R = rng.normals(D * D);
      const Bm = new Float64Array(D * D);
      for (let i = 0; i < D; i++)
        for (let j = 0; j < D; j++) {
          for (let l = 0; l < D; l++) Bm[i * D + j] += R[l * D + i] * R[l * D + j];
          if (i === j) Bm[i * D + j] += n === 2 ? -50 : 1; // image 2: indefinite
        }
      mats.push(Bm);
      for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) big[(n * D + i) * N * D + n * D + j] = Bm[i * D + j];
    }
    const Bt = e.upload(Float32Array.from(big), [N * D, N * D]);
    const apply = (p: Tensor) => denseMatvec(e, Bt, N * D, N * D, p.reshape([1, N * D])).reshape([N, D]);
    const b = Float32Array.from(rng.normals(N * D));
    const res = await batchedCg(e, apply, e.upload(b, [N, D]), null, { iters: 30 });
    const [xs, fr] = [await e.read(res.x), await e.read(res.frozen)];
    for (let n = 0; n < 2; n++) {
      const xn = xs.slice(n * D, (n + 1) * D);
      const Bx = Array.from({ length: D }, (_, i) =>
        mats[n].slice(i * D, i * D + D).reduce((p, q, j) => p + q * xn[j], 0),
      );
      expect(relMaxErr(Bx, b.slice(n * D, (n + 1) * D))).toBeLessThan(1e-4);
      expect(fr[n]).toBe(0);
    }
    expect(fr[2]).toBe(1);
    expect(xs.slice(2 * D).every(Number.isFinite)).toBe(true);
  });

  it('Aᵀ(αAAᵀ + βI)⁻¹z: the SVD path and the CG path agree with a dense solve', async () => {
    const [N, C, H, W] = [2, 1, 2, 4];
    const D = 8,
      m = 5;
    const A = Float64Array.from(randomArray(m * D, 21, 0.5));
    const z = Float32Array.from(randomArray(N * m, 22));
    const withSvd = denseOperator(e, A, m, [N, C, H, W]);
    const noSvd = denseOperator(e, A, m, [N, C, H, W], { svd: false });
    const at = e.upload(new Float32Array(N * D), [N, C, H, W]);
    const zt = e.upload(z, [N, m]);
    for (const [alpha, beta] of [
      [0.7, 0.05],
      [1, 0],
    ]) {
      const a1 = await e.read(await adjointSolve(e, withSvd, zt, alpha, beta, at));
      const a2 = await e.read(await adjointSolve(e, noSvd, zt, alpha, beta, at, { iters: 12 }));
      // dense float64
      const AAt = new Float64Array(m * m);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) for (let l = 0; l < D; l++) AAt[i * m + j] += A[i * D + l] * A[j * D + l];
      const { inverseSpd } = await import('../src/lab/linalg64.js');
      const Minv = inverseSpd(
        AAt.map((v, i) => alpha * v + (i % (m + 1) === 0 ? beta : 0)),
        m,
      );
      for (let n = 0; n < N; n++) {
        const q = Array.from({ length: m }, (_, i) =>
          Minv.slice(i * m, i * m + m).reduce((p, v, j) => p + v * z[n * m + j], 0),
        );
        const ref = Array.from({ length: D }, (_, l) => q.reduce((p, v, i) => p + A[i * D + l] * v, 0));
        expect(relMaxErr(a1.slice(n * D, (n + 1) * D), ref)).toBeLessThan(1e-4);
        expect(relMaxErr(a2.slice(n * D, (n + 1) * D), ref)).toBeLessThan(1e-3);
      }
    }
  });
});

// ----------------------------------------------------------------------------------- end to end

interface Problem {
  gmm: GmmDense;
  prior: GaussianMixturePrior;
  op: DenseOperator;
  y: Float32Array;
  sched: Schedule;
  N: number;
  D: number;
  m: number;
  seeds: number[];
  xT: Float32Array;
  stepNoise: Float32Array;
}

const SIGMA_Y = 0.05;
const SHAPE = [1, 2, 4] as const;

function makeProblem(kind: 'dense' | 'mask', steps = 12): Problem {
  const [C, H, W] = SHAPE;
  const D = C * H * W,
    N = 2;
  const spec = randomGmmSpec({ shape: SHAPE, components: 3, rank: 1, seed: 7, spread: 0.5, scale: 0.05 });
  const gmm = new GmmDense(spec);
  const prior = new GaussianMixturePrior(e, gmm);
  const keep = [0, 2, 3, 5, 6];
  const m = keep.length;
  const A = kind === 'mask' ? selectionMatrix(keep, D) : Float64Array.from(randomArray(m * D, 31, 0.6));
  const op = denseOperator(e, A, m, [N, C, H, W], { name: kind });
  const rng = new Rng64(17);
  const y = new Float32Array(N * m);
  for (let n = 0; n < N; n++) {
    const x0 = gmm.sample(rng);
    for (let i = 0; i < m; i++)
      y[n * m + i] = A.slice(i * D, i * D + D).reduce((p, a, j) => p + a * x0[j], 0) + SIGMA_Y * rng.normal();
  }
  const sched = createSchedule({ respacing: String(steps) });
  const xT = Float32Array.from(rng.normals(N * D));
  const stepNoise = Float32Array.from(rng.normals(steps * N * D));
  return { gmm, prior, op, y, sched, N, D, m, seeds: [101, 202], xT, stepNoise };
}

async function runBoth(p: Problem, method: string, extra: Partial<SampleOptions> = {}, refExtra: Partial<RefRun> = {}) {
  const { base, cmi } = parseMethod(method);
  const [C, H, W] = SHAPE;
  const traj: Float32Array[] = [];
  const snapshots: Float32Array[] = [];
  const yT = e.upload(p.y, [p.N, p.m]);
  const res = await sample({
    model: p.prior,
    operator: p.op,
    noise: { kind: 'gaussian', level: SIGMA_Y },
    y: yT,
    method,
    schedule: p.sched,
    seed: p.seeds,
    xT: e.upload(p.xT, [p.N, C, H, W]),
    stepNoise: e.upload(p.stepNoise, [p.sched.length, p.N, C, H, W]),
    snapshotEvery: 1,
    onStep: (s) => void snapshots.push(s.x0!),
    ...extra,
  });
  // the trajectory itself: rerun step by step is costly; compare the final x and distances instead
  const x = await e.read(res.x0);
  traj.push(x);
  const refs = [];
  for (let n = 0; n < p.N; n++) {
    const sl = (a: Float32Array, i: number, len: number) =>
      Float64Array.from(a.subarray((i * p.N + n) * len, (i * p.N + n + 1) * len));
    const run: RefRun = {
      method: base,
      // the settings the driver resolved (each method's defaults are checked against their sources in
      // test/methods.test.ts); the reference checks the math with them
      zeta: res.settings.zeta,
      eta: res.settings.eta,
      dsg: { rate: res.settings.rate, interval: res.settings.interval },
      ddrm: { eta: res.settings.eta, etaB: res.settings.etaB },
      y: Float64Array.from(p.y.subarray(n * p.m, (n + 1) * p.m)),
      xT: Float64Array.from(p.xT.subarray(n * p.D, (n + 1) * p.D)),
      stepNoise: (i) => sl(p.stepNoise, i, p.D),
      measNoise: (i) => cpuRandn(p.m, p.seeds[n], 3 * TWO32 + i),
      probe: (i, j) => cpuRademacher(p.D, p.seeds[n], 4 * TWO32 + i * 4096 + j),
      ...refExtra,
    };
    if (cmi) run.cmi = { r: extra.cmi!.r ?? 1, mode: extra.cmi!.sigmaInv ?? 'isotropic', eta: extra.cmi!.eta };
    const prob: RefProblem = {
      gmm: p.gmm,
      sched: p.sched,
      A: p.op.A,
      m: p.m,
      sigmaY: SIGMA_Y,
      clip: extra.clip ?? !(base === 'pigdm' || base === 'ddrm'),
      pinv: p.op.pinvMatrix,
      svd: p.op.factors,
      poisson: extra.noise?.kind === 'poisson',
    };
    refs.push(refSample(prob, run));
  }
  return { res, x, refs, snapshots };
}

function compare(p: Problem, out: Awaited<ReturnType<typeof runBoth>>, tol: number, distTol = 4 * tol) {
  for (let n = 0; n < p.N; n++) {
    const got = out.x.subarray(n * p.D, (n + 1) * p.D);
    if (process.env.SAMPLER_ERRS)
      console.log(
        'ERR',
        relMaxErr(got, out.refs[n].x).toExponential(2),
        Math.max(
          ...out.res.distances.map(
            (d, i) => Math.abs(d![n] - out.refs[n].dist[i]) / Math.max(out.refs[n].dist[i], 1e-3),
          ),
        ).toExponential(2),
      );
    expect(relMaxErr(got, out.refs[n].x), `final x, image ${n}`).toBeLessThan(tol);
    out.res.distances.forEach((d, i) => {
      expect(
        Math.abs(d![n] - out.refs[n].dist[i]) / Math.max(out.refs[n].dist[i], 1e-3),
        `distance step ${i}, image ${n}`,
      ).toBeLessThan(distTol);
    });
  }
}

describe('samplers end to end on a GMM prior (float64 reference, same noise)', () => {
  let dense: Problem, mask: Problem;
  beforeAll(() => {
    dense = makeProblem('dense');
    mask = makeProblem('mask');
  });
  afterAll(() => {
    for (const p of [dense, mask]) (p.prior.destroy(), p.op.destroy());
  });

  // float32 GPU vs float64 host over 12 steps of a nonlinear map. Measured: final x within 1e-5 of max|x|
  // (most ≤ 1e-6), distances within 4e-5 relative (the first step, where x̂₀ = x/√ᾱ amplifies by 157).
  // 5e-5 / 2e-4 leave room for another summation order; a wrong sign or factor moves the result by O(1e-2..1).
  const TOL = 5e-5;

  it('ddpm and ddim (unconditional)', async () => {
    compare(dense, await runBoth(dense, 'ddpm'), TOL);
    compare(dense, await runBoth(dense, 'ddim', { eta: 0 }), TOL);
    compare(dense, await runBoth(dense, 'ddim', { eta: 0.6 }), TOL);
  });

  it('dps (ζ default and 0.7, Gaussian and Poisson), mcg', async () => {
    compare(dense, await runBoth(dense, 'dps', { task: 'inpainting' }), TOL);
    compare(mask, await runBoth(mask, 'dps', { zeta: 0.7 }), TOL);
    compare(mask, await runBoth(mask, 'mcg', { zeta: 0.5 }), TOL);
    // Poisson: the reference's ‖y − A x̂₀‖/|y| averaged over the measurement = ‖r‖·mean(1/|y|)
    compare(dense, await runBoth(dense, 'dps', { zeta: 0.05, noise: { kind: 'poisson', level: 1 } }), TOL);
  });

  it('pigdm: SVD path and CG path', async () => {
    compare(dense, await runBoth(dense, 'pigdm'), TOL);
    const noSvd = { ...dense, op: denseOperator(e, dense.op.A, dense.m, [dense.N, ...SHAPE], { svd: false }) };
    compare(noSvd, await runBoth(noSvd, 'pigdm', { cg: { iters: 12 } }), TOL);
  });

  it('dsg (interval 1 and 3)', async () => {
    compare(dense, await runBoth(dense, 'dsg'), TOL);
    compare(dense, await runBoth(dense, 'dsg', { rate: 0.5, interval: 3 }), TOL);
  });

  it('ddrm', async () => {
    compare(dense, await runBoth(dense, 'ddrm'), TOL);
    compare(mask, await runBoth(mask, 'ddrm', { eta: 0.5, etaB: 0.9 }), TOL);
  });

  it('+cmi on dps / pigdm / mcg / dsg (isotropic and exact Σ⁻¹, the three η schedules)', async () => {
    const cases: Array<[Problem, string, Partial<SampleOptions>]> = [
      [dense, 'dps+cmi', { zeta: 0.5, cmi: { r: 2, eta: { kind: 'constant', eta: 0.05 }, sigmaInv: 'isotropic' } }],
      [
        dense,
        'dps+cmi',
        { zeta: 0.5, cmi: { r: 1, eta: { kind: 'constant', eta: 0.05 }, sigmaInv: 'exact', cg: { iters: 12 } } },
      ],
      [
        dense,
        'pigdm+cmi',
        { cmi: { r: 1, eta: { kind: 'relative', eta: 0.3 }, sigmaInv: 'exact', cg: { iters: 12 } } },
      ],
      [mask, 'mcg+cmi', { zeta: 0.5, cmi: { r: 1, eta: { kind: 'residual', eta: 0.01 }, sigmaInv: 'isotropic' } }],
      [dense, 'dsg+cmi', { cmi: { r: 1, eta: { kind: 'relative', eta: 0.2 }, sigmaInv: 'isotropic' } }],
    ];
    for (const [p, method, opts] of cases) {
      const withCmi = await runBoth(p, method, opts);
      compare(p, withCmi, TOL);
      // the plug-in must matter far beyond the tolerance, or the comparison proves nothing
      const plain = await runBoth(p, method.replace('+cmi', ''), { ...opts, cmi: undefined });
      expect(relMaxErr(plain.x, withCmi.x), `${method} effect`).toBeGreaterThan(50 * TOL);
    }
  });

  it('batch: image n of a seeded batch equals a single-image run with seed + n', async () => {
    const [C, H, W] = SHAPE;
    const base: SampleOptions = {
      model: dense.prior,
      operator: dense.op,
      noise: { kind: 'gaussian', level: SIGMA_Y },
      y: e.upload(dense.y, [2, dense.m]),
      method: 'dps',
      schedule: dense.sched,
      seed: 40,
    };
    const both = await e.read((await sample(base)).x0);
    const op1 = denseOperator(e, dense.op.A, dense.m, [1, C, H, W]);
    for (const n of [0, 1]) {
      const one = await e.read(
        (
          await sample({
            ...base,
            operator: op1,
            y: e.upload(dense.y.subarray(n * dense.m, (n + 1) * dense.m), [1, dense.m]),
            seed: 40 + n,
          })
        ).x0,
      );
      expect(relMaxErr(both.subarray(n * dense.D, (n + 1) * dense.D), one)).toBeLessThan(1e-6);
    }
  });

  it('leaves no GPU memory behind: only the returned x₀ stays allocated', async () => {
    const [C, H, W] = SHAPE;
    const y = e.upload(dense.y, [2, dense.m]);
    const xT = e.upload(dense.xT, [2, C, H, W]);
    const stepNoise = e.upload(dense.stepNoise, [dense.sched.length, 2, C, H, W]);
    const o = {
      model: dense.prior,
      operator: dense.op,
      noise: { kind: 'gaussian' as const, level: SIGMA_Y },
      y,
      schedule: dense.sched,
      xT,
      stepNoise,
      snapshotEvery: 3,
    };
    const runs: Array<Partial<SampleOptions>> = [
      { method: 'ddpm' },
      { method: 'ddim' },
      { method: 'dps' },
      { method: 'mcg' },
      { method: 'pigdm' },
      { method: 'dsg', interval: 2 },
      { method: 'ddrm' },
      { method: 'dps+cmi', cmi: { r: 2, eta: { kind: 'relative', eta: 0.1 }, sigmaInv: 'exact' } },
      { method: 'dsg+cmi', cmi: { r: 1, eta: { kind: 'residual', eta: 0.1 }, sigmaInv: 'isotropic' } },
    ];
    const probe = e.tensor([2, C, H, W]);
    const pooled = (() => {
      const b = e.pool.bytesInUse;
      const t = e.tensor([2, C, H, W]);
      const d = e.pool.bytesInUse - b;
      e.release(t);
      return d;
    })();
    e.release(probe);
    for (const r of runs) {
      const before = e.pool.bytesInUse;
      const res = await sample({ ...o, method: 'dps', ...r });
      expect(e.pool.bytesInUse - before, String(r.method)).toBe(pooled);
      e.release(res.x0);
    }
  });

  it('reports steps to the callback and rejects bad input clearly', async () => {
    const infos: number[] = [];
    await sample({
      model: dense.prior,
      method: 'ddim',
      schedule: dense.sched,
      batch: 2,
      onStep: (s) => void infos.push(s.t),
    });
    expect(infos).toEqual([...dense.sched.timestepMap].reverse());
    const noSvd = denseOperator(e, dense.op.A, dense.m, [2, ...SHAPE], { svd: false, pinv: false });
    const y = e.upload(dense.y, [2, dense.m]);
    const o = { model: dense.prior, noise: { kind: 'gaussian' as const, level: SIGMA_Y }, y, schedule: dense.sched };
    await expect(sample({ ...o, operator: noSvd, method: 'ddrm' })).rejects.toThrow(/singular value decomposition/);
    await expect(sample({ ...o, operator: noSvd, method: 'mcg' })).rejects.toThrow(/pseudo-inverse/);
    await expect(sample({ ...o, method: 'dps' })).rejects.toThrow(/needs an operator/);
    await expect(sample({ ...o, operator: dense.op, method: 'dps+cmi' })).rejects.toThrow(/cmi options/);
    await expect(sample({ ...o, operator: dense.op, method: 'ddrm+cmi' })).rejects.toThrow(/applies to/);
    await expect(sample({ ...o, operator: dense.op, method: 'dpss' })).rejects.toThrow(/unknown method/);
    expect(parseEtaSchedule('relative:0.5')).toEqual({ kind: 'relative', eta: 0.5 });
  });
});
