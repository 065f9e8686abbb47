// Kernels (scipy Gaussian, motionblur + Pillow port), masks (DPS protocol), noise (DPS conventions) and
// the log-likelihood gradients.
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { gaussianKernel1d, motionBlurKernel, rasterizeMotionPath } from '../src/operators/kernels.js';
import { boxMask, maskFromPng, randomMask } from '../src/operators/masks.js';
import { addNoise, logLikelihood, logLikelihoodGrad } from '../src/operators/noise.js';
import { operatorOptionsFromFlags } from '../src/cli/operator-flags.js';
import { fixture, getTestEngine, randomArray, relMaxErr } from './helpers.js';
import { logLikGradReference } from './reference/operators.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

describe('blur kernels', () => {
  it('Gaussian 1-D factor: normalised, symmetric, reflect-folded when the support exceeds the size', () => {
    for (const [size, std] of [
      [61, 3],
      [61, 5],
      [21, 8],
    ]) {
      const g = gaussianKernel1d(size, std);
      expect(Math.abs(g.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-14);
      for (let i = 0; i < size; i++) expect(g[i]).toBeCloseTo(g[size - 1 - i], 15);
    }
    // std 3, size 61: radius 12 fits, so the centre tap is the plain normalised Gaussian's
    let s = 0;
    for (let x = -12; x <= 12; x++) s += Math.exp(-(x * x) / 18);
    expect(gaussianKernel1d(61, 3)[30]).toBeCloseTo(1 / s, 15);
  });

  it("motion kernels: Pillow's line / GaussianBlur / LANCZOS steps reproduced bit for bit (Pillow 9.4 fixture)", () => {
    const fx = JSON.parse(readFileSync(fixture('motion-pillow.json'), 'utf8'));
    for (const c of fx.cases) {
      const img = rasterizeMotionPath(c.path, c.size);
      expect(Array.from(img), `size ${c.size} seed ${c.seed}`).toEqual(c.image);
      // and the path is what our generator draws for that seed
      expect(motionBlurKernel(c.size, c.intensity, c.seed).path).toEqual(c.path);
    }
  });

  it('motion kernels: normalised, non-negative, reproducible per seed, different across seeds', () => {
    const a = motionBlurKernel(61, 0.5, 11),
      b = motionBlurKernel(61, 0.5, 11),
      c = motionBlurKernel(61, 0.5, 12);
    expect(a.kernel).toEqual(b.kernel);
    expect(relMaxErr(a.kernel, c.kernel)).toBeGreaterThan(0.1);
    expect(Math.abs(a.kernel.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-5);
    expect(a.kernel.every((v) => v >= 0)).toBe(true);
    expect(() => motionBlurKernel(61, 1.5)).toThrow(/intensity/);
  });
});

describe('masks', () => {
  it('box: DPS geometry scaled to the image, random placement inside the margins, seeded', () => {
    const tops = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const b = boxMask(256, 256, { seed });
      expect(b.size).toEqual([128, 128]);
      // numpy randint(16, 256 − 16 − 128): [16, 112)
      expect(b.top).toBeGreaterThanOrEqual(16);
      expect(b.top).toBeLessThan(112);
      expect(b.left).toBeGreaterThanOrEqual(16);
      expect(b.left).toBeLessThan(112);
      tops.add(b.top);
      expect(b.mask.reduce((s, v) => s + v, 0)).toBe(256 * 256 - 128 * 128);
    }
    expect(tops.size).toBeGreaterThan(50);
    const small = boxMask(64, 64, { seed: 3 });
    expect(small.size).toEqual([32, 32]);
    expect(small.top).toBeGreaterThanOrEqual(4);
    expect(small.top).toBeLessThan(28);
    const fixed = boxMask(8, 8, { size: [2, 3], top: 1, left: 4 });
    expect(fixed.mask[1 * 8 + 4]).toBe(0);
    expect(fixed.mask[1 * 8 + 7]).toBe(1);
    expect(boxMask(64, 64, { seed: 5 }).mask).toEqual(boxMask(64, 64, { seed: 5 }).mask);
    expect(() => boxMask(8, 8, { size: 4, top: 6, left: 0 })).toThrow(/leaves/);
  });

  it('random: exactly ⌊hw·p⌋ pixels dropped, seeded; p may be drawn from a range as in DPS config', () => {
    const r = randomMask(64, 48, { p: 0.92, seed: 1 });
    expect(r.mask.filter((v) => v === 0).length).toBe(Math.floor(64 * 48 * 0.92));
    expect(randomMask(64, 48, { seed: 1 }).mask).toEqual(r.mask);
    expect(relMaxErr(randomMask(64, 48, { seed: 2 }).mask, r.mask)).toBeGreaterThan(0);
    const q = randomMask(32, 32, { pRange: [0.3, 0.7], seed: 4 });
    expect(q.p).toBeGreaterThanOrEqual(0.3);
    expect(q.p).toBeLessThan(0.7);
    expect(q.mask.filter((v) => v === 0).length).toBe(Math.floor(1024 * q.p));
  });

  it('PNG: white = observed, black = missing (invertible); size must match', () => {
    const png = new PNG({ width: 4, height: 3 });
    for (let i = 0; i < 12; i++) png.data.set(i % 3 === 0 ? [0, 0, 0, 255] : [255, 255, 255, 255], 4 * i);
    const bytes = new Uint8Array(PNG.sync.write(png));
    const m = maskFromPng(bytes, 3, 4);
    expect(Array.from(m)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 0 : 1)));
    expect(Array.from(maskFromPng(bytes, 3, 4, { invert: true }))).toEqual(Array.from(m, (v) => 1 - v));
    expect(() => maskFromPng(bytes, 4, 4)).toThrow(/4×3/);
  });
});

describe('measurement noise (DPS conventions)', () => {
  it('Gaussian: y + σ·n with n ~ N(0, I), reproducible per (seed, offset)', async () => {
    const n = 1 << 16;
    const ys = randomArray(n, 3);
    const y = e.upload(ys, [1, n]);
    const a = await e.read(addNoise(e, y, { kind: 'gaussian', level: 0.05 }, 7));
    const b = await e.read(addNoise(e, y, { kind: 'gaussian', level: 0.05 }, 7));
    expect(a).toEqual(b);
    let m = 0,
      v = 0;
    for (let i = 0; i < n; i++) {
      const d = a[i] - ys[i];
      m += d;
      v += d * d;
    }
    expect(Math.abs(m / n)).toBeLessThan(0.05 * 0.01);
    expect(Math.abs(Math.sqrt(v / n) / 0.05 - 1)).toBeLessThan(0.01);
  });

  it('Poisson: counts have mean = variance = λ in both sampler regimes (λ < 10 and PTRS)', async () => {
    const n = 1 << 16;
    for (const [rate, t] of [
      [0.04, 0.2],
      [1.0, 0.3],
      [1.0, 0.6],
    ]) {
      const s = 255 * rate,
        lam = t * s;
      const y = e.upload(new Float32Array(n).fill(2 * t - 1), [n]);
      const out = await e.read(addNoise(e, y, { kind: 'poisson', level: rate }, 3));
      // invert DPS's mapping back to counts (its clamp at 1 cuts k > s: P(k > s) < 1e-5 for these λ)
      const k = Array.from(out, (v) => Math.round(((v + 1) / 2) * s));
      const mean = k.reduce((a, b) => a + b, 0) / n;
      const vari = k.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
      // standard errors: mean √(λ/n), variance ≈ λ√(2/n)
      expect(Math.abs(mean - lam), `λ=${lam}`).toBeLessThan(5 * Math.sqrt(lam / n));
      expect(Math.abs(vari / lam - 1), `λ=${lam}`).toBeLessThan(5 * Math.sqrt(2 / n) + 0.01);
      expect(k.every((v) => Number.isInteger(v) && v >= 0)).toBe(true);
    }
  });

  it('log-likelihood gradients: the float64 rule = central differences; the GPU = the rule', async () => {
    const n = 512;
    const f64 = (seed: number) => Float64Array.from(randomArray(n, seed), (v) => 0.9 * v);
    const ys = f64(1),
      as = f64(2),
      vs = f64(3);
    for (const noise of [
      { kind: 'gaussian', level: 0.05 },
      { kind: 'poisson', level: 0.5 },
    ] as const) {
      const g = logLikGradReference(noise.kind, noise.level, ys, as);
      const h = 1e-6;
      const f = (s: number) =>
        logLikelihood(
          noise,
          ys,
          as.map((v, i) => v + s * vs[i]),
        );
      const fd = (f(h) - f(-h)) / (2 * h);
      const dg = g.reduce((s, gi, i) => s + gi * vs[i], 0);
      expect(Math.abs(dg - fd) / Math.abs(fd), noise.kind).toBeLessThan(1e-6);
      const gpu = await e.read(
        logLikelihoodGrad(e, noise, e.upload(Float32Array.from(ys), [n]), e.upload(Float32Array.from(as), [n])),
      );
      expect(relMaxErr(gpu, g), noise.kind).toBeLessThan(1e-5);
    }
    expect(() => logLikelihoodGrad(e, { kind: 'none', level: 0 }, e.tensor([4]), e.tensor([4]))).toThrow(/noiseless/);
  });
});

describe('CLI option mapping', () => {
  it('maps parsed flags to operator options', () => {
    const o = operatorOptionsFromFlags({
      boxSize: [40],
      maskPRange: [0.3, 0.7],
      intensity: 0.3,
      blurMethod: 'fft',
      pad: 32,
      seed: 4,
    });
    expect(o).toMatchObject({
      boxSize: [40, 40],
      maskPRange: [0.3, 0.7],
      motionIntensity: 0.3,
      blurMethod: 'fft',
      pad: 32,
      seed: 4,
    });
    expect(() => operatorOptionsFromFlags({ boxSize: [1, 2, 3] })).toThrow(/box-size/);
  });
});
