// Blur kernels, built on the CPU in float64, exactly as the DPS code builds them.
//
// Gaussian: scipy.ndimage.gaussian_filter(delta, sigma=std) of a size×size centred delta (truncate 4.0,
// mode 'reflect'), which is the outer product of the 1-D filtered delta.
//
// Motion: the `motionblur` package (LeviBorodenko/motionblur, class Kernel) that DPS imports: a random
// camera path drawn with Pillow at twice the size, Pillow's GaussianBlur, Pillow's LANCZOS resize to the
// final size, normalised to sum 1. Every Pillow step is ported with its 8-bit fixed-point arithmetic;
// numpy's random draws are replaced by a Philox stream (same distributions, our seeds). See docs/operators.md.
import { PhiloxStream } from '../engine/ops/random.js';

/** scipy 'reflect' boundary (d c b a | a b c d | d c b a). */
function reflectScipy(t: number, n: number): number {
  const m = ((t % (2 * n)) + 2 * n) % (2 * n);
  return m < n ? m : 2 * n - 1 - m;
}

/** scipy.ndimage.gaussian_filter1d of a centred delta of length `size` (float64). */
export function gaussianKernel1d(size: number, std: number, truncate = 4.0): Float64Array {
  if (!(Number.isInteger(size) && size >= 1))
    throw new Error(`gaussian kernel: size must be a positive integer, got ${size}`);
  if (!(std > 0)) throw new Error(`gaussian kernel: std must be > 0, got ${std}`);
  const radius = Math.trunc(truncate * std + 0.5);
  const w = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let x = -radius; x <= radius; x++) sum += w[x + radius] = Math.exp((-0.5 / (std * std)) * x * x);
  for (let i = 0; i < w.length; i++) w[i] /= sum;
  // correlate1d(delta, w, mode='reflect'): out[i] = Σ_t w[t] · delta[reflect(i + t - radius)]
  const c = Math.floor(size / 2);
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    let s = 0;
    for (let t = 0; t < w.length; t++) if (reflectScipy(i + t - radius, size) === c) s += w[t];
    out[i] = s;
  }
  return out;
}

/** The DPS Gaussian blur kernel (size×size, row-major): outer product of gaussianKernel1d. */
export function gaussianKernel(size: number, std: number): Float64Array {
  const g = gaussianKernel1d(size, std);
  const k = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) k[i * size + j] = g[i] * g[j];
  return k;
}

// ------------------------------------------------------------------------------ motion blur

export interface MotionKernel {
  /** size×size, row-major (row = image y), sums to 1 */
  kernel: Float64Array;
  /** the camera path in the double-size canvas, (x, y) pairs */
  path: Array<[number, number]>;
}

/** numpy's legacy triangular(left, mode, right) by inversion. */
function triangular(rng: PhiloxStream, left: number, mode: number, right: number): number {
  const base = right - left,
    leftbase = mode - left;
  const u = rng.uniform();
  if (u <= leftbase / base) return left + Math.sqrt(u * leftbase * base);
  return right - Math.sqrt((1 - u) * (right - mode) * base);
}

/** Gamma(k, 1) for integer k: a sum of k exponentials. */
function gammaInt(rng: PhiloxStream, k: number): number {
  let s = 0;
  for (let i = 0; i < k; i++) s -= Math.log(rng.uniform());
  return s;
}

/** Beta(a, b) for integer a, b via two gamma draws (Beta(1, b) has the closed form 1 − U^(1/b)). */
function beta(rng: PhiloxStream, a: number, b: number): number {
  if (a === 1) return 1 - Math.pow(rng.uniform(), 1 / b);
  const x = gammaInt(rng, a);
  return x / (x + gammaInt(rng, b));
}

/** motionblur.Kernel._createPath: random steps and angles → a centred, randomly rotated path. */
function motionPath(rng: PhiloxStream, size: number, intensity: number): Array<[number, number]> {
  const eps = 0.1;
  const X = 2 * size,
    Y = 2 * size;
  const diagonal = Math.hypot(X, Y);
  const maxPathLen = 0.75 * diagonal * (rng.uniform() + rng.range(0, intensity ** 2));
  const steps: number[] = [];
  let total = 0;
  while (total < maxPathLen) {
    const step = beta(rng, 1, 30) * (1 - intensity + eps) * diagonal;
    if (step < maxPathLen) {
      steps.push(step);
      total += step;
    }
  }
  const maxAngle = rng.range(0, intensity * Math.PI);
  const jitter = beta(rng, 2, 20);
  const angles = [rng.range(-maxAngle, maxAngle)];
  while (angles.length < steps.length) {
    let angle = triangular(rng, 0, intensity * maxAngle, maxAngle + eps);
    const prev = Math.sign(angles[angles.length - 1]);
    angle *= rng.uniform() < jitter ? -prev : prev;
    angles.push(angle);
  }
  // cumulative sum of r·e^(iθ), centred on its mean, rotated by U(0, π), moved to the canvas centre
  let re = 0,
    im = 0;
  const pts: Array<[number, number]> = steps.map((r, i) => {
    re += r * Math.cos(angles[i]);
    im += r * Math.sin(angles[i]);
    return [re, im];
  });
  const comRe = pts.reduce((s, p) => s + p[0], 0) / steps.length;
  const comIm = pts.reduce((s, p) => s + p[1], 0) / steps.length;
  const rot = rng.range(0, Math.PI);
  const c = Math.cos(rot),
    s = Math.sin(rot);
  return pts.map(([a, b]) => {
    const x = a - comRe,
      y = b - comIm;
    return [x * c - y * s + X / 2, x * s + y * c + Y / 2];
  });
}

/** Pillow ImageDraw.line(xy, width ≤ 1) on an 8-bit canvas: Bresenham per segment (Draw.c line8). */
function drawPolyline(img: Uint8Array, w: number, h: number, pts: ReadonlyArray<readonly [number, number]>): void {
  const point = (x: number, y: number) => {
    if (x >= 0 && x < w && y >= 0 && y < h) img[y * w + x] = 255;
  };
  const line = (x0: number, y0: number, x1: number, y1: number) => {
    let dx = x1 - x0,
      dy = y1 - y0;
    const xs = dx < 0 ? -1 : 1,
      ys = dy < 0 ? -1 : 1;
    dx = Math.abs(dx);
    dy = Math.abs(dy);
    if (dx === 0) {
      for (let i = 0; i < dy; i++, y0 += ys) point(x0, y0);
    } else if (dy === 0) {
      for (let x = Math.min(x0, x1); x <= Math.max(x0, x1); x++) point(x, y0); // hline: both ends
    } else if (dx > dy) {
      const n = dx;
      dy += dy;
      let e = dy - dx;
      dx += dx;
      for (let i = 0; i < n; i++) {
        point(x0, y0);
        if (e >= 0) {
          y0 += ys;
          e -= dx;
        }
        e += dy;
        x0 += xs;
      }
    } else {
      const n = dy;
      dx += dx;
      let e = dx - dy;
      dy += dy;
      for (let i = 0; i < n; i++) {
        point(x0, y0);
        if (e >= 0) {
          x0 += xs;
          e -= dy;
        }
        e += dx;
        y0 += ys;
      }
    }
  };
  const q = pts.map(([x, y]) => [Math.trunc(x), Math.trunc(y)]); // C (int) casts
  for (let i = 0; i + 1 < q.length; i++) line(q[i][0], q[i][1], q[i + 1][0], q[i + 1][1]);
  if (q.length > 1) point(q[q.length - 1][0], q[q.length - 1][1]);
}

/** Pillow's fractional box blur of one line (BoxBlur.c ImagingLineBoxBlur8), 8.24 fixed point. */
function boxBlurLine(out: Uint8Array, inp: Uint8Array, radiusF: number) {
  const n = inp.length,
    last = n - 1;
  const radius = Math.trunc(radiusF);
  const ww = Math.trunc(Math.fround(16777216 / Math.fround(radiusF * 2 + 1)));
  const fw = Math.floor((16777216 - (radius * 2 + 1) * ww) / 2);
  const edgeA = Math.min(radius + 1, n),
    edgeB = Math.max(n - radius - 1, 0);
  const at = (i: number) => inp[i];
  let acc = at(0) * (radius + 1);
  for (let x = 0; x < edgeA - 1; x++) acc += at(x);
  acc += at(last) * (radius - edgeA + 1);
  const save = (x: number, left: number, right: number) => {
    const bulk = acc * ww + (at(left) + at(right)) * fw;
    out[x] = Math.floor((bulk + (1 << 23)) / 16777216) & 255;
  };
  if (edgeA <= edgeB) {
    for (let x = 0; x < edgeA; x++) {
      acc += at(x + radius) - at(0);
      save(x, 0, x + radius + 1);
    }
    for (let x = edgeA; x < edgeB; x++) {
      acc += at(x + radius) - at(x - radius - 1);
      save(x, x - radius - 1, x + radius + 1);
    }
    for (let x = edgeB; x <= last; x++) {
      acc += at(last) - at(x - radius - 1);
      save(x, x - radius - 1, last);
    }
  } else {
    for (let x = 0; x < edgeB; x++) {
      acc += at(x + radius) - at(0);
      save(x, 0, x + radius + 1);
    }
    for (let x = edgeB; x < edgeA; x++) {
      acc += at(last) - at(0);
      save(x, 0, last);
    }
    for (let x = edgeA; x <= last; x++) {
      acc += at(last) - at(x - radius - 1);
      save(x, x - radius - 1, last);
    }
  }
}

/** Pillow ImageFilter.GaussianBlur(radius): three box-blur passes per axis (BoxBlur.c). */
function pillowGaussianBlur(img: Uint8Array, w: number, h: number, radius: number): Uint8Array {
  if (radius === 0) return img;
  const passes = 3;
  const f = Math.fround;
  const sigma2 = f(f(radius * radius) / passes);
  const L = f(Math.sqrt(12 * sigma2 + 1));
  const l = Math.floor((L - 1) / 2);
  let a = f((2 * l + 1) * f(l * (l + 1) - 3 * sigma2));
  a = f(a / f(6 * f(sigma2 - (l + 1) * (l + 1))));
  const r = f(l + a);
  const cur = Uint8Array.from(img);
  const lineIn = new Uint8Array(Math.max(w, h)),
    lineOut = new Uint8Array(Math.max(w, h));
  for (let y = 0; y < h; y++) {
    const row = cur.subarray(y * w, (y + 1) * w);
    for (let p = 0; p < passes; p++) {
      lineIn.set(row);
      boxBlurLine(lineOut.subarray(0, w), lineIn.subarray(0, w), r);
      row.set(lineOut.subarray(0, w));
    }
  }
  for (let x = 0; x < w; x++) {
    const col = new Uint8Array(h);
    for (let y = 0; y < h; y++) col[y] = cur[y * w + x];
    for (let p = 0; p < passes; p++) {
      boxBlurLine(lineOut.subarray(0, h), col, r);
      col.set(lineOut.subarray(0, h));
    }
    for (let y = 0; y < h; y++) cur[y * w + x] = col[y];
  }
  return cur;
}

/** Pillow's LANCZOS coefficients (Resample.c precompute_coeffs + normalize_coeffs_8bpc). */
function lanczosCoeffs(inSize: number, outSize: number) {
  const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
  const lanczos = (x: number) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0);
  const scale = inSize / outSize;
  const filterscale = Math.max(1, scale);
  const support = 3 * filterscale;
  const rows: Array<{ xmin: number; k: Int32Array }> = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const w = new Float64Array(xmax);
    let ww = 0;
    for (let x = 0; x < xmax; x++) ww += w[x] = lanczos((x + xmin - center + 0.5) * ss);
    const k = new Int32Array(xmax);
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[x] = Math.trunc(v < 0 ? -0.5 + v * (1 << 22) : 0.5 + v * (1 << 22));
    }
    rows.push({ xmin, k });
  }
  return rows;
}

const clip8 = (ss: number) => Math.min(255, Math.max(0, Math.floor(ss / (1 << 22))));

/** Pillow Image.resize((outW, outH), LANCZOS) on an 8-bit image: horizontal pass, then vertical. */
function pillowLanczosResize(img: Uint8Array, w: number, h: number, ow: number, oh: number): Uint8Array {
  const cx = lanczosCoeffs(w, ow),
    cy = lanczosCoeffs(h, oh);
  const tmp = new Uint8Array(ow * h);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < ow; xx++) {
      const { xmin, k } = cx[xx];
      let ss = 1 << 21;
      for (let x = 0; x < k.length; x++) ss += img[y * w + x + xmin] * k[x];
      tmp[y * ow + xx] = clip8(ss);
    }
  }
  const out = new Uint8Array(ow * oh);
  for (let yy = 0; yy < oh; yy++) {
    const { xmin: ymin, k } = cy[yy];
    for (let x = 0; x < ow; x++) {
      let ss = 1 << 21;
      for (let y = 0; y < k.length; y++) ss += tmp[(y + ymin) * ow + x] * k[y];
      out[yy * ow + x] = clip8(ss);
    }
  }
  return out;
}

/**
 * A motion-blur kernel as motionblur.Kernel(size=(size, size), intensity).kernelMatrix builds it, with a
 * Philox stream (seed) in place of numpy's global RNG: reproducible for a seed, not numerically equal to
 * a numpy run.
 */
export function motionBlurKernel(size = 61, intensity = 0.5, seed = 0): MotionKernel {
  if (!(Number.isInteger(size) && size >= 3))
    throw new Error(`motion kernel: size must be an integer ≥ 3, got ${size}`);
  if (!(intensity >= 0 && intensity <= 1))
    throw new Error(`motion kernel: intensity must be in [0, 1], got ${intensity}`);
  const rng = new PhiloxStream(seed, 0x6d6f74); // offset tags the stream ("mot")
  const path = motionPath(rng, size, intensity);
  const counts = rasterizeMotionPath(path, size);
  let sum = 0;
  for (const v of counts) sum += v;
  if (sum === 0) throw new Error(`motion kernel: the path left the canvas (seed ${seed}); try another seed`);
  const kernel = new Float64Array(size * size);
  for (let i = 0; i < kernel.length; i++) kernel[i] = Math.fround(counts[i] / sum);
  return { kernel, path };
}

/**
 * The 8-bit kernel image of a path (motionblur's _createKernel): line on a 2·size canvas, Pillow
 * GaussianBlur(int(0.01·diagonal)), Pillow LANCZOS resize to size×size. Bit-exact with Pillow 9.4 for
 * size < 107 (1-px lines); wider lines (Pillow fills a polygon per segment) are approximated by dilation.
 */
export function rasterizeMotionPath(path: ReadonlyArray<readonly [number, number]>, size: number): Uint8Array {
  const big = 2 * size;
  const diagonal = Math.hypot(big, big);
  let canvas: Uint8Array = new Uint8Array(big * big);
  drawPolyline(canvas, big, big, path);
  const width = Math.trunc(diagonal / 150);
  if (width > 1) canvas = dilate(canvas, big, big, width);
  canvas = pillowGaussianBlur(canvas, big, big, Math.trunc(diagonal * 0.01));
  return pillowLanczosResize(canvas, big, big, size, size);
}

function dilate(img: Uint8Array, w: number, h: number, width: number): Uint8Array {
  const out = new Uint8Array(img.length);
  const r0 = Math.floor((width - 1) / 2),
    r1 = width - 1 - r0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (!img[y * w + x]) continue;
      for (let dy = -r0; dy <= r1; dy++)
        for (let dx = -r0; dx <= r1; dx++) {
          const yy = y + dy,
            xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) out[yy * w + xx] = 255;
        }
    }
  return out;
}

/** Checks a user kernel: square, odd size, finite. Returns it as float64. */
export function checkKernel(k: ArrayLike<number>, size: number): Float64Array {
  if (!(Number.isInteger(size) && size >= 1 && size % 2 === 1))
    throw new Error(`blur kernel: size must be odd (k//2 padding), got ${size}`);
  if (k.length !== size * size) throw new Error(`blur kernel: ${k.length} values for a ${size}×${size} kernel`);
  const out = Float64Array.from(k);
  if (!out.every(Number.isFinite)) throw new Error('blur kernel: non-finite value');
  return out;
}
