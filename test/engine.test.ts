import { describe, expect, it, beforeAll } from 'vitest';
import { Engine } from '../src/engine/index.js';
import { axpby, lincomb, rowSumSq, rowDot, affineClamp, VECTOR } from '../src/engine/ops/vector.js';
import { getTestEngine } from './helpers.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

function rand(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

describe('engine + vector ops', () => {
  it('axpby, lincomb, clamp match the CPU (exact up to f32 rounding)', async () => {
    const n = 70_001;
    const a = rand(n, 1),
      b = rand(n, 2);
    const ta = e.upload(a, [n]),
      tb = e.upload(b, [n]);
    const tc = lincomb(e, 0.5, ta, -2, tb);
    axpby(e, 3, ta, 0.25, tb);
    const cl = affineClamp(e, ta, 2, 0.5, -1, 1);
    const [c, bb, cc] = [await e.read(tc), await e.read(tb), await e.read(cl)];
    for (let i = 0; i < n; i++) {
      expect(Math.abs(c[i] - (0.5 * a[i] - 2 * b[i]))).toBeLessThan(1e-6);
      expect(Math.abs(bb[i] - (3 * a[i] + 0.25 * b[i]))).toBeLessThan(1e-6);
      expect(Math.abs(cc[i] - Math.min(1, Math.max(-1, 2 * a[i] + 0.5)))).toBeLessThan(1e-6);
    }
  });

  it('row reductions match float64 sums to 1e-5 relative', async () => {
    const rows = 3,
      per = 12_345;
    const a = rand(rows * per, 5),
      b = rand(rows * per, 6);
    const ss = await e.read(rowSumSq(e, e.upload(a, [rows, per])));
    const dd = await e.read(rowDot(e, e.upload(a, [rows, per]), e.upload(b, [rows, per])));
    for (let r = 0; r < rows; r++) {
      let s = 0,
        d = 0;
      for (let j = 0; j < per; j++) {
        s += a[r * per + j] ** 2;
        d += a[r * per + j] * b[r * per + j];
      }
      expect(Math.abs(ss[r] - s) / s).toBeLessThan(1e-5);
      expect(Math.abs(dd[r] - d)).toBeLessThan(1e-5 * per ** 0.5 * 10);
    }
  });

  it('names the kernel on a compile error and rejects oversize grids', async () => {
    const t1 = e.tensor([4], 't1');
    expect(() => e.run({ kernel: VECTOR.copy, params: { n: 1 }, buffers: { x: t1, out: t1 }, grid: [1e9] })).toThrow(
      /maxComputeWorkgroupsPerDimension/,
    );
    e.release(t1);
    expect(() => e.tensor([0], 'empty')).toThrow(/invalid shape/);
  });

  it('profiles dispatches with GPU timestamps', async () => {
    const t = e.upload(rand(1 << 16), [1 << 16]);
    const u = e.upload(rand(1 << 16, 9), [1 << 16]);
    e.startProfiling();
    for (let i = 0; i < 3; i++) axpby(e, 1, t, 1, u);
    const recs = await e.stopProfiling();
    expect(recs.length).toBe(3);
    for (const r of recs) expect(r.ms).toBeGreaterThan(0);
  });
});
