import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import {
  cpuRademacher,
  cpuRandn,
  cpuUniform,
  philox4x32,
  PhiloxStream,
  randn,
  randRademacher,
  randUniform,
} from '../src/engine/ops/random.js';
import { getTestEngine } from './helpers.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

const hex = (a: number[]) => a.map((v) => v.toString(16).padStart(8, '0')).join(' ');

describe('Philox4x32-10 random tensors', () => {
  it('matches the Random123 known-answer vectors', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const f = 0xffffffff;
    expect(hex(philox4x32([f, f, f, f], [f, f]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe(
      'd16cfe09 94fdcceb 5001e420 24126ea1',
    );
  });

  it('GPU uniform and Rademacher equal the CPU generator exactly; randn to f32 rounding', async () => {
    // 1e3+3 elements: a partial last block. Seeds above 2^32 exercise the high key word.
    const n = 1003,
      seed = 2 ** 33 + 12345,
      off = 7;
    const u = await e.read(randUniform(e, [n], seed, off));
    const r = await e.read(randRademacher(e, [n], seed, off));
    const z = await e.read(randn(e, [n], seed, off));
    const [cu, cr, cz] = [cpuUniform(n, seed, off), cpuRademacher(n, seed, off), cpuRandn(n, seed, off)];
    for (let i = 0; i < n; i++) {
      expect(u[i]).toBe(Math.fround(cu[i]));
      expect(r[i]).toBe(cr[i]);
      // |z| < 6; f32 log/sqrt/cos with |θ| ≤ 2π: a few ulp of 6 plus the angle error ≈ 1e-5 absolute.
      expect(Math.abs(z[i] - cz[i])).toBeLessThan(2e-5 * Math.max(1, Math.abs(cz[i])));
    }
  });

  it('depends only on (seed, offset, index): shape-independent, offsets give new streams', async () => {
    const a = await e.read(randn(e, [4, 25], 5, 3));
    const b = await e.read(randn(e, [37], 5, 3));
    for (let i = 0; i < 37; i++) expect(a[i]).toBe(b[i]);
    const c = await e.read(randn(e, [100], 5, 4));
    const d = await e.read(randn(e, [100], 6, 3));
    let same = 0;
    for (let i = 0; i < 100; i++) same += +(a[i] === c[i]) + +(a[i] === d[i]);
    expect(same).toBe(0);
  });

  it('randn has mean 0, variance 1, normal tails (n = 2^18)', async () => {
    const n = 1 << 18;
    const z = await e.read(randn(e, [n], 42, 0, 2, 1));
    let s = 0,
      s2 = 0,
      tail = 0;
    for (const v of z) {
      const w = (v - 1) / 2;
      s += w;
      s2 += w * w;
      if (Math.abs(w) > 2) tail++;
    }
    // standard errors: mean 1/√n = 0.002, variance √(2/n) = 0.0028, P(|z|>2) = 0.0455 ± 0.0004
    expect(Math.abs(s / n)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.015);
    expect(Math.abs(tail / n - 0.0455)).toBeLessThan(0.002);
  });

  it('rejects bad seeds; the CPU stream is reproducible', () => {
    expect(() => randn(e, [4], -1)).toThrow(/seed/);
    expect(() => randn(e, [4], 1.5)).toThrow(/seed/);
    const s1 = new PhiloxStream(9),
      s2 = new PhiloxStream(9);
    const xs = Array.from({ length: 10 }, () => s1.uniform());
    expect(xs).toEqual(Array.from({ length: 10 }, () => s2.uniform()));
    for (const x of xs) expect(x > 0 && x < 1).toBe(true);
    const ints = Array.from({ length: 1000 }, () => s1.int(3, 7));
    expect(Math.min(...ints)).toBe(3);
    expect(Math.max(...ints)).toBe(6);
  });
});
