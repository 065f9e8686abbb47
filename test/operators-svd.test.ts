// SVD views (DDRM layouts), pseudo-inverses.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import { BlurOperator, reflectCorrelationMatrix } from '../src/operators/blur.js';
import { gaussianKernel, gaussianKernel1d } from '../src/operators/kernels.js';
import { InpaintOperator, boxMask } from '../src/operators/masks.js';
import type { MeasurementOperator, SvdView } from '../src/operators/operator.js';
import { SuperResolutionOperator, resizeMatrix } from '../src/operators/sr.js';
import { jacobiSvd } from '../src/operators/svd.js';
import { getTestEngine, randomArray, relMaxErr } from './helpers.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

function checkSvd(a: Float64Array, m: number, n: number) {
  const { u, s, v } = jacobiSvd(a, m, n);
  let err = 0,
    orthU = 0,
    orthV = 0,
    amax = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let t = 0;
      for (let k = 0; k < Math.min(m, n); k++) t += u[i * m + k] * s[k] * v[j * n + k];
      err = Math.max(err, Math.abs(t - a[i * n + j]));
      amax = Math.max(amax, Math.abs(a[i * n + j]));
    }
  for (let p = 0; p < m; p++)
    for (let q = 0; q < m; q++) {
      let t = 0;
      for (let i = 0; i < m; i++) t += u[i * m + p] * u[i * m + q];
      orthU = Math.max(orthU, Math.abs(t - +(p === q)));
    }
  for (let p = 0; p < n; p++)
    for (let q = 0; q < n; q++) {
      let t = 0;
      for (let i = 0; i < n; i++) t += v[i * n + p] * v[i * n + q];
      orthV = Math.max(orthV, Math.abs(t - +(p === q)));
    }
  for (let k = 1; k < s.length; k++) expect(s[k]).toBeLessThanOrEqual(s[k - 1]);
  return { err: err / amax, orthU, orthV };
}

describe('float64 Jacobi SVD', () => {
  it('reconstructs wide, square and rank-deficient / ill-conditioned matrices with orthogonal U, V (1e-12)', () => {
    const cases: Array<[Float64Array, number, number]> = [
      [Float64Array.from(randomArray(7 * 11, 1)), 7, 11],
      [Float64Array.from(randomArray(9 * 9, 2)), 9, 9],
      [resizeMatrix(32, 1 / 4).m, 8, 32],
      [reflectCorrelationMatrix(gaussianKernel1d(13, 3), 24), 24, 24], // singular values down to ~1e-17
      [new Float64Array(4 * 6).fill(1), 4, 6], // rank 1
    ];
    for (const [a, m, n] of cases) {
      const r = checkSvd(a, m, n);
      expect(r.err, `${m}x${n}`).toBeLessThan(1e-12);
      expect(r.orthU, `${m}x${n}`).toBeLessThan(1e-12);
      expect(r.orthV, `${m}x${n}`).toBeLessThan(1e-12);
    }
  });
});

async function scaleBySingulars(svd: SvdView, z: Tensor, N: number): Promise<Tensor> {
  const zz = await e.read(z),
    s = await e.read(svd.singulars);
  const per = zz.length / N;
  const out = new Float32Array(N * svd.rank);
  for (let n = 0; n < N; n++) for (let k = 0; k < svd.rank; k++) out[n * svd.rank + k] = zz[n * per + k] * s[k];
  return e.upload(out, [N, svd.rank]);
}

/** U Σ Vᵀ x = A x, Vᵀ orthogonal (V Vᵀ x = x), U orthonormal columns (Uᵀ U z = z). */
async function checkView(op: MeasurementOperator, seed: number) {
  const svd = op.svd!;
  const N = op.inputShape[0];
  const xs = randomArray(
    op.inputShape.reduce((a, b) => a * b),
    seed,
  );
  const x = e.upload(xs, op.inputShape);
  const vt = svd.vt(x);
  const usvx = await e.read(svd.u(await scaleBySingulars(svd, vt, N)));
  const ax = await e.read(op.forward(x));
  const zr = e.upload(randomArray(N * svd.rank, seed + 1), [N, svd.rank]);
  return {
    reconstruct: relMaxErr(usvx, ax),
    vOrth: relMaxErr(await e.read(svd.v(vt)), xs),
    uOrth: relMaxErr(await e.read(svd.ut(svd.u(zr))), await e.read(zr)),
  };
}

describe('SVD views (DDRM layouts)', () => {
  // f32 GPU matmuls of length ≤ 32 with orthogonal factors: errors ~1e-6 of max|·|.
  const TOL = 1e-5;

  it('separable Gaussian blur: U Σ Vᵀ = A, sorted singular values interleaved over channels', async () => {
    const op = new BlurOperator(e, [2, 3, 24, 20], gaussianKernel(13, 2.0), 13, {
      separable: gaussianKernel1d(13, 2.0),
      svdZero: 0,
    });
    const r = await checkView(op, 5);
    expect(r.reconstruct).toBeLessThan(TOL);
    expect(r.vOrth).toBeLessThan(TOL);
    expect(r.uOrth).toBeLessThan(TOL);
    const s = await e.read(op.svd!.singulars);
    expect(op.svd!.rank).toBe(3 * 24 * 20);
    for (let k = 0; k + 1 < s.length / 3; k++) {
      expect(s[3 * k]).toBe(s[3 * k + 1]);
      expect(s[3 * k + 2]).toBeGreaterThanOrEqual(s[3 * k + 3]);
    }
    // DDRM's ZERO threshold: products of 1-D values below 3e-2 vanish
    const thr = new BlurOperator(e, [1, 3, 24, 20], gaussianKernel(13, 2.0), 13, {
      separable: gaussianKernel1d(13, 2.0),
    });
    const st = await e.read(thr.svd!.singulars);
    expect(st.filter((v) => v === 0).length).toBeGreaterThan(0);
    expect(st[0]).toBeCloseTo(s[0], 6);
  });

  it('SR: U Σ Vᵀ = A, DDRM SRConv block layout', async () => {
    const op = new SuperResolutionOperator(e, [2, 3, 32, 24], 4, { svdZero: 0 });
    const r = await checkView(op, 7);
    expect(r.reconstruct).toBeLessThan(TOL);
    expect(r.vOrth).toBeLessThan(TOL);
    expect(r.uOrth).toBeLessThan(TOL);
    const [sh, sw] = op.factors();
    const s = await e.read(op.svd.singulars);
    expect(op.svd.rank).toBe(3 * 8 * 6);
    // entry (i·ow + j)·C + c holds s_h[i]·s_w[j]
    for (const [i, j] of [
      [0, 0],
      [3, 5],
      [7, 2],
    ])
      expect(s[(i * 6 + j) * 3 + 2]).toBeCloseTo(sh.s[i] * sw.s[j], 6);
  });

  it('inpainting: kept entries first (pixel·C + c), Σ = I, U = I on them', async () => {
    const { mask } = boxMask(10, 12, { size: [4, 5], top: 3, left: 2 });
    const op = new InpaintOperator(e, [2, 3, 10, 12], mask);
    const r = await checkView(op, 9);
    expect(r.reconstruct).toBe(0);
    expect(r.vOrth).toBe(0);
    expect(r.uOrth).toBe(0);
    expect(op.svd.rank).toBe(3 * (120 - 20));
    const xs = randomArray(2 * 3 * 120, 4);
    const vt = await e.read(op.svd.vt(e.upload(xs, op.inputShape)));
    // first entries: pixel 0, channels 0..2
    expect([vt[0], vt[1], vt[2]]).toEqual([xs[0], xs[120], xs[240]]);
  });
});

describe('pseudo-inverses', () => {
  it('blur: CG on A Aᵀ drives the residual ‖A A⁺y − y‖ down (exactly invertible kernel)', async () => {
    // a kernel close to the identity: A is well conditioned, so 30 CG steps converge.
    const k = new Float64Array(25).fill(0.02);
    k[12] = 0.52;
    const shape = [1, 3, 16, 16];
    const y = e.upload(randomArray(3 * 256, 3), shape);
    const yy = await e.read(y);
    for (const method of ['fft', 'direct'] as const) {
      const res: number[] = [];
      for (const it of [2, 30]) {
        const op = new BlurOperator(e, shape, k, 5, { method, cgIterations: it });
        res.push(relMaxErr(await e.read(op.forward(op.pinv(y))), yy));
      }
      expect(res[1], method).toBeLessThan(1e-4);
      expect(res[1]).toBeLessThan(res[0]);
    }
  });
});
