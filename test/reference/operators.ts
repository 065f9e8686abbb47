// Float64 references for the measurement operators, written directly from the DPS/PyTorch definitions
// (loops over the formulas, no FFT, no separability tricks).

/** PyTorch ReflectionPad2d index (no edge repeat). */
export function reflectIndex(t: number, n: number): number {
  if (t < 0) t = -t;
  if (t >= n) t = 2 * (n - 1) - t;
  return t;
}

/** ReflectionPad2d(k//2) + depthwise conv2d (cross-correlation), kernel k×k on every plane. */
export function blurReference(x: ArrayLike<number>, planes: number, h: number, w: number, kernel: ArrayLike<number>, k: number): Float64Array {
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
  const a = Math.abs(x), a2 = a * a, a3 = a2 * a;
  return (1.5 * a3 - 2.5 * a2 + 1) * +(a <= 1) + (-0.5 * a3 + 2.5 * a2 - 4 * a + 2) * +(1 < a && a <= 2);
}

/** DPS util/resizer.py Resizer.contributions for one axis (cubic, antialiased when downscaling). */
export function resizerContributions(inLen: number, outLen: number, scale: number) {
  const anti = scale < 1;
  const kernel = anti ? (t: number) => scale * cubic(scale * t) : cubic;
  const kw = anti ? 4 / scale : 4;
  const expanded = Math.ceil(kw) + 2;
  const weights: number[][] = [], fov: number[][] = [];
  const mirror = [...Array(inLen).keys(), ...[...Array(inLen).keys()].reverse()];
  for (let o = 1; o <= outLen; o++) {
    const shifted = o - (outLen - inLen * scale) / 2;
    const match = shifted / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(match - kw / 2);
    const f: number[] = [], wts: number[] = [];
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
export function resizeReference(x: ArrayLike<number>, planes: number, h: number, w: number, scale: number): { y: Float64Array; oh: number; ow: number } {
  const oh = Math.ceil(h * scale), ow = Math.ceil(w * scale);
  const ch = resizerContributions(h, oh, scale), cw = resizerContributions(w, ow, scale);
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
