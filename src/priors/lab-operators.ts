// The validation lab's measurement operators (MeasurementOperator, GPU): the ones whose posteriors are
// exact with the lab's priors.
//  - CircularBlurOperator: circular convolution by a small kernel, same on every channel (diagonal in
//    Fourier; the DPS blur operator pads by reflection instead, which is not diagonal in any basis).
//  - MaskOperator: y = m ⊙ x on the full grid (inpainting), SVD view for DDRM.
//  - DenseMatrixOperator: y = A x for a dense A [m, D] (small D: GMM tasks).
import type { Engine, Tensor } from '../engine/index.js';
import { uniforms } from '../engine/executor.js';
import { copy, grid1d, mulInPlace } from '../engine/ops/vector.js';
import type { MeasurementOperator } from '../operators/operator.js';
import { applySpectral64, type FreqMultiplier } from './circulant.js';
import { circularBlurTransfer } from './exact-posterior.js';
import { SpectralFilter } from './spectral-filter.js';

function checkImages(x: Tensor, shape: readonly number[], name: string): number {
  const [, C, H, W] = shape;
  if (x.shape.length !== 4 || x.shape[1] !== C || x.shape[2] !== H || x.shape[3] !== W) throw new Error(`${name}: input [${x.shape}], expected [N, ${C}, ${H}, ${W}]`);
  return x.shape[0];
}

export class CircularBlurOperator implements MeasurementOperator {
  readonly name = 'circular-blur';
  readonly linear = true;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly transfer: FreqMultiplier;
  private filter: SpectralFilter;
  private fwdTable: Tensor;
  private adjTable: Tensor;
  private slots = new Map<number, Tensor>();

  /** kernel kh×kw centred at (⌊kh/2⌋, ⌊kw/2⌋); images [N, C, H, W] with C = 1 or 3 */
  constructor(
    readonly engine: Engine,
    readonly kernel: ArrayLike<number>,
    readonly kh: number,
    readonly kw: number,
    C: number,
    H: number,
    W: number,
  ) {
    this.inputShape = [1, C, H, W];
    this.outputShape = [1, C, H, W];
    this.transfer = circularBlurTransfer(kernel, kh, kw, H, W);
    this.filter = new SpectralFilter(engine, C, H, W);
    this.fwdTable = engine.upload(this.table(false), [1, this.filter.slotSize], 'blur-fwd');
    this.adjTable = engine.upload(this.table(true), [1, this.filter.slotSize], 'blur-adj');
  }

  private table(conjugate: boolean): Float32Array {
    const C = this.inputShape[1], hw = this.inputShape[2] * this.inputShape[3];
    const t = new Float32Array(this.filter.slotSize);
    for (let i = 0; i < hw; i++)
      for (let c = 0; c < C; c++) {
        const o = (i * C * C + c * C + c) * 2;
        t[o] = this.transfer.re[i];
        t[o + 1] = conjugate ? -this.transfer.im[i] : this.transfer.im[i];
      }
    return t;
  }

  private slotsFor(N: number): Tensor {
    let s = this.slots.get(N);
    if (!s) this.slots.set(N, (s = this.engine.upload(new Uint32Array(N), [N], 'blur-slots')));
    return s;
  }

  forward(x: Tensor): Tensor {
    const N = checkImages(x, this.inputShape, this.name);
    return this.filter.apply(x, this.fwdTable, this.slotsFor(N));
  }
  adjoint(y: Tensor): Tensor {
    const N = checkImages(y, this.outputShape, this.name);
    return this.filter.apply(y, this.adjTable, this.slotsFor(N));
  }
  vjp(_x: Tensor, u: Tensor): Tensor {
    return this.adjoint(u);
  }

  /** float64 host twin: A x for one [C, H, W] image */
  apply64(x: ArrayLike<number>): Float64Array {
    const [, C, H, W] = this.inputShape;
    return applySpectral64({ channels: C as 1 | 3, height: H, width: W, lambda: new Float64Array(H * W) }, x, () => 1, this.transfer);
  }

  destroy(): void {
    this.filter.destroy();
    this.engine.release(this.fwdTable, this.adjTable, ...this.slots.values());
  }
}

export class MaskOperator implements MeasurementOperator {
  readonly name = 'mask';
  readonly linear = true;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  private masks = new Map<number, Tensor>();

  /** mask [C, H, W] with 1 = observed (repeated over the batch) */
  constructor(
    readonly engine: Engine,
    readonly mask: Float64Array,
    C: number,
    H: number,
    W: number,
  ) {
    if (mask.length !== C * H * W) throw new Error(`MaskOperator: mask of ${mask.length} values for [${C}, ${H}, ${W}]`);
    this.inputShape = [1, C, H, W];
    this.outputShape = [1, C, H, W];
  }

  /** Box mask: zeros in the rectangle [top, top+h) × [left, left+w), ones elsewhere. */
  static box(engine: Engine, C: number, H: number, W: number, top: number, left: number, h: number, w: number): MaskOperator {
    const m = new Float64Array(C * H * W).fill(1);
    for (let c = 0; c < C; c++) for (let y = top; y < top + h; y++) for (let x = left; x < left + w; x++) m[c * H * W + y * W + x] = 0;
    return new MaskOperator(engine, m, C, H, W);
  }

  private maskFor(N: number): Tensor {
    let t = this.masks.get(N);
    if (!t) {
      const one = Float32Array.from(this.mask);
      const rep = new Float32Array(N * one.length);
      for (let n = 0; n < N; n++) rep.set(one, n * one.length);
      const [, C, H, W] = this.inputShape;
      this.masks.set(N, (t = this.engine.upload(rep, [N, C, H, W], 'mask')));
    }
    return t;
  }

  forward(x: Tensor): Tensor {
    const N = checkImages(x, this.inputShape, this.name);
    return mulInPlace(this.engine, copy(this.engine, x), this.maskFor(N));
  }
  adjoint(y: Tensor): Tensor {
    return this.forward(y);
  }
  vjp(_x: Tensor, u: Tensor): Tensor {
    return this.forward(u);
  }
  pinv(y: Tensor): Tensor {
    return this.forward(y);
  }

  destroy(): void {
    this.engine.release(...this.masks.values());
  }
}

export class DenseMatrixOperator implements MeasurementOperator {
  readonly name = 'dense';
  readonly linear = true;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  private a: Tensor;
  private at: Tensor;

  /** A [m, D] row-major, D = C·H·W; y is [N, m] */
  constructor(
    readonly engine: Engine,
    readonly A: Float64Array,
    readonly m: number,
    imageShape: readonly [number, number, number],
  ) {
    const D = imageShape[0] * imageShape[1] * imageShape[2];
    if (A.length !== m * D) throw new Error(`DenseMatrixOperator: A of ${A.length} values for [${m}, ${D}]`);
    this.inputShape = [1, ...imageShape];
    this.outputShape = [1, m];
    const at = new Float32Array(m * D);
    for (let i = 0; i < m; i++) for (let j = 0; j < D; j++) at[j * m + i] = A[i * D + j];
    this.a = engine.upload(Float32Array.from(A), [m, D], 'dense-a');
    this.at = engine.upload(at, [D, m], 'dense-at');
  }

  private mv(mat: Tensor, rows: number, cols: number, x: Tensor, outShape: number[]): Tensor {
    const N = x.shape[0];
    if (x.size !== N * cols) throw new Error(`DenseMatrixOperator: input [${x.shape}] does not have ${cols} values per image`);
    const out = this.engine.tensor(outShape, 'dense-out');
    const count = N * rows;
    this.engine.run({ kernel: { family: 'prior-dense', entry: 'matvec' }, bindings: [mat, x, out], uniforms: uniforms(count, rows, cols), grid: grid1d(this.engine, count), flops: 2 * count * cols, bytes: 4 * count * cols });
    return out;
  }

  forward(x: Tensor): Tensor {
    const D = this.A.length / this.m;
    return this.mv(this.a, this.m, D, x, [x.shape[0], this.m]);
  }
  adjoint(y: Tensor): Tensor {
    const D = this.A.length / this.m;
    return this.mv(this.at, D, this.m, y, [y.shape[0], ...this.inputShape.slice(1)]);
  }
  vjp(_x: Tensor, u: Tensor): Tensor {
    return this.adjoint(u);
  }

  destroy(): void {
    this.engine.release(this.a, this.at);
  }
}
