import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import {
  fft1d,
  fft2d,
  fftCols,
  fftFilterCols,
  fftRadices,
  maxWorkgroupFft,
  nextFftSize,
  rowsLayout,
} from '../src/operators/fft.js';
import { getTestEngine, randomArray, relMaxErr } from './helpers.js';
import { dft, dft2 } from './reference/fft.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

// Tolerance: an f32 FFT has error ≈ ε·O(log n)·‖x‖ per output (ε = 6e-8); relative to max|X| that stays
// below 1e-6 for these sizes (measured 5e-8 … 4e-7). 2e-6 leaves room without hiding a wrong twiddle
// (which gives O(1) errors).
const TOL = 2e-6;

describe('GPU FFT (Stockham, radix 4/2/3/5)', () => {
  it('plans radices and fast sizes', () => {
    expect(fftRadices(1024)).toEqual([4, 4, 4, 4, 4]);
    expect(fftRadices(2048)).toEqual([4, 4, 4, 4, 4, 2]);
    expect(fftRadices(384)).toEqual([4, 4, 4, 2, 3]);
    expect(fftRadices(7)).toBeNull();
    expect(nextFftSize(316)).toBe(320);
    expect(nextFftSize(316, true)).toBe(512);
    expect(() => fft1d(e, e.tensor([7, 2]), 7, rowsLayout(1, 7))).toThrow(/2\^a·3\^b·5\^c/);
  });

  it('1-D transforms equal the float64 DFT, forward and inverse, workgroup and global-pass paths', async () => {
    const big = maxWorkgroupFft(e) * 2; // beyond workgroup memory: one dispatch per radix pass
    for (const n of [2, 3, 5, 8, 12, 16, 60, 64, 125, 192, 1024, big]) {
      const batch = n > 1024 ? 1 : 3;
      const x = randomArray(batch * n * 2, n);
      for (const inverse of [false, true]) {
        const t = e.upload(x, [batch, n, 2]);
        fft1d(e, t, n, rowsLayout(batch, n), inverse);
        const g = await e.read(t);
        for (let b = 0; b < batch; b++) {
          const ref = dft(x.subarray(2 * b * n, 2 * (b + 1) * n), n, inverse, inverse ? 1 / n : 1);
          expect(relMaxErr(g.subarray(2 * b * n, 2 * (b + 1) * n), ref), `n=${n} inverse=${inverse}`).toBeLessThan(TOL);
        }
        e.release(t);
      }
    }
  });

  it('strided (column) transforms and 2-D transforms equal the DFT; inverse undoes forward', async () => {
    for (const [h, w] of [
      [12, 10],
      [64, 48],
      [2, 256],
    ]) {
      const planes = 3;
      const x = randomArray(planes * h * w * 2, h * w);
      const t = e.upload(x, [planes, h, w, 2]);
      fft2d(e, t, { planes, h, w });
      const g = await e.read(t);
      expect(relMaxErr(g, dft2(x, planes, h, w)), `${h}x${w}`).toBeLessThan(TOL);
      fft2d(e, t, { planes, h, w }, true);
      expect(relMaxErr(await e.read(t), x)).toBeLessThan(TOL);
      // columns alone: transpose-free strided layout
      const c = e.upload(x, [planes, h, w, 2]);
      fftCols(e, c, { planes, h, w }, false);
      const gc = await e.read(c);
      for (let p = 0; p < planes; p++)
        for (let j = 0; j < w; j += Math.max(1, w >> 2)) {
          const col = new Float64Array(2 * h);
          for (let i = 0; i < h; i++)
            col.set(x.subarray(2 * ((p * h + i) * w + j), 2 * ((p * h + i) * w + j) + 2), 2 * i);
          const ref = dft(col, h);
          const got = new Float64Array(2 * h);
          for (let i = 0; i < h; i++)
            got.set(gc.subarray(2 * ((p * h + i) * w + j), 2 * ((p * h + i) * w + j) + 2), 2 * i);
          expect(relMaxErr(got, ref)).toBeLessThan(TOL);
        }
      e.release(t, c);
    }
  });

  it('satisfies Parseval (orthonormal scaling) on a 2-D transform', async () => {
    const [planes, h, w] = [2, 96, 80];
    const x = randomArray(planes * h * w * 2, 5);
    const t = e.upload(x, [planes, h, w, 2]);
    fft2d(e, t, { planes, h, w }, false, 1 / Math.sqrt(h * w));
    const g = await e.read(t);
    const e0 = x.reduce((s, v) => s + v * v, 0),
      e1 = g.reduce((s, v) => s + v * v, 0);
    expect(Math.abs(e1 - e0) / e0).toBeLessThan(1e-6);
  });

  it('fused column filter = FFT, multiply by (conj) filter, inverse FFT', async () => {
    for (const [h, w] of [
      [20, 6],
      [128, 5],
    ]) {
      const planes = 2;
      const x = randomArray(planes * h * w * 2, 11);
      const f = randomArray(h * w * 2, 12);
      for (const conj of [false, true]) {
        const t = e.upload(x, [planes, h, w, 2]);
        fftFilterCols(e, t, { planes, h, w }, e.upload(f, [h, w, 2]), conj);
        const g = await e.read(t);
        const ref = new Float64Array(x.length);
        for (let p = 0; p < planes; p++)
          for (let j = 0; j < w; j++) {
            const col = new Float64Array(2 * h);
            for (let i = 0; i < h; i++)
              col.set(x.subarray(2 * ((p * h + i) * w + j), 2 * ((p * h + i) * w + j) + 2), 2 * i);
            const X = dft(col, h);
            for (let i = 0; i < h; i++) {
              const fr = f[2 * (i * w + j)],
                fi = (conj ? -1 : 1) * f[2 * (i * w + j) + 1];
              const [a, b] = [X[2 * i], X[2 * i + 1]];
              X[2 * i] = a * fr - b * fi;
              X[2 * i + 1] = a * fi + b * fr;
            }
            const y = dft(X, h, true, 1 / h);
            for (let i = 0; i < h; i++) ref.set(y.subarray(2 * i, 2 * i + 2), 2 * ((p * h + i) * w + j));
          }
        expect(relMaxErr(g, ref), `${h}x${w} conj=${conj}`).toBeLessThan(TOL);
      }
    }
  });
});
