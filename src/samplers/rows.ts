// Per-image ("row") arithmetic on GPU tensors (shaders/sampler-rows.wgsl): each image of a batch gets its
// own scalar — a residual norm, a CG step length — held in a [N] tensor, so batched samplers never need a
// CPU round trip to scale image n by its own number.
import type { Engine } from '../engine/executor.js';
import { rowDot, rowSumSq, grid1d } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import { SAMPLER_ROWS } from './kernels.js';

function rowsOf(x: Tensor, c: Tensor, what: string): number {
  const rows = c.size;
  if (x.size % rows) throw new Error(`${what}: ${x.size} elements ([${x.shape}]) do not split into ${rows} rows`);
  return x.size / rows;
}

/** One elementwise row op of sampler-rows.wgsl: reads x and c[row], writes out (x, c, out bindings). */
function rowOp(
  e: Engine,
  entry: 'row_scale' | 'row_axpy',
  x: Tensor,
  c: Tensor,
  out: Tensor,
  a: number,
  what: string,
  flopsPer: number,
  bytesPer: number,
): Tensor {
  if (out.size !== x.size) throw new Error(`${what}: sizes ${out.size} and ${x.size} differ`);
  const per = rowsOf(x, c, what);
  e.run({
    kernel: SAMPLER_ROWS[entry],
    buffers: { x, c, out },
    params: { total: x.size, per, a },
    grid: grid1d(e, x.size),
    flops: flopsPer * x.size,
    bytes: bytesPer * x.size,
  });
  return out;
}

/** New tensor a·c[row]·x (c: one scalar per row of x). */
export function rowScale(e: Engine, x: Tensor, c: Tensor, a = 1, out?: Tensor): Tensor {
  return rowOp(e, 'row_scale', x, c, out ?? e.tensor(x.shape, 'row_scale'), a, 'rowScale', 2, 8);
}

/** out += a·c[row]·x (in place). */
export function rowAxpy(e: Engine, out: Tensor, x: Tensor, c: Tensor, a = 1): Tensor {
  return rowOp(e, 'row_axpy', x, c, out, a, 'rowAxpy', 3, 12);
}

export const enum CoefMode {
  /** a·s1/s2, 0 where |s2| ≤ b */
  Ratio = 0,
  /** a·s1/sqrt(max(s2, b)) */
  OverNorm = 1,
  /** a·sqrt(s1) */
  Norm = 2,
  /** a·sqrt(s1)/max(sqrt(s2), b) */
  NormRatio = 3,
}

/** Per-row scalar function of two [N] tensors (see CoefMode). */
export function rowCoef(e: Engine, mode: CoefMode, s1: Tensor, s2: Tensor, a = 1, b = 0): Tensor {
  if (s1.size !== s2.size) throw new Error(`rowCoef: ${s1.size} vs ${s2.size} rows`);
  const o = e.tensor([s1.size], 'row_coef');
  e.run({
    kernel: SAMPLER_ROWS.coef,
    buffers: { x: s1, c: s2, out: o },
    params: { total: s1.size, mode, a, b },
    grid: [Math.ceil(s1.size / 64)],
  });
  return o;
}

/** ‖x_n‖ per image (first axis) → [N]. */
export function rowNorms(e: Engine, x: Tensor, rows = x.shape[0]): Tensor {
  const ss = rowSumSq(e, x, rows);
  const n = rowCoef(e, CoefMode.Norm, ss, ss, 1);
  e.release(ss);
  return n;
}

export { rowDot, rowSumSq };

/** dst[dstOff + i] = src[srcOff + i], i < count (element offsets, no alignment requirement). */
export function copyRange(e: Engine, src: Tensor, srcOff: number, dst: Tensor, dstOff: number, count: number): void {
  if (srcOff + count > src.size || dstOff + count > dst.size)
    throw new Error(
      `copyRange: [${srcOff}, +${count}) of ${src.size} → [${dstOff}, +${count}) of ${dst.size} out of range`,
    );
  e.run({
    kernel: SAMPLER_ROWS.copy_range,
    buffers: { x: src, out: dst },
    params: { total: count, aux: srcOff, aux2: dstOff },
    grid: grid1d(e, count),
    bytes: 8 * count,
  });
}

/** A tensor filled with `value`. */
export function filled(e: Engine, shape: readonly number[], value = 0, label = 'filled'): Tensor {
  const o = e.tensor(shape, label);
  e.run({
    kernel: SAMPLER_ROWS.fill,
    buffers: { out: o },
    params: { total: o.size, a: value },
    grid: grid1d(e, o.size),
    bytes: 4 * o.size,
  });
  return o;
}

/**
 * out[n, j] = w[n, j]·s_j^pow/(a·s_j² + b) for j < rank, zero-padded to [N, D] (0 where the denominator
 * vanishes). w: [N, rank], s: [rank].
 */
export function spectralLift(e: Engine, w: Tensor, s: Tensor, D: number, a: number, b: number, pow: 0 | 1): Tensor {
  const rank = s.size;
  if (w.size % rank) throw new Error(`spectralLift: ${w.size} coefficients are not rows of rank ${rank}`);
  const N = w.size / rank;
  if (D < rank) throw new Error(`spectralLift: row length ${D} below the rank ${rank}`);
  const o = e.tensor([N, D], 'spectral_lift');
  e.run({
    kernel: SAMPLER_ROWS.spectral_lift,
    buffers: { x: w, c: s, out: o },
    params: { total: N * D, per: rank, mode: pow, aux: D, a, b },
    grid: grid1d(e, N * D),
    flops: 4 * N * rank,
  });
  return o;
}

/**
 * Small dense products for tiny problems: y[n] = a·A v[n] with A [rows, cols] row-major (or a·Aᵀ v[n]
 * with `transpose`, then v[n] has `rows` entries). v: [N, ·] → y: [N, ·].
 */
export function denseMatvec(
  e: Engine,
  A: Tensor,
  rows: number,
  cols: number,
  v: Tensor,
  transpose = false,
  a = 1,
): Tensor {
  if (A.size !== rows * cols) throw new Error(`denseMatvec: A has ${A.size} entries, expected ${rows}×${cols}`);
  const inDim = transpose ? rows : cols,
    outDim = transpose ? cols : rows;
  if (v.size % inDim) throw new Error(`denseMatvec: vector batch of ${v.size} is not a multiple of ${inDim}`);
  const N = v.size / inDim;
  const o = e.tensor([N, outDim], 'matvec');
  // the kernel always reads A as [aux, per] (rows of the output × inputs) or its transpose
  e.run({
    kernel: SAMPLER_ROWS.matvec,
    buffers: { x: A, c: v, out: o },
    params: { total: N * outDim, per: inDim, mode: transpose ? 1 : 0, aux: outDim, a },
    grid: [Math.ceil((N * outDim) / 64)],
    flops: 2 * N * rows * cols,
  });
  return o;
}
