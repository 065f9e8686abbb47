// Float64 2-D DFT on the CPU, for the lab's closed forms (spectra, exact posteriors, exact samples) and as
// the reference of the GPU spectral filter. Convention: forward X[k] = Σₙ x[n] e^{−2πi kn/N} (unnormalised),
// inverse carries 1/N — the numpy.fft convention, so a circulant matrix with first column c has eigenvalues
// fft(c). Radix-2 for power-of-two lengths, a direct O(N²) DFT otherwise (sizes here are small).

export interface Complex2D {
  re: Float64Array;
  im: Float64Array;
  h: number;
  w: number;
}

const twiddleCache = new Map<number, { cos: Float64Array; sin: Float64Array }>();
function twiddles(n: number) {
  let t = twiddleCache.get(n);
  if (!t) {
    const cos = new Float64Array(n),
      sin = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      cos[k] = Math.cos((2 * Math.PI * k) / n);
      sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    t = { cos, sin };
    twiddleCache.set(n, t);
  }
  return t;
}

/** In-place 1-D DFT of a strided line (no normalisation; sign −1 forward, +1 inverse). */
function dft1d(
  re: Float64Array,
  im: Float64Array,
  off: number,
  stride: number,
  n: number,
  sign: number,
  bufRe: Float64Array,
  bufIm: Float64Array,
) {
  for (let i = 0; i < n; i++) {
    bufRe[i] = re[off + i * stride];
    bufIm[i] = im[off + i * stride];
  }
  const { cos, sin } = twiddles(n);
  if ((n & (n - 1)) === 0) {
    // bit reversal
    for (let i = 1, j = 0; i < n; i++) {
      let bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) {
        let t = bufRe[i];
        bufRe[i] = bufRe[j];
        bufRe[j] = t;
        t = bufIm[i];
        bufIm[i] = bufIm[j];
        bufIm[j] = t;
      }
    }
    for (let len = 2; len <= n; len <<= 1) {
      const step = n / len,
        half = len >> 1;
      for (let i = 0; i < n; i += len) {
        for (let k = 0; k < half; k++) {
          const wr = cos[k * step],
            wi = sign * sin[k * step];
          const ar = bufRe[i + k + half],
            ai = bufIm[i + k + half];
          const tr = ar * wr - ai * wi,
            ti = ar * wi + ai * wr;
          bufRe[i + k + half] = bufRe[i + k] - tr;
          bufIm[i + k + half] = bufIm[i + k] - ti;
          bufRe[i + k] += tr;
          bufIm[i + k] += ti;
        }
      }
    }
    for (let i = 0; i < n; i++) {
      re[off + i * stride] = bufRe[i];
      im[off + i * stride] = bufIm[i];
    }
  } else {
    for (let k = 0; k < n; k++) {
      let sr = 0,
        si = 0;
      for (let j = 0; j < n; j++) {
        const idx = (k * j) % n;
        const wr = cos[idx],
          wi = sign * sin[idx];
        sr += bufRe[j] * wr - bufIm[j] * wi;
        si += bufRe[j] * wi + bufIm[j] * wr;
      }
      re[off + k * stride] = sr;
      im[off + k * stride] = si;
    }
  }
}

/** In-place 2-D DFT of an h×w complex array; `inverse` applies the 1/(hw) factor. */
export function fft2InPlace(re: Float64Array, im: Float64Array, h: number, w: number, inverse = false): void {
  if (re.length !== h * w || im.length !== h * w)
    throw new Error(`fft2: arrays of ${re.length}/${im.length} for ${h}×${w}`);
  const sign = inverse ? 1 : -1;
  const m = Math.max(h, w);
  const br = new Float64Array(m),
    bi = new Float64Array(m);
  for (let r = 0; r < h; r++) dft1d(re, im, r * w, 1, w, sign, br, bi);
  for (let c = 0; c < w; c++) dft1d(re, im, c, w, h, sign, br, bi);
  if (inverse) {
    const s = 1 / (h * w);
    for (let i = 0; i < h * w; i++) {
      re[i] *= s;
      im[i] *= s;
    }
  }
}

/** Forward 2-D DFT of a real h×w image. */
export function fft2Real(x: ArrayLike<number>, h: number, w: number): Complex2D {
  const re = Float64Array.from(x as ArrayLike<number>),
    im = new Float64Array(h * w);
  fft2InPlace(re, im, h, w);
  return { re, im, h, w };
}

/** Real part of the inverse 2-D DFT (the imaginary part is dropped: callers pass Hermitian spectra). */
export function ifft2Real(z: Complex2D): Float64Array {
  const re = Float64Array.from(z.re),
    im = Float64Array.from(z.im);
  fft2InPlace(re, im, z.h, z.w, true);
  return re;
}

/** Applies a real per-frequency gain g (length h·w, symmetric g(ξ) = g(−ξ)) to a real image: F⁻¹ diag(g) F x. */
export function filterReal(x: ArrayLike<number>, g: ArrayLike<number>, h: number, w: number): Float64Array {
  const z = fft2Real(x, h, w);
  for (let i = 0; i < h * w; i++) {
    z.re[i] *= g[i];
    z.im[i] *= g[i];
  }
  return ifft2Real(z);
}

/** Index of −ξ for frequency index i = kh·w + kw. */
export function negFreq(i: number, h: number, w: number): number {
  const kh = Math.floor(i / w),
    kw = i % w;
  return ((h - kh) % h) * w + ((w - kw) % w);
}
