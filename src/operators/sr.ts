// Super-resolution ×s: DPS's Resizer (util/resizer.py, Assaf Shocher's MATLAB-imresize port) with scale 1/s:
// cubic kernel (Keys, a = −0.5) stretched by s (antialiasing), weights normalised per output pixel, mirror
// (symmetric, edge-repeating) boundary, applied along H then W. Each axis is a small banded matrix R
// (out × in), so A x = R_h X R_wᵀ per channel.
//   adjoint: R_hᵀ Y R_w (exact; DPS's own `transpose` is nearest upsampling, which is not Aᵀ)
//   pinv:    R_h⁺ Y (R_w⁺)ᵀ with R⁺ = V Σ⁻¹ Uᵀ from a float64 SVD (exact: R has full row rank)
//   svd:     Kronecker product of the 1-D SVDs, DDRM SRConv layout ('block')
import type { Engine } from '../engine/executor.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator, SvdView } from './operator.js';
import { AxisMatrix } from './axis.js';
import { jacobiSvd, SeparableSvd, type Svd } from './svd.js';
import { expectShape, imageShape, type Shape4 } from './util.js';

function cubic(x: number): number {
  const a = Math.abs(x),
    a2 = a * a,
    a3 = a2 * a;
  if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
  if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
  return 0;
}

/**
 * The out×in matrix of Resizer along one axis (scale = out/in factor, e.g. 1/4). Weights are normalised
 * in float64 and rounded to f32 per tap, as DPS stores them; taps that mirror onto the same pixel add up.
 */
export function resizeMatrix(inLen: number, scale: number): { m: Float64Array; out: number } {
  const out = Math.ceil(inLen * scale);
  const anti = scale < 1;
  const kernel = anti ? (t: number) => scale * cubic(scale * t) : cubic;
  const kw = anti ? 4 / scale : 4;
  const expanded = Math.ceil(kw) + 2;
  const m = new Float64Array(out * inLen);
  for (let o = 0; o < out; o++) {
    const match = (o + 1 - (out - inLen * scale) / 2) / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(match - kw / 2);
    const w = new Float64Array(expanded);
    let sum = 0;
    for (let t = 0; t < expanded; t++) sum += w[t] = kernel(match - (left + t - 1) - 1);
    if (sum === 0) sum = 1;
    for (let t = 0; t < expanded; t++) {
      // mirror = [0..n-1, n-1..0] indexed modulo 2n (symmetric padding that repeats the edge pixel)
      const pos = (((left + t - 1) % (2 * inLen)) + 2 * inLen) % (2 * inLen);
      const src = pos < inLen ? pos : 2 * inLen - 1 - pos;
      m[o * inLen + src] += Math.fround(w[t] / sum);
    }
  }
  return { m, out };
}

/** R⁺ = V Σ⁻¹ Uᵀ (n×m) from an SVD of R (m×n), singular values ≤ tol·s₀ dropped. */
export function pseudoInverse(s: Svd, tol = 1e-12): Float64Array {
  const { m, n, u, v } = s;
  const p = new Float64Array(n * m);
  const r = Math.min(m, n);
  for (let k = 0; k < r; k++) {
    if (!(s.s[k] > tol * s.s[0])) continue;
    const inv = 1 / s.s[k];
    for (let i = 0; i < n; i++) {
      const vi = v[i * n + k] * inv;
      if (vi === 0) continue;
      for (let j = 0; j < m; j++) p[i * m + j] += vi * u[j * m + k];
    }
  }
  return p;
}

export interface SuperResolutionOptions {
  /** singular values of the 1-D factors below this are zeroed in the SVD view (DDRM's ZERO = 3e-2) */
  svdZero?: number;
}

export class SuperResolutionOperator implements MeasurementOperator {
  readonly name: string;
  readonly inputShape: Shape4;
  readonly outputShape: Shape4;
  readonly linear = true;
  readonly rh: AxisMatrix;
  readonly rw: AxisMatrix;
  private rhT: AxisMatrix;
  private rwT: AxisMatrix;
  private pinvMats: [AxisMatrix, AxisMatrix] | null = null;
  private factorSvds: [Svd, Svd] | null = null;
  private svdView: SeparableSvd | null = null;

  constructor(
    readonly engine: Engine,
    inputShape: readonly number[],
    readonly factor: number,
    readonly opts: SuperResolutionOptions = {},
  ) {
    this.inputShape = imageShape(inputShape, 'super-resolution');
    if (!(factor > 1)) throw new Error(`super-resolution: factor must be > 1, got ${factor}`);
    const [N, C, H, W] = this.inputShape;
    const h = resizeMatrix(H, 1 / factor),
      w = resizeMatrix(W, 1 / factor);
    this.outputShape = [N, C, h.out, w.out];
    this.name = `sr${factor}`;
    this.rh = new AxisMatrix(engine, h.m, h.out, H, 'sr_rh');
    this.rw = new AxisMatrix(engine, w.m, w.out, W, 'sr_rw');
    this.rhT = this.rh.transpose(engine, 'sr_rhT');
    this.rwT = this.rw.transpose(engine, 'sr_rwT');
  }

  private get planes() {
    return this.inputShape[0] * this.inputShape[1];
  }

  forward(x: Tensor): Tensor {
    expectShape(x, this.inputShape, `${this.name}.forward`);
    return AxisMatrix.sandwich(this.engine, this.rh, this.rw, x, this.planes, this.outputShape);
  }

  adjoint(y: Tensor): Tensor {
    expectShape(y, this.outputShape, `${this.name}.adjoint`);
    return AxisMatrix.sandwich(this.engine, this.rhT, this.rwT, y, this.planes, this.inputShape);
  }

  vjp(_x: Tensor, u: Tensor): Tensor {
    return this.adjoint(u);
  }

  /** The float64 SVDs of R_h and R_w (computed once). */
  factors(): [Svd, Svd] {
    if (!this.factorSvds) {
      const sh = jacobiSvd(this.rh.host, this.rh.rows, this.rh.cols);
      const same = this.rh.rows === this.rw.rows && this.rh.cols === this.rw.cols;
      this.factorSvds = [sh, same ? sh : jacobiSvd(this.rw.host, this.rw.rows, this.rw.cols)];
    }
    return this.factorSvds;
  }

  pinv(y: Tensor): Tensor {
    expectShape(y, this.outputShape, `${this.name}.pinv`);
    if (!this.pinvMats) {
      const [sh, sw] = this.factors();
      const [, , H, W] = this.inputShape;
      this.pinvMats = this.engine.alongside(this.rh.tensor, () => [
        new AxisMatrix(this.engine, pseudoInverse(sh), H, sh.m, 'sr_pinv_h'),
        new AxisMatrix(this.engine, pseudoInverse(sw), W, sw.m, 'sr_pinv_w'),
      ]) as [AxisMatrix, AxisMatrix];
    }
    return AxisMatrix.sandwich(this.engine, this.pinvMats[0], this.pinvMats[1], y, this.planes, this.inputShape);
  }

  /** Frees the operator's GPU buffers (resize matrices, pseudo-inverse, SVD factors). */
  destroy(): void {
    for (const m of [this.rh, this.rw, this.rhT, this.rwT, ...(this.pinvMats ?? [])]) m.release(this.engine);
    this.svdView?.destroy();
    this.pinvMats = this.svdView = null;
  }

  get svd(): SvdView {
    if (!this.svdView) {
      const [sh, sw] = this.factors();
      this.svdView = this.engine.alongside(
        this.rh.tensor,
        () => new SeparableSvd(this.engine, this.inputShape, sh, sw, 'block', this.opts.svdZero ?? 3e-2),
      );
    }
    return this.svdView;
  }
}
