// Float64 reference transforms for the FFT tests: the plain O(n²) DFT (no FFT algorithm involved).

/** DFT of one complex vector (re, im interleaved): X[k] = scale Σ_j x[j] e^(∓2πi jk/n). */
export function dft(x: ArrayLike<number>, n: number, inverse = false, scale = 1): Float64Array {
  const out = new Float64Array(2 * n);
  const s = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    let re = 0,
      im = 0;
    for (let j = 0; j < n; j++) {
      const a = (s * 2 * Math.PI * ((j * k) % n)) / n;
      const c = Math.cos(a),
        d = Math.sin(a);
      re += x[2 * j] * c - x[2 * j + 1] * d;
      im += x[2 * j] * d + x[2 * j + 1] * c;
    }
    out[2 * k] = re * scale;
    out[2 * k + 1] = im * scale;
  }
  return out;
}

/** 2-D DFT of each [h, w] complex plane (separable: rows, then columns). */
export function dft2(
  x: ArrayLike<number>,
  planes: number,
  h: number,
  w: number,
  inverse = false,
  scale = 1,
): Float64Array {
  const out = new Float64Array(planes * h * w * 2);
  const row = new Float64Array(2 * w),
    col = new Float64Array(2 * h);
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < 2 * w; j++) row[j] = x[2 * (base + i * w) + j];
      out.set(dft(row, w, inverse), 2 * (base + i * w));
    }
    for (let j = 0; j < w; j++) {
      for (let i = 0; i < h; i++) {
        col[2 * i] = out[2 * (base + i * w + j)];
        col[2 * i + 1] = out[2 * (base + i * w + j) + 1];
      }
      const c = dft(col, h, inverse, scale);
      for (let i = 0; i < h; i++) {
        out[2 * (base + i * w + j)] = c[2 * i];
        out[2 * (base + i * w + j) + 1] = c[2 * i + 1];
      }
    }
  }
  return out;
}
