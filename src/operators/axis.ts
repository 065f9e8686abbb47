// Dense (banded) matrices applied along the H or W axis of NCHW planes (shaders/resize.wgsl).
import type { Engine } from '../engine/executor.js';
import { defineKernels } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import { runFlat } from './util.js';

// m: the matrix [n_out, n_in] row-major; band [n_out, 2]: the non-zero range of each row
const AXIS_BINDINGS = { x: 'read', m: 'read', band: { type: 'u32' }, out: 'read_write' } as const;
export const RESIZE = defineKernels('resize', {
  uniforms: {
    planes: 'u32',
    n_in: 'u32', // length of the transformed axis before
    n_out: 'u32', // and after
    other: 'u32', // length of the untouched axis
    total: 'u32', // planes · n_out · other
  },
  entries: { along_h: { bindings: AXIS_BINDINGS }, along_w: { bindings: AXIS_BINDINGS } },
});

/** An m×n matrix on the GPU (f32, row-major) with the non-zero band of each row. */
export class AxisMatrix {
  readonly tensor: Tensor;
  readonly bands: Tensor;
  private readonly nnz: number;

  /** `a` is m×n row-major (float64 on the CPU, kept for reference in `host`). */
  constructor(
    e: Engine,
    readonly host: Float64Array,
    readonly rows: number,
    readonly cols: number,
    label = 'axis_matrix',
  ) {
    if (host.length !== rows * cols)
      throw new Error(`AxisMatrix '${label}': ${host.length} values for ${rows}×${cols}`);
    const band = new Uint32Array(2 * rows);
    let nnz = 0;
    for (let o = 0; o < rows; o++) {
      let lo = cols,
        hi = 0;
      for (let j = 0; j < cols; j++)
        if (host[o * cols + j] !== 0) {
          lo = Math.min(lo, j);
          hi = j + 1;
        }
      if (hi === 0) lo = 0;
      band[2 * o] = lo;
      band[2 * o + 1] = hi;
      nnz += hi - lo;
    }
    this.nnz = nnz;
    this.tensor = e.upload(Float32Array.from(host), [rows, cols], label);
    this.bands = e.upload(band, [rows, 2], `${label}_bands`);
  }

  /** Mᵀ as a new AxisMatrix. */
  transpose(e: Engine, label = 'axis_matrix_t'): AxisMatrix {
    const t = new Float64Array(this.rows * this.cols);
    for (let i = 0; i < this.rows; i++)
      for (let j = 0; j < this.cols; j++) t[j * this.rows + i] = this.host[i * this.cols + j];
    return new AxisMatrix(e, t, this.cols, this.rows, label);
  }

  /** x [planes, cols, other] → M x along that axis: [planes, rows, other] (new tensor). */
  alongH(e: Engine, x: Tensor, planes: number, other: number, outShape?: readonly number[]): Tensor {
    return this.along(e, 'h', x, planes, other, outShape ?? [planes, this.rows, other]);
  }

  /** x [planes, other, cols] → x Mᵀ: [planes, other, rows] (new tensor). */
  alongW(e: Engine, x: Tensor, planes: number, other: number, outShape?: readonly number[]): Tensor {
    return this.along(e, 'w', x, planes, other, outShape ?? [planes, other, this.rows]);
  }

  private along(e: Engine, axis: 'h' | 'w', x: Tensor, planes: number, other: number, outShape: readonly number[]) {
    this.check(x, planes * this.cols * other, axis === 'h' ? 'alongH' : 'alongW');
    const out = e.tensor(outShape, `along_${axis}`);
    const total = planes * this.rows * other;
    runFlat(
      e,
      axis === 'h' ? RESIZE.along_h : RESIZE.along_w,
      { x, m: this.tensor, band: this.bands, out },
      { planes, n_in: this.cols, n_out: this.rows, other, total },
      total,
      { flops: 2 * this.nnz * planes * other, bytes: 4 * (total + planes * this.cols * other) },
    );
    return out;
  }

  /** Y = A X Bᵀ for each plane: A = this along H (x: [planes, A.cols, B.cols]), B along W. */
  static sandwich(
    e: Engine,
    a: AxisMatrix,
    b: AxisMatrix,
    x: Tensor,
    planes: number,
    outShape?: readonly number[],
  ): Tensor {
    const t = a.alongH(e, x, planes, b.cols);
    const y = b.alongW(e, t, planes, a.rows, outShape ?? [planes, a.rows, b.rows]);
    e.release(t);
    return y;
  }

  private check(x: Tensor, n: number, what: string) {
    if (x.size !== n) throw new Error(`AxisMatrix.${what}: input [${x.shape}] has ${x.size} elements, expected ${n}`);
  }

  release(e: Engine) {
    e.release(this.tensor, this.bands);
  }
}
