// Float64 references for the measurement operators, written directly from the DPS/PyTorch definitions
// (loops over the formulas, no FFT, no separability tricks).

/** PyTorch ReflectionPad2d index (no edge repeat). */
export function reflectIndex(t: number, n: number): number {
  if (t < 0) t = -t;
  if (t >= n) t = 2 * (n - 1) - t;
  return t;
}

/** ReflectionPad2d(k//2) + depthwise conv2d (cross-correlation), kernel k×k on every plane. */
export function blurReference(
  x: ArrayLike<number>,
  planes: number,
  h: number,
  w: number,
  kernel: ArrayLike<number>,
  k: number,
): Float64Array {
  const r = (k - 1) / 2;
  const y = new Float64Array(planes * h * w);
  for (let c = 0; c < planes; c++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        let s = 0;
        for (let a = 0; a < k; a++) {
          const ii = reflectIndex(i + a - r, h);
          for (let b = 0; b < k; b++) s += kernel[a * k + b] * x[(c * h + ii) * w + reflectIndex(j + b - r, w)];
        }
        y[(c * h + i) * w + j] = s;
      }
  return y;
}

function cubic(x: number): number {
  const a = Math.abs(x),
    a2 = a * a,
    a3 = a2 * a;
  return (1.5 * a3 - 2.5 * a2 + 1) * +(a <= 1) + (-0.5 * a3 + 2.5 * a2 - 4 * a + 2) * +(1 < a && a <= 2);
}

/** DPS util/resizer.py Resizer.contributions for one axis (cubic, antialiased when downscaling). */
export function resizerContributions(inLen: number, outLen: number, scale: number) {
  const anti = scale < 1;
  const kernel = anti ? (t: number) => scale * cubic(scale * t) : cubic;
  const kw = anti ? 4 / scale : 4;
  const expanded = Math.ceil(kw) + 2;
  const weights: number[][] = [],
    fov: number[][] = [];
  const mirror = [...Array(inLen).keys(), ...[...Array(inLen).keys()].reverse()];
  for (let o = 1; o <= outLen; o++) {
    const shifted = o - (outLen - inLen * scale) / 2;
    const match = shifted / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(match - kw / 2);
    const f: number[] = [],
      wts: number[] = [];
    for (let t = 0; t < expanded; t++) {
      const pos = left + t - 1;
      f.push(pos);
      wts.push(kernel(match - pos - 1));
    }
    let sum = wts.reduce((a, b) => a + b, 0);
    if (sum === 0) sum = 1;
    weights.push(wts.map((v) => v / sum));
    fov.push(f.map((pos) => mirror[((pos % mirror.length) + mirror.length) % mirror.length]));
  }
  return { weights, fov };
}

/** Resizer.forward: along H then W (both scales equal), weights rounded to f32 as DPS stores them. */
export function resizeReference(
  x: ArrayLike<number>,
  planes: number,
  h: number,
  w: number,
  scale: number,
): { y: Float64Array; oh: number; ow: number } {
  const oh = Math.ceil(h * scale),
    ow = Math.ceil(w * scale);
  const ch = resizerContributions(h, oh, scale),
    cw = resizerContributions(w, ow, scale);
  const t = new Float64Array(planes * oh * w);
  for (let c = 0; c < planes; c++)
    for (let o = 0; o < oh; o++)
      for (let j = 0; j < w; j++) {
        let s = 0;
        ch.fov[o].forEach((pos, q) => (s += Math.fround(ch.weights[o][q]) * x[(c * h + pos) * w + j]));
        t[(c * oh + o) * w + j] = s;
      }
  const y = new Float64Array(planes * oh * ow);
  for (let c = 0; c < planes; c++)
    for (let i = 0; i < oh; i++)
      for (let o = 0; o < ow; o++) {
        let s = 0;
        cw.fov[o].forEach((pos, q) => (s += Math.fround(cw.weights[o][q]) * t[(c * oh + i) * w + pos]));
        y[(c * oh + i) * ow + o] = s;
      }
  return { y, oh, ow };
}

/** Σ a·b in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

import { dft2 } from './fft.js';

/** fastMRI fft2c of the zero-padded planes (ifftshift → orthonormal DFT → fftshift), complex interleaved. */
export function phaseSpectrumReference(x: ArrayLike<number>, planes: number, h: number, w: number, pad: number) {
  const l1 = h + 2 * pad,
    l2 = w + 2 * pad;
  const grid = new Float64Array(planes * l1 * l2 * 2);
  // ifftshift: grid[k] = padded[(k + ⌊l/2⌋) mod l]
  for (let c = 0; c < planes; c++)
    for (let k1 = 0; k1 < l1; k1++)
      for (let k2 = 0; k2 < l2; k2++) {
        const t1 = ((k1 + Math.floor(l1 / 2)) % l1) - pad,
          t2 = ((k2 + Math.floor(l2 / 2)) % l2) - pad;
        if (t1 >= 0 && t1 < h && t2 >= 0 && t2 < w) grid[2 * ((c * l1 + k1) * l2 + k2)] = x[(c * h + t1) * w + t2];
      }
  const Z = dft2(grid, planes, l1, l2, false, 1 / Math.sqrt(l1 * l2));
  // fftshift: out[j] = Z[(j − ⌊l/2⌋) mod l]
  const out = new Float64Array(Z.length);
  for (let c = 0; c < planes; c++)
    for (let j1 = 0; j1 < l1; j1++)
      for (let j2 = 0; j2 < l2; j2++) {
        const k1 = (j1 - Math.floor(l1 / 2) + l1) % l1,
          k2 = (j2 - Math.floor(l2 / 2) + l2) % l2;
        const s = 2 * ((c * l1 + k1) * l2 + k2),
          d = 2 * ((c * l1 + j1) * l2 + j2);
        out[d] = Z[s];
        out[d + 1] = Z[s + 1];
      }
  return { z: out, l1, l2 };
}

/** |fft2c(pad(x))| */
export function phaseReference(x: ArrayLike<number>, planes: number, h: number, w: number, pad: number): Float64Array {
  const { z } = phaseSpectrumReference(x, planes, h, w, pad);
  const y = new Float64Array(z.length / 2);
  for (let i = 0; i < y.length; i++) y[i] = Math.hypot(z[2 * i], z[2 * i + 1]);
  return y;
}

/** ∂/∂a log p(y | a), float64: Gaussian (y − a)/σ²; DPS-rate Poisson (k/λ − 1)·s/2 (λ floored, 0 when clamped). */
export function logLikGradReference(
  kind: 'gaussian' | 'poisson',
  level: number,
  y: ArrayLike<number>,
  a: ArrayLike<number>,
  floor = 0.5,
): Float64Array {
  const g = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    if (kind === 'gaussian') g[i] = (y[i] - a[i]) / level ** 2;
    else {
      const s = 255 * level,
        t = (a[i] + 1) / 2;
      if (t > 0 && t < 1) g[i] = ((Math.max((y[i] + 1) / 2, 0) * s) / Math.max(t * s, floor) - 1) * (s / 2);
    }
  }
  return g;
}
