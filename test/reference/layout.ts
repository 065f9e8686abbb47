// Float64 references for resampling and channel bookkeeping (NCHW, flat arrays).
export function upsample2xRef(x: ArrayLike<number>, planes: number, h: number, w: number): Float64Array {
  const out = new Float64Array(planes * 4 * h * w);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < 2 * h; i++)
      for (let j = 0; j < 2 * w; j++) out[p * 4 * h * w + i * 2 * w + j] = x[p * h * w + (i >> 1) * w + (j >> 1)];
  return out;
}

export function avgPool2xRef(x: ArrayLike<number>, planes: number, h: number, w: number): Float64Array {
  const ho = h / 2,
    wo = w / 2;
  const out = new Float64Array(planes * ho * wo);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++) {
        const b = p * h * w + 2 * i * w + 2 * j;
        out[p * ho * wo + i * wo + j] = (x[b] + x[b + 1] + x[b + w] + x[b + w + 1]) / 4;
      }
  return out;
}

export function concatRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  n: number,
  ca: number,
  cb: number,
  hw: number,
): Float64Array {
  const out = new Float64Array(n * (ca + cb) * hw);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < ca * hw; k++) out[i * (ca + cb) * hw + k] = a[i * ca * hw + k];
    for (let k = 0; k < cb * hw; k++) out[i * (ca + cb) * hw + ca * hw + k] = b[i * cb * hw + k];
  }
  return out;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
