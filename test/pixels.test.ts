// Pixels → model images (src/io/pixels.ts): the one conversion the CLI's PNG reader and the page share —
// BT.601 gray, the 28→32 Fashion-MNIST padding, centre-crop and resampling to the model's size.
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../src/io/png.js';
import { fitImage, grayOf, resampleWeights, rgbaToImage } from '../src/io/pixels.js';
import { clock, rgbaToModel } from '../web/image.js';
import { randomArray } from './helpers.js';

/** float64 reference: resample one axis of m samples to n by integrating the piecewise-constant input (down) */
function areaRef(v: number[], n: number): number[] {
  const m = v.length;
  return Array.from({ length: n }, (_, i) => {
    const a = (i * m) / n;
    const b = ((i + 1) * m) / n;
    let s = 0;
    for (let k = 0; k < m; k++) s += Math.max(0, Math.min(b, k + 1) - Math.max(a, k)) * v[k];
    return s / (b - a);
  });
}

describe('pixels', () => {
  it('gray is BT.601 luma, exact for gray pixels', () => {
    expect(grayOf(1, 0, 0)).toBeCloseTo(0.299, 15);
    expect(grayOf(0, 1, 0)).toBeCloseTo(0.587, 15);
    expect(grayOf(0, 0, 1)).toBeCloseTo(0.114, 15);
    for (const u of [0, 1 / 255, 0.5, 77 / 255, 1]) expect(grayOf(u, u, u)).toBe(u);
  });

  it('the CLI (decodePng) and the page (rgbaToModel) give the same tensor for a colour PNG', () => {
    const W = 64,
      H = 48;
    const png = new PNG({ width: W, height: H });
    const rnd = randomArray(W * H * 3, 3);
    for (let i = 0; i < W * H; i++) {
      for (let c = 0; c < 3; c++) png.data[4 * i + c] = Math.floor((rnd[3 * i + c] * 0.5 + 0.5) * 255) & 255;
      png.data[4 * i + 3] = 255;
    }
    const bytes = new Uint8Array(PNG.sync.write(png));
    const cli = decodePng(bytes, { channels: 1 });
    const rgba = PNG.sync.read(Buffer.from(bytes)).data;
    const page = rgbaToModel(new Uint8Array(rgba), W, H, 1, 32);
    // the page also fits the size; the CLI's tensor, fitted the same way, is the page's bit for bit
    const fitted = fitImage(cli.data, [1, H, W], 32);
    expect(page.fit).toBe('resized');
    expect(Array.from(page.data)).toEqual(Array.from(fitted.data));
    // and the gray of pixel 0 is BT.601 of its bytes
    const [r, g, b] = [rgba[0], rgba[1], rgba[2]].map((u) => u / 255);
    expect(cli.data[0]).toBeCloseTo(grayOf(r, g, b) * 2 - 1, 6);
    // colour models get the three planes
    const rgb = rgbaToImage(rgba, W, H, 3);
    expect(rgb[W * H]).toBeCloseTo((rgba[1] / 255) * 2 - 1, 6);
  });

  it('fits: as is, 28→32 padded with −1, otherwise centre-crop + area average (down) / bilinear (up)', () => {
    const same = new Float32Array(32 * 32).fill(0.25);
    expect(fitImage(same, [1, 32, 32], 32).fit).toBe('exact');

    const small = new Float32Array(28 * 28).fill(0.5);
    const padded = fitImage(small, [1, 28, 28], 32);
    expect(padded.fit).toBe('padded');
    expect(padded.data[0]).toBe(-1);
    expect(padded.data[2 * 32 + 2]).toBe(0.5);
    expect(padded.data[29 * 32 + 29]).toBe(0.5);
    expect(padded.data[30 * 32 + 30]).toBe(-1);

    // a 96×64 picture: the centre 64×64 (columns 16..79) averaged 2×2 → 32×32; outside columns ignored
    const H = 64,
      W = 96;
    const pic = randomArray(H * W, 9);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (x < 16 || x >= 80) pic[y * W + x] = 100;
    const down = fitImage(pic, [1, H, W], 32);
    expect(down.shape).toEqual([1, 32, 32]);
    for (const [i, j] of [
      [0, 0],
      [5, 17],
      [31, 31],
    ]) {
      const want =
        (pic[2 * i * W + 16 + 2 * j] +
          pic[2 * i * W + 17 + 2 * j] +
          pic[(2 * i + 1) * W + 16 + 2 * j] +
          pic[(2 * i + 1) * W + 17 + 2 * j]) /
        4;
      expect(down.data[i * 32 + j]).toBeCloseTo(want, 5);
    }

    // non-integer ratios: each axis is the exact integral average (float64 reference)
    for (const [m, n] of [
      [45, 32],
      [100, 32],
      [33, 32],
    ]) {
      const v = Array.from(randomArray(m, m));
      const w = resampleWeights(m, n);
      const got = w.map((row) => row.reduce((a, [k, c]) => a + c * v[k], 0));
      const ref = areaRef(v, n);
      for (let i = 0; i < n; i++) expect(got[i]).toBeCloseTo(ref[i], 12);
      for (const row of w) expect(row.reduce((a, [, c]) => a + c, 0)).toBeCloseTo(1, 12);
    }

    // enlarging 16→32: bilinear with half-pixel centres (PyTorch align_corners=False): out[2k+1] = ¾ v[k] + ¼ v[k+1]
    const v = Array.from(randomArray(16, 4));
    const up = resampleWeights(16, 32).map((row) => row.reduce((a, [k, c]) => a + c * v[k], 0));
    expect(up[0]).toBeCloseTo(v[0], 12); // clamped at the edge
    expect(up[3]).toBeCloseTo(0.75 * v[1] + 0.25 * v[2], 12);
    expect(up[4]).toBeCloseTo(0.25 * v[1] + 0.75 * v[2], 12);
  });

  it('formats times as m:ss', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(59.4)).toBe('0:59');
    expect(clock(59.6)).toBe('1:00');
    expect(clock(754)).toBe('12:34');
    expect(clock(Infinity)).toBe('–:––');
  });
});
