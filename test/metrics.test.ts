import { describe, expect, it } from 'vitest';
import { loadFmnistFixture } from '../src/io/fmnist.ts';
import { gaussianTaps, meanStd, perImage, psnr, ssim } from '../src/io/metrics.ts';
import { randomArray } from './helpers.ts';

const noisy = (a: Float32Array, seed: number, s: number) => {
  const n = randomArray(a.length, seed);
  return a.map((v, i) => v + s * n[i]);
};

describe('psnr', () => {
  it('matches hand-computed values on the [-1,1] -> [0,1] convention', () => {
    // a uniform error of 0.2 in [-1,1] is 0.1 in [0,1]: MSE 0.01 -> 20 dB
    expect(psnr([0.2, -0.2, 0.5], [0, -0.4, 0.3])).toBeCloseTo(20, 12);
    // one of four pixels off by the full range: MSE 1/4 -> 10 log10(4)
    expect(psnr([1, 0, 0, 0], [-1, 0, 0, 0])).toBeCloseTo(10 * Math.log10(4), 12);
    expect(psnr([0.3, 0.1], [0.3, 0.1])).toBe(Infinity);
  });
  it('clamps values outside [-1, 1] first', () => {
    expect(psnr([3, -5], [1, -1])).toBe(Infinity);
  });
  it('rejects images of different sizes', () => {
    expect(() => psnr([1, 2], [1])).toThrow(/2 and 1 values/);
  });
});

describe('ssim', () => {
  it('is 1 for identical images (gray and RGB)', () => {
    const a = randomArray(3 * 20 * 24, 11);
    expect(ssim(a, a, [3, 20, 24])).toBeCloseTo(1, 14);
    expect(ssim(a.subarray(0, 480), a.subarray(0, 480), [20, 24])).toBeCloseTo(1, 14);
  });

  it('equals (2ab + C1) / (a² + b² + C1) for two constant images', () => {
    // constant images: no variance or covariance, so the contrast/structure term is C2 / C2 = 1
    const a = new Float32Array(121).fill(-0.5); // 0.25 in [0,1]
    const b = new Float32Array(121).fill(0.5); //  0.75 in [0,1]
    const C1 = 0.01 ** 2;
    const expected = (2 * 0.25 * 0.75 + C1) / (0.25 ** 2 + 0.75 ** 2 + C1); // 0.600064...
    // 1e-12: E[x²] − E[x]² leaves ~1e-17 of rounding, against C2 = 9e-4
    expect(ssim(a, b, [11, 11])).toBeCloseTo(expected, 12);
  });

  it('equals the formula written out directly on an 11×11 image (a single window)', () => {
    const a = randomArray(121, 21);
    const b = noisy(a, 22, 0.4);
    const u = (v: number) => (Math.min(1, Math.max(-1, v)) + 1) / 2;
    // 2-D Gaussian weights over the whole image, normalised (not the separable code path)
    let wsum = 0;
    const w = Array.from({ length: 121 }, (_, i) => {
      const dy = Math.floor(i / 11) - 5,
        dx = (i % 11) - 5;
      const v = Math.exp(-(dx * dx + dy * dy) / (2 * 1.5 * 1.5));
      wsum += v;
      return v;
    }).map((v) => v / wsum);
    let mx = 0,
      my = 0;
    for (let i = 0; i < 121; i++) {
      mx += w[i] * u(a[i]);
      my += w[i] * u(b[i]);
    }
    let vx = 0,
      vy = 0,
      cxy = 0;
    for (let i = 0; i < 121; i++) {
      vx += w[i] * (u(a[i]) - mx) ** 2;
      vy += w[i] * (u(b[i]) - my) ** 2;
      cxy += w[i] * (u(a[i]) - mx) * (u(b[i]) - my);
    }
    const C1 = 1e-4,
      C2 = 9e-4;
    const expected = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
    expect(ssim(b, a, [1, 11, 11])).toBeCloseTo(expected, 12);
  });

  // Reference values from skimage 0.19.3 (Debian python3-skimage):
  //   structural_similarity(ref01, x01, data_range=1, gaussian_weights=True, sigma=1.5,
  //                         use_sample_covariance=False[, channel_axis=0])
  // on the same inputs mapped to [0, 1] (clamped); our values agreed to 4e-16.
  it('matches skimage structural_similarity (gray, RGB, a Fashion-MNIST image)', () => {
    const g = randomArray(256, 3);
    expect(ssim(noisy(g, 4, 0.3), g, [1, 16, 16])).toBeCloseTo(0.954516953736432, 12);
    const c = randomArray(3 * 12 * 13, 5);
    expect(ssim(noisy(c, 6, 0.5), c, [3, 12, 13])).toBeCloseTo(0.8917248208087138, 12);
    const f = loadFmnistFixture().x.slice(0, 1024);
    expect(ssim(noisy(f, 7, 0.2), f, [1, 32, 32])).toBeCloseTo(0.6804303647088225, 12);
    // skimage.metrics.peak_signal_noise_ratio(ref01, x01, data_range=1) on the same pairs
    expect(psnr(noisy(g, 4, 0.3), g)).toBeCloseTo(21.209461277286184, 10);
    expect(psnr(noisy(f, 7, 0.2), f)).toBeCloseTo(26.706351072804, 10);
  });

  it('is symmetric and drops with more noise', () => {
    const a = randomArray(32 * 32, 31);
    const b1 = noisy(a, 32, 0.1);
    const b2 = noisy(a, 32, 0.5);
    expect(ssim(a, b1, [32, 32])).toBeCloseTo(ssim(b1, a, [32, 32]), 14);
    expect(ssim(b1, a, [32, 32])).toBeGreaterThan(ssim(b2, a, [32, 32]));
  });

  it('rejects images smaller than the window and mismatched shapes', () => {
    expect(() => ssim(new Float32Array(100), new Float32Array(100), [10, 10])).toThrow(/smaller than the 11×11 window/);
    expect(() => ssim(new Float32Array(144), new Float32Array(144), [2, 12, 12])).toThrow(/needs 288 values/);
  });

  it('uses normalised Gaussian taps of radius 5', () => {
    const t = gaussianTaps();
    expect(t.length).toBe(11);
    expect(t.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
    expect(t[5] / t[4]).toBeCloseTo(Math.exp(0.5 / 2.25), 14);
  });
});

describe('perImage / meanStd', () => {
  it('computes per-image values and population std', () => {
    const ref = randomArray(2 * 1 * 12 * 12, 41);
    const x = noisy(ref, 42, 0.2);
    const ps = perImage('psnr', x, ref, [2, 1, 12, 12]);
    expect(ps[1]).toBeCloseTo(psnr(x.subarray(144), ref.subarray(144)), 12);
    const ss = perImage('ssim', x, ref, [2, 1, 12, 12]);
    expect(ss[0]).toBeCloseTo(ssim(x.subarray(0, 144), ref.subarray(0, 144), [12, 12]), 12);
    expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(1.25) });
  });
});
