import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import {
  addChannelBias,
  avgPool2x,
  avgPool2xAdjoint,
  concatChannels,
  sliceChannels,
  upsample2x,
  upsample2xAdjoint,
} from '../src/engine/ops/layout.js';
import { avgPool2xRef, concatRef, dot, upsample2xRef } from './reference/layout.js';
import { getTestEngine, randomArray, relMaxErr } from './helpers.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

// These ops only copy or average 4 values: results must equal the float64 reference to f32 rounding
// of the result (≤ 2^-24 relative), so the tolerance is 1e-6.
describe('resampling and channel ops', () => {
  const [n, c, h, w] = [2, 3, 6, 10];
  const x = randomArray(n * c * h * w, 3);

  it('upsample2x and its adjoint', async () => {
    const t = e.upload(x, [n, c, h, w]);
    const up = upsample2x(e, t);
    expect(up.shape).toEqual([n, c, 2 * h, 2 * w]);
    expect(relMaxErr(await e.read(up), upsample2xRef(x, n * c, h, w))).toBeLessThan(1e-6);
    const g = randomArray(up.size, 4);
    const adj = await e.read(upsample2xAdjoint(e, e.upload(g, up.shape)));
    // <U x, g> = <x, Uᵀ g>
    const lhs = dot(upsample2xRef(x, n * c, h, w), g);
    expect(Math.abs(lhs - dot(x, adj)) / Math.abs(lhs)).toBeLessThan(1e-5);
  });

  it('avgPool2x and its adjoint', async () => {
    const t = e.upload(x, [n, c, h, w]);
    const p = avgPool2x(e, t);
    expect(relMaxErr(await e.read(p), avgPool2xRef(x, n * c, h, w))).toBeLessThan(1e-6);
    const g = randomArray(p.size, 5);
    const adj = await e.read(avgPool2xAdjoint(e, e.upload(g, p.shape)));
    const lhs = dot(avgPool2xRef(x, n * c, h, w), g);
    expect(Math.abs(lhs - dot(x, adj)) / Math.abs(lhs)).toBeLessThan(1e-5);
    expect(() => avgPool2x(e, e.upload(new Float32Array(9), [1, 1, 3, 3]))).toThrow(/not even/);
  });

  it('concat, slice (its adjoint) and the primal-only channel bias', async () => {
    const b = randomArray(n * 5 * h * w, 6);
    const ta = e.upload(x, [n, c, h, w]);
    const tb = e.upload(b, [n, 5, h, w]);
    const cat = concatChannels(e, ta, tb);
    const ref = concatRef(x, b, n, c, 5, h * w);
    expect(relMaxErr(await e.read(cat), ref)).toBe(0);
    expect(relMaxErr(await e.read(sliceChannels(e, cat, c, 5)), b)).toBe(0);
    expect(relMaxErr(await e.read(sliceChannels(e, cat, 0, c)), x)).toBe(0);
    // bias on the primal block (first image) only, as forward-mode stacks need
    const bias = randomArray(1 * c, 7);
    const out = await e.read(addChannelBias(e, ta, e.upload(bias, [1, c]), 1));
    for (let i = 0; i < x.length; i++) {
      const img = Math.floor(i / (c * h * w));
      const ch = Math.floor(i / (h * w)) % c;
      expect(out[i]).toBeCloseTo(x[i] + (img === 0 ? bias[ch] : 0), 6);
    }
  });
});
