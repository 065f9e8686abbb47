// GPU FFT (shaders/fft.wgsl): batched 1-D and 2-D complex transforms of any length 2^a·3^b·5^c, in place on
// interleaved complex tensors (f32, last axis 2 = re, im). Lengths that fit in workgroup memory
// (N ≤ maxComputeWorkgroupStorageSize / 16: 2048 on lavapipe, 3072 on an H100) run as one dispatch per
// batch of rows; longer ones as one global-memory dispatch per radix pass.
import type { Engine } from '../engine/executor.js';
import { defineKernels } from '../engine/kernel.js';
import { copy, grid1d } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';

/** Where transform b, element i lives: (b / inner)·so + (b % inner)·si + i·es, in complex elements. */
export interface FftLayout {
  batch: number;
  inner: number;
  so: number;
  si: number;
  es: number;
}

/** Contiguous rows: transform b occupies [b·n, (b+1)·n). */
export const rowsLayout = (batch: number, n: number): FftLayout => ({ batch, inner: 1, so: n, si: 0, es: 1 });

/** Radices (4s first, then 2, 3s, 5s) whose product is n, or null when n has another prime factor. */
export function fftRadices(n: number): number[] | null {
  if (!Number.isInteger(n) || n < 1) return null;
  const out: number[] = [];
  let m = n;
  while (m % 4 === 0) {
    out.push(4);
    m /= 4;
  }
  if (m % 2 === 0) {
    out.push(2);
    m /= 2;
  }
  while (m % 3 === 0) {
    out.push(3);
    m /= 3;
  }
  while (m % 5 === 0) {
    out.push(5);
    m /= 5;
  }
  return m === 1 ? out : null;
}

/** Smallest length ≥ n the FFT supports: 2^a·3^b·5^c, or a power of two with `pow2`. */
export function nextFftSize(n: number, pow2 = false): number {
  if (pow2) return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
  for (let m = Math.max(1, n); ; m++) if (fftRadices(m)) return m;
}

function checkLength(n: number): number[] {
  const r = fftRadices(n);
  if (!r) throw new Error(`FFT length ${n} is not of the form 2^a·3^b·5^c (pad it, e.g. to ${nextFftSize(n)})`);
  if (r.length > 8 && n > 1) throw new Error(`FFT length ${n} needs ${r.length} passes (max 8 per dispatch plan)`);
  return r;
}

const twiddleCache = new WeakMap<Engine, Map<number, Tensor>>();

/** e^(-2πi k/n), k < n, computed in float64 (shared per engine). */
function twiddles(e: Engine, n: number): Tensor {
  let m = twiddleCache.get(e);
  if (!m) twiddleCache.set(e, (m = new Map()));
  let t = m.get(n);
  if (!t) {
    const a = new Float32Array(2 * n);
    for (let k = 0; k < n; k++) {
      a[2 * k] = Math.cos((2 * Math.PI * k) / n);
      a[2 * k + 1] = -Math.sin((2 * Math.PI * k) / n);
    }
    t = e.persistent(() => e.upload(a, [n, 2], `fft_twiddles_${n}`));
    m.set(n, t);
  }
  return t;
}

/** Largest length done in workgroup memory on this device (two ping-pong halves of vec2f). */
export function maxWorkgroupFft(e: Engine): number {
  return Math.floor(e.limits.maxComputeWorkgroupStorageSize / 16);
}

function wgConfig(e: Engine, n: number, radices: number[]) {
  const rows = Math.max(1, Math.floor(Math.min(1024, maxWorkgroupFft(e)) / n));
  const lanes = (rows * n) / Math.min(...radices, 4);
  const wg = Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(1, lanes)))));
  let plan = 0;
  radices.forEach((r, s) => (plan |= r << (4 * s)));
  return { rows, constants: { N: n, ROWS: rows, WG: wg, NPASS: radices.length, PLAN: plan >>> 0 } };
}

function grid2(e: Engine, wgs: number): [number, number] {
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  if (wgs <= max) return [wgs, 1];
  const y = Math.ceil(wgs / max);
  return [Math.ceil(wgs / y), y];
}

function checkData(data: Tensor, n: number, L: FftLayout, what: string) {
  const last = (Math.ceil(L.batch / L.inner) - 1) * L.so + (Math.min(L.batch, L.inner) - 1) * L.si + (n - 1) * L.es;
  if (data.shape[data.shape.length - 1] !== 2)
    throw new Error(`${what}: expected a complex tensor [..., 2], got [${data.shape}]`);
  if (last >= data.size / 2)
    throw new Error(`${what}: layout reaches element ${last} of a tensor of ${data.size / 2} complex values`);
}

const LAYOUT = ['batch', 'inner', 'so', 'si', 'es'] as const;
const DATA = { data: { access: 'read_write', type: 'vec2f' }, tw: { type: 'vec2f' } } as const; // tw: e^(-2πi k/N)
export const FFT = defineKernels('fft', {
  uniforms: {
    batch: 'u32', // number of transforms; the FftLayout above
    inner: 'u32',
    so: 'u32',
    si: 'u32',
    es: 'u32',
    n: 'u32', // fft_pass: length (fft_wg uses the override N)
    r: 'u32', // fft_pass: radix of this pass
    pp: 'u32', // fft_pass: p of this pass
    dir: 'f32', // -1 forward, +1 inverse
    scale: 'f32', // applied to the output
    conj_filter: 'u32', // fft_filter: 1 multiplies by conj(filter) (correlation), 0 by filter (convolution)
    filter_stride: 'u32', // fft_filter: filter element (i, b % inner) at i * filter_stride + b % inner
  },
  entries: {
    fft_wg: { uniforms: [...LAYOUT, 'dir', 'scale'], bindings: DATA },
    fft_filter: {
      uniforms: [...LAYOUT, 'scale', 'conj_filter', 'filter_stride'],
      bindings: { ...DATA, filter: { access: 'read_write', type: 'vec2f', wgsl: 'aux' } }, // aux: fft_pass's output
    },
    fft_pass: {
      uniforms: [...LAYOUT, 'n', 'r', 'pp', 'dir', 'scale'],
      bindings: { ...DATA, out: { access: 'read_write', type: 'vec2f', wgsl: 'aux' } },
    },
  },
});
export const COMPLEX = defineKernels('complex', {
  uniforms: {
    n: 'u32', // complex elements to process
    per: 'u32', // elements per plane (filter length)
    conj: 'u32', // 1: use conj(filter)
  },
  entries: { mul_filter: { bindings: { data: { access: 'read_write', type: 'vec2f' }, filt: { type: 'vec2f' } } } },
});

function params(L: FftLayout, extra: Record<string, number>) {
  return { batch: L.batch, inner: L.inner, so: L.so, si: L.si, es: L.es, ...extra };
}

/**
 * In-place batched 1-D FFT of length n: X[k] = scale · Σ_j x[j] e^(∓2πi jk/n), `inverse` taking the + sign.
 * `scale` defaults to 1 forward and 1/n inverse; pass 1/√n both ways for the orthonormal transform.
 */
export function fft1d(
  e: Engine,
  data: Tensor,
  n: number,
  layout: FftLayout,
  inverse = false,
  scale = inverse ? 1 / n : 1,
): void {
  checkData(data, n, layout, 'fft1d');
  const radices = checkLength(n);
  const dir = inverse ? 1 : -1;
  if (n === 1) {
    if (scale !== 1) throw new Error('fft1d: scaling a length-1 transform is not supported');
    return;
  }
  const flops = 5 * n * Math.log2(n) * layout.batch;
  if (n <= maxWorkgroupFft(e)) {
    const { rows, constants } = wgConfig(e, n, radices);
    e.run({
      kernel: FFT.fft_wg,
      constants,
      buffers: { data, tw: twiddles(e, n) },
      params: params(layout, { dir, scale }),
      grid: grid2(e, Math.ceil(layout.batch / rows)),
      flops,
      bytes: 16 * n * layout.batch,
      label: `fft${n}`,
    });
    return;
  }
  // Global-memory Stockham: ping-pong between `data` and a scratch copy, one dispatch per pass.
  const tmp = e.tensor(data.shape, 'fft_scratch');
  let [src, dst] = [data, tmp];
  let pp = 1;
  radices.forEach((r, s) => {
    e.run({
      kernel: FFT.fft_pass,
      buffers: { data: src, tw: twiddles(e, n), out: dst },
      params: params(layout, { n, r, pp, dir, scale: s === radices.length - 1 ? scale : 1 }),
      grid: grid1d(e, (layout.batch * n) / r),
      flops: flops / radices.length,
      bytes: 16 * n * layout.batch,
      label: `fft${n}_pass${r}`,
    });
    pp *= r;
    [src, dst] = [dst, src];
  });
  if (src !== data) copy(e, src, data);
  e.release(tmp);
}

/** Planes of h×w complex values stored contiguously ([planes, h, w, 2]). */
export interface PlaneShape {
  planes: number;
  h: number;
  w: number;
}

/** Transform the rows [row0, row0 + count) of every plane along w. */
export function fftRows(e: Engine, data: Tensor, s: PlaneShape, inverse: boolean, scale?: number, rows = s.h): void {
  fft1d(e, data, s.w, { batch: s.planes * rows, inner: rows, so: s.h * s.w, si: s.w, es: 1 }, inverse, scale);
}

/** Transform every column of every plane along h. */
export function fftCols(e: Engine, data: Tensor, s: PlaneShape, inverse: boolean, scale?: number): void {
  fft1d(e, data, s.h, { batch: s.planes * s.w, inner: s.w, so: s.h * s.w, si: 1, es: s.w }, inverse, scale);
}

/** In-place 2-D FFT of each plane (rows, then columns). Default scale: 1 forward, 1/(hw) inverse. */
export function fft2d(
  e: Engine,
  data: Tensor,
  s: PlaneShape,
  inverse = false,
  scale = inverse ? 1 / (s.h * s.w) : 1,
): void {
  fftRows(e, data, s, inverse, 1);
  fftCols(e, data, s, inverse, scale);
}

/**
 * Column stage of an FFT convolution: for every column of every plane, forward FFT along h, multiply by
 * the matching column of `filter` ([h, w, 2], shared by all planes; conjugated when `conj`), inverse FFT
 * along h scaled by `scale` (default 1/h). One dispatch when h fits in workgroup memory.
 */
export function fftFilterCols(
  e: Engine,
  data: Tensor,
  s: PlaneShape,
  filter: Tensor,
  conj: boolean,
  scale = 1 / s.h,
): void {
  if (filter.size !== s.h * s.w * 2)
    throw new Error(`fftFilterCols: filter [${filter.shape}] is not [${s.h}, ${s.w}, 2]`);
  const layout: FftLayout = { batch: s.planes * s.w, inner: s.w, so: s.h * s.w, si: 1, es: s.w };
  checkData(data, s.h, layout, 'fftFilterCols');
  const radices = checkLength(s.h);
  if (s.h > 1 && s.h <= maxWorkgroupFft(e)) {
    const { rows, constants } = wgConfig(e, s.h, radices);
    e.run({
      kernel: FFT.fft_filter,
      constants,
      buffers: { data, tw: twiddles(e, s.h), filter },
      params: params(layout, { scale, conj_filter: conj ? 1 : 0, filter_stride: s.w }),
      grid: grid2(e, Math.ceil(layout.batch / rows)),
      flops: 10 * s.h * Math.log2(s.h) * layout.batch + 6 * s.h * layout.batch,
      bytes: 24 * s.h * layout.batch,
      label: `fft_filter${s.h}`,
    });
    return;
  }
  fft1d(e, data, s.h, layout, false, 1);
  complexMulFilter(e, data, filter, s.planes, s.h * s.w, conj);
  fft1d(e, data, s.h, layout, true, scale);
}

/** data[plane, i] ← data[plane, i] · filter[i] (or its conjugate), complex, in place. */
export function complexMulFilter(
  e: Engine,
  data: Tensor,
  filter: Tensor,
  planes: number,
  per: number,
  conj: boolean,
): void {
  const n = planes * per;
  e.run({
    kernel: COMPLEX.mul_filter,
    buffers: { data, filt: filter },
    params: { n, per, conj: conj ? 1 : 0 },
    grid: grid1d(e, n),
    flops: 6 * n,
    bytes: 24 * n,
  });
}
