// The validation lab's measurement operators (MeasurementOperator, GPU): the ones whose posteriors are
// exact with the lab's priors.
//  - CircularBlurOperator: circular convolution by a small kernel, same on every channel (diagonal in
//    Fourier; the DPS blur operator pads by reflection instead, which is not diagonal in any basis).
//  - MaskOperator: y = m ⊙ x on the full grid (inpainting), SVD view for DDRM.
//  - DenseMatrixOperator: y = A x for a dense A [m, D] (small D: GMM tasks).
import type { Engine, ScopeToken, Tensor } from '../engine/index.js';
import { defineKernels } from '../engine/kernel.js';
import { copy, grid1d, mulInPlace } from '../engine/ops/vector.js';
import type { MeasurementOperator, SvdView } from '../operators/operator.js';
import { negFreq } from './fft64.js';
import { fftChannels, ifftChannels, type FreqMultiplier } from './circulant.js';
import { circularBlurTransfer } from './exact-posterior.js';
import { SpectralFilter } from './spectral-filter.js';

export const PRIOR_DENSE = defineKernels('prior-dense', {
  uniforms: {
    count: 'u32',
    rows: 'u32',
    cols: 'u32',
  },
  entries: {
    matvec: { bindings: { a: 'read', x: 'read', out: 'read_write' } },
  },
});

/** Accepts any batch (the samplers pass [N, C, H, W]; `inputShape` records the batch it was built for). */
function checkImages(x: Tensor, shape: readonly number[], name: string): number {
  const [, C, H, W] = shape;
  if (x.shape.length !== 4 || x.shape[1] !== C || x.shape[2] !== H || x.shape[3] !== W)
    throw new Error(`${name}: input [${x.shape}], expected [N, ${C}, ${H}, ${W}]`);
  return x.shape[0];
}

type Shape4 = readonly [number, number, number, number];

function checkShape4(shape: readonly number[], name: string): Shape4 {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0))
    throw new Error(`${name}: shape must be [N, C, H, W], got [${shape}]`);
  return shape as unknown as Shape4;
}

export class CircularBlurOperator implements MeasurementOperator {
  readonly name = 'circular-blur';
  readonly linear = true;
  readonly inputShape: Shape4;
  readonly outputShape: Shape4;
  readonly transfer: FreqMultiplier;
  readonly filter: SpectralFilter;
  private fwdTable: Tensor;
  private adjTable: Tensor;
  private pinvTable: Tensor;
  private slots = new Map<number, Tensor>();
  private svdView: CircularBlurSvd | null = null;

  /**
   * kernel kh×kw centred at (⌊kh/2⌋, ⌊kw/2⌋), the same on every channel; shape [N, C, H, W] (C = 1 or 3).
   * `svdZero`: singular values below it are zeroed in the SVD view (DDRM's ZERO = 3e-2).
   */
  constructor(
    readonly engine: Engine,
    readonly kernel: ArrayLike<number>,
    readonly kh: number,
    readonly kw: number,
    shape: readonly number[],
    readonly svdZero = 3e-2,
  ) {
    this.inputShape = checkShape4(shape, 'CircularBlurOperator');
    this.outputShape = this.inputShape;
    const [, C, H, W] = this.inputShape;
    this.transfer = circularBlurTransfer(kernel, kh, kw, H, W);
    this.filter = new SpectralFilter(engine, C, H, W);
    this.fwdTable = engine.upload(this.table('forward'), [1, this.filter.slotSize], 'blur-fwd');
    this.adjTable = engine.upload(this.table('adjoint'), [1, this.filter.slotSize], 'blur-adj');
    this.pinvTable = engine.upload(this.table('pinv'), [1, this.filter.slotSize], 'blur-pinv');
  }

  /** per-frequency gain: b, conj(b), or the pseudo-inverse conj(b)/|b|² (0 where |b| < svdZero, as the SVD view) */
  private table(kind: 'forward' | 'adjoint' | 'pinv' = 'forward'): Float32Array {
    const C = this.inputShape[1],
      hw = this.inputShape[2] * this.inputShape[3];
    const t = new Float32Array(this.filter.slotSize);
    for (let i = 0; i < hw; i++) {
      const br = this.transfer.re[i],
        bi = this.transfer.im[i];
      const a2 = br * br + bi * bi;
      const [re, im] =
        kind === 'forward'
          ? [br, bi]
          : kind === 'adjoint'
            ? [br, -bi]
            : Math.sqrt(a2) < this.svdZero
              ? [0, 0]
              : [br / a2, -bi / a2];
      for (let c = 0; c < C; c++) {
        const o = (i * C * C + c * C + c) * 2;
        t[o] = re;
        t[o + 1] = im;
      }
    }
    return t;
  }

  private slotsFor(N: number): Tensor {
    let s = this.slots.get(N);
    if (!s)
      this.slots.set(
        N,
        (s = this.engine.alongside(this.fwdTable, () => this.engine.upload(new Uint32Array(N), [N], 'blur-slots'))),
      );
    return s;
  }

  forward(x: Tensor): Tensor {
    const N = checkImages(x, this.inputShape, this.name);
    return this.filter.apply(x, this.fwdTable, this.slotsFor(N));
  }
  adjoint(y: Tensor): Tensor {
    const N = checkImages(y.reshape([y.shape[0], ...this.outputShape.slice(1)]), this.outputShape, this.name);
    return this.filter.apply(y.reshape([N, ...this.outputShape.slice(1)]), this.adjTable, this.slotsFor(N));
  }
  vjp(_x: Tensor, u: Tensor): Tensor {
    return this.adjoint(u);
  }
  /** A⁺y with singular values below `svdZero` dropped (consistent with the SVD view) */
  pinv(y: Tensor): Tensor {
    const N = y.shape[0];
    return this.filter.apply(y.reshape([N, ...this.outputShape.slice(1)]), this.pinvTable, this.slotsFor(N));
  }

  /** SVD in the real Fourier basis (needs a point-symmetric kernel, i.e. a real transfer function). */
  get svd(): SvdView {
    this.svdView ??= this.engine.alongside(this.fwdTable, () => new CircularBlurSvd(this));
    return this.svdView;
  }

  /** float64 host twin: A x for one [C, H, W] image */
  apply64(x: ArrayLike<number>): Float64Array {
    const [, C, H, W] = this.inputShape;
    const { re, im } = fftChannels(x, C, H, W);
    const hw = H * W,
      b = this.transfer;
    for (let k = 0; k < C * hw; k++) {
      const i = k % hw,
        xr = re[k],
        xi = im[k];
      re[k] = xr * b.re[i] - xi * b.im[i];
      im[k] = xr * b.im[i] + xi * b.re[i];
    }
    return ifftChannels(re, im, C, H, W);
  }

  destroy(): void {
    this.filter.destroy();
    this.svdView?.destroy();
    this.engine.release(this.fwdTable, this.adjTable, this.pinvTable, ...this.slots.values());
  }
}

/**
 * A = V diag(b) Vᵀ for a circular blur with a real transfer b(ξ) = b(−ξ): V is the real orthonormal
 * Fourier basis (cos/sin pairs, see shaders/prior-spectral.wgsl), ordered by descending |b|; the SVD is
 * s = |b|, U = V·sign(b). Layout as DDRM's H_functions: entry k·C + c, singulars repeated per channel,
 * rank = C·H·W (zeroed singulars stay in the layout, as src/operators/svd.ts does).
 */
export class CircularBlurSvd implements SvdView {
  readonly rank: number;
  readonly singulars: Tensor;
  private basis: Tensor;
  private map: Tensor;
  private signs: Tensor;

  constructor(private op: CircularBlurOperator) {
    const e = op.engine;
    const [, C, H, W] = op.inputShape;
    const hw = H * W,
      b = op.transfer;
    let maxB = 0,
      maxIm = 0;
    for (let i = 0; i < hw; i++) {
      maxB = Math.max(maxB, Math.hypot(b.re[i], b.im[i]));
      maxIm = Math.max(maxIm, Math.abs(b.im[i]));
    }
    if (maxIm > 1e-9 * maxB)
      throw new Error(
        `circular blur SVD: the kernel is not point-symmetric (transfer has imaginary part ${maxIm.toExponential(2)}); no real Fourier SVD`,
      );
    // units: a self-conjugate frequency (one vector) or a pair {ξ, −ξ} (cos, sin), sorted by |b| descending
    const units: Array<{ f: number; pair: boolean; s: number }> = [];
    for (let f = 0; f < hw; f++) {
      const g = negFreq(f, H, W);
      if (g === f) units.push({ f, pair: false, s: Math.abs(b.re[f]) });
      else if (f < g) units.push({ f, pair: true, s: Math.abs(b.re[f]) });
    }
    units.sort((x, y) => y.s - x.s || x.f - y.f);
    const basis = new Uint32Array(2 * hw),
      map = new Uint32Array(2 * hw);
    const sing = new Float32Array(C * hw),
      sign = new Float32Array(C * hw);
    let k = 0;
    const put = (f: number, kind: number) => {
      basis[2 * k] = f;
      basis[2 * k + 1] = kind;
      const sv = Math.abs(b.re[f]);
      for (let c = 0; c < C; c++) {
        sing[k * C + c] = sv < op.svdZero ? 0 : sv;
        sign[k * C + c] = b.re[f] < 0 ? -1 : 1;
      }
      k++;
    };
    for (const u of units) {
      if (!u.pair) {
        map[2 * u.f] = k;
        map[2 * u.f + 1] = 0;
        put(u.f, 0);
      } else {
        const g = negFreq(u.f, H, W);
        map[2 * u.f] = k;
        map[2 * u.f + 1] = 1;
        map[2 * g] = k;
        map[2 * g + 1] = 2;
        put(u.f, 1);
        put(u.f, 2);
      }
    }
    this.rank = C * hw;
    this.singulars = e.upload(sing, [C * hw], 'cblur-singulars');
    this.basis = e.upload(basis, [hw, 2], 'cblur-basis');
    this.map = e.upload(map, [hw, 2], 'cblur-map');
    this.signs = e.upload(sign, [C * hw], 'cblur-signs');
  }

  vt(x: Tensor): Tensor {
    return this.op.filter.toCoords(x.reshape([x.shape[0], ...this.op.inputShape.slice(1)]), this.basis);
  }
  v(z: Tensor): Tensor {
    return this.op.filter.fromCoords(z, this.map);
  }
  ut(y: Tensor): Tensor {
    const c = this.vt(y);
    const out = this.op.filter.coordScale(c, this.signs, this.rank, this.rank);
    this.op.engine.release(c);
    return out;
  }
  u(z: Tensor): Tensor {
    const s = this.op.filter.coordScale(z, this.signs, this.rank, this.rank);
    const out = this.v(s);
    this.op.engine.release(s);
    return out;
  }

  destroy(): void {
    this.op.engine.release(this.singulars, this.basis, this.map, this.signs);
  }
}

export class MaskOperator implements MeasurementOperator {
  readonly name = 'mask';
  readonly linear = true;
  readonly inputShape: Shape4;
  readonly outputShape: Shape4;
  private masks = new Map<number, Tensor>();
  /** the scope this operator was made in: its per-batch masks live there (Engine.inScope) */
  private readonly home: ScopeToken | null;

  /** mask [C, H, W] with 1 = observed (repeated over the batch); shape [N, C, H, W] */
  constructor(
    readonly engine: Engine,
    readonly mask: Float64Array,
    shape: readonly number[],
  ) {
    this.inputShape = checkShape4(shape, 'MaskOperator');
    this.outputShape = this.inputShape;
    this.home = engine.currentScope();
    const [, C, H, W] = this.inputShape;
    if (mask.length !== C * H * W)
      throw new Error(`MaskOperator: mask of ${mask.length} values for [${C}, ${H}, ${W}]`);
  }

  /** Box mask: zeros in the rectangle [top, top+h) × [left, left+w), ones elsewhere. */
  static box(engine: Engine, shape: readonly number[], top: number, left: number, h: number, w: number): MaskOperator {
    const [, C, H, W] = checkShape4(shape, 'MaskOperator.box');
    const m = new Float64Array(C * H * W).fill(1);
    for (let c = 0; c < C; c++)
      for (let y = top; y < top + h; y++) for (let x = left; x < left + w; x++) m[c * H * W + y * W + x] = 0;
    return new MaskOperator(engine, m, shape);
  }

  private maskFor(N: number): Tensor {
    let t = this.masks.get(N);
    if (!t) {
      const one = Float32Array.from(this.mask);
      const rep = new Float32Array(N * one.length);
      for (let n = 0; n < N; n++) rep.set(one, n * one.length);
      const [, C, H, W] = this.inputShape;
      this.masks.set(N, (t = this.engine.inScope(this.home, () => this.engine.upload(rep, [N, C, H, W], 'mask'))));
    }
    return t;
  }

  forward(x: Tensor): Tensor {
    const N = x.shape[0];
    const xi = x.reshape([N, ...this.inputShape.slice(1)]);
    checkImages(xi, this.inputShape, this.name);
    return mulInPlace(this.engine, copy(this.engine, xi), this.maskFor(N));
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
  readonly inputShape: Shape4;
  readonly outputShape: readonly number[];
  private a: Tensor;
  private at: Tensor;

  /** A [m, D] row-major, D = C·H·W; x is [N, C, H, W] (shape), y is [N, m] */
  constructor(
    readonly engine: Engine,
    readonly A: Float64Array,
    readonly m: number,
    shape: readonly number[],
  ) {
    this.inputShape = checkShape4(shape, 'DenseMatrixOperator');
    const D = shape[1] * shape[2] * shape[3];
    if (A.length !== m * D) throw new Error(`DenseMatrixOperator: A of ${A.length} values for [${m}, ${D}]`);
    this.outputShape = [shape[0], m];
    const at = new Float32Array(m * D);
    for (let i = 0; i < m; i++) for (let j = 0; j < D; j++) at[j * m + i] = A[i * D + j];
    this.a = engine.upload(Float32Array.from(A), [m, D], 'dense-a');
    this.at = engine.upload(at, [D, m], 'dense-at');
  }

  private mv(mat: Tensor, rows: number, cols: number, x: Tensor, outShape: number[]): Tensor {
    const N = x.shape[0];
    if (x.size !== N * cols)
      throw new Error(`DenseMatrixOperator: input [${x.shape}] does not have ${cols} values per image`);
    const out = this.engine.tensor(outShape, 'dense-out');
    const count = N * rows;
    this.engine.run({
      kernel: PRIOR_DENSE.matvec,
      buffers: { a: mat, x, out },
      params: { count, rows, cols },
      grid: grid1d(this.engine, count),
      flops: 2 * count * cols,
      bytes: 4 * count * cols,
    });
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
