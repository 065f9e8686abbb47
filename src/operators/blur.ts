// Blur: y = crop(k ⋆ reflect_pad(x, k/2)) per channel — DPS's Blurkernel (ReflectionPad2d + depthwise
// conv2d, a cross-correlation with the same k×k kernel on every channel).
//
// Two implementations of the same linear map: by FFT (two real planes per complex FFT, l ≥ h + k − 1 so
// the circular correlation never wraps onto kept outputs; the kernel spectrum is computed in float64)
// and direct (tiled in workgroup memory). Adjoint: zero-embed y, circular convolution (multiply by K̂
// instead of conj K̂), and the fold-back sum that is the adjoint of reflect padding.
import type { Engine } from '../engine/executor.js';
import { defineKernels } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator, SvdView } from './operator.js';
import { fftFilterCols, fftRows, nextFftSize, type PlaneShape } from './fft.js';
import { cgNormal } from './cg.js';
import { jacobiSvd, SeparableSvd } from './svd.js';
import { expectShape, imageShape, runFlat, type Shape4 } from './util.js';

export type BlurMethod = 'auto' | 'fft' | 'direct';

export interface BlurOptions {
  /** 'auto' (default) picks direct for kernels up to 9×9, FFT above */
  method?: BlurMethod;
  /** FFT grid: smallest 2^a·3^b·5^c ≥ h + k − 1 ('smooth', default) or the next power of two */
  fftSize?: 'smooth' | 'pow2';
  /** CG iterations of pinv (default 20) */
  cgIterations?: number;
  /** 1-D factor g with kernel = g gᵀ: enables the separable SVD view (DDRM) */
  separable?: Float64Array;
  /** singular values of the 1-D factors below this are zeroed in the SVD view (DDRM's ZERO = 3e-2) */
  svdZero?: number;
  name?: string;
}

export class BlurOperator implements MeasurementOperator {
  readonly name: string;
  readonly inputShape: Shape4;
  readonly outputShape: Shape4;
  readonly linear = true;
  /** the kernel as applied (f32-rounded), [1, 1, k, k] */
  readonly kernelTensor: Tensor;
  readonly kernel: Float64Array;
  readonly method: 'fft' | 'direct';
  readonly grid: { l1: number; l2: number };
  private spectrum: Tensor | null = null;
  private svdView: SeparableSvd | null = null;
  private readonly r: number;

  constructor(
    readonly engine: Engine,
    inputShape: readonly number[],
    kernel: ArrayLike<number>,
    readonly size: number,
    readonly opts: BlurOptions = {},
  ) {
    this.inputShape = imageShape(inputShape, 'blur');
    this.outputShape = this.inputShape;
    this.name = opts.name ?? 'blur';
    if (!(Number.isInteger(size) && size % 2 === 1)) throw new Error(`blur: kernel size must be odd, got ${size}`);
    if (kernel.length !== size * size) throw new Error(`blur: ${kernel.length} kernel values for ${size}×${size}`);
    const [, , H, W] = this.inputShape;
    this.r = (size - 1) / 2;
    if (this.r >= H || this.r >= W) {
      throw new Error(
        `blur: reflect padding ${this.r} (kernel ${size}) must be smaller than the image (${H}×${W}), as in PyTorch`,
      );
    }
    this.kernel = Float64Array.from(kernel, Math.fround);
    this.kernelTensor = engine.upload(Float32Array.from(this.kernel), [1, 1, size, size], 'blur_kernel');
    const m = opts.method ?? 'auto';
    this.method = m === 'auto' ? (size <= 9 ? 'direct' : 'fft') : m;
    const pow2 = opts.fftSize === 'pow2';
    this.grid = { l1: nextFftSize(H + size - 1, pow2), l2: nextFftSize(W + size - 1, pow2) };
  }

  private get planes() {
    return this.inputShape[0] * this.inputShape[1];
  }

  private params(total: number) {
    const [, , H, W] = this.inputShape;
    return { planes: this.planes, h: H, w: W, r: this.r, l1: this.grid.l1, l2: this.grid.l2, k: this.size, total };
  }

  forward(x: Tensor): Tensor {
    return this.method === 'fft' ? this.forwardFft(x) : this.forwardDirect(x);
  }

  adjoint(y: Tensor): Tensor {
    return this.method === 'fft' ? this.adjointFft(y) : this.adjointDirect(y);
  }

  vjp(_x: Tensor, u: Tensor): Tensor {
    return this.adjoint(u);
  }

  /** A⁺y ≈ Aᵀ(AAᵀ)⁻¹y by `cgIterations` CG steps (blur has no cheap exact inverse with reflect padding). */
  pinv(y: Tensor): Tensor {
    expectShape(y, this.outputShape, `${this.name}.pinv`);
    const z = cgNormal(
      this.engine,
      (t) => {
        const a = this.adjoint(t);
        const b = this.forward(a);
        this.engine.release(a);
        return b;
      },
      y,
      this.inputShape[0],
      this.opts.cgIterations ?? 20,
    );
    const x = this.adjoint(z);
    this.engine.release(z);
    return x;
  }

  /** Separable SVD (Gaussian kernels): built on first use — float64 Jacobi SVDs of two h×h / w×w matrices. */
  get svd(): SvdView | undefined {
    const g = this.opts.separable;
    if (!g) return undefined;
    if (!this.svdView) {
      const [, , H, W] = this.inputShape;
      const bh = reflectCorrelationMatrix(g, H),
        bw = W === H ? bh : reflectCorrelationMatrix(g, W);
      const sh = jacobiSvd(bh, H, H);
      const sw = W === H ? sh : jacobiSvd(bw, W, W);
      this.svdView = this.engine.alongside(
        this.kernelTensor,
        () => new SeparableSvd(this.engine, this.inputShape, sh, sw, 'sorted', this.opts.svdZero ?? 3e-2),
      );
    }
    return this.svdView;
  }

  /** Frees the operator's GPU buffers (kernel, spectrum, SVD factors). */
  destroy(): void {
    this.engine.release(this.kernelTensor, this.spectrum);
    this.svdView?.destroy();
    this.spectrum = this.svdView = null;
  }

  // ------------------------------------------------------------------ FFT path

  private planeShape(): PlaneShape {
    return { planes: Math.ceil(this.planes / 2), h: this.grid.l1, w: this.grid.l2 };
  }

  /** K̂ on the l1×l2 grid (float64 DFT of the f32 kernel placed at the origin), uploaded once. */
  private kernelSpectrum(): Tensor {
    if (this.spectrum) return this.spectrum;
    const { l1, l2 } = this.grid;
    const k = this.size;
    const cs = (n: number) => {
      const c = new Float64Array(n),
        s = new Float64Array(n);
      for (let t = 0; t < n; t++) {
        c[t] = Math.cos((2 * Math.PI * t) / n);
        s[t] = -Math.sin((2 * Math.PI * t) / n);
      }
      return [c, s];
    };
    const [c2, s2] = cs(l2),
      [c1, s1] = cs(l1);
    // rows: R[a][v] = Σ_b k[a][b] e^{-2πi bv/l2}
    const rre = new Float64Array(k * l2),
      rim = new Float64Array(k * l2);
    for (let a = 0; a < k; a++)
      for (let v = 0; v < l2; v++) {
        let re = 0,
          im = 0;
        for (let b = 0; b < k; b++) {
          const w = this.kernel[a * k + b],
            t = (b * v) % l2;
          re += w * c2[t];
          im += w * s2[t];
        }
        rre[a * l2 + v] = re;
        rim[a * l2 + v] = im;
      }
    const out = new Float32Array(l1 * l2 * 2);
    for (let u = 0; u < l1; u++)
      for (let v = 0; v < l2; v++) {
        let re = 0,
          im = 0;
        for (let a = 0; a < k; a++) {
          const t = (a * u) % l1,
            x = rre[a * l2 + v],
            y = rim[a * l2 + v];
          re += x * c1[t] - y * s1[t];
          im += x * s1[t] + y * c1[t];
        }
        out[2 * (u * l2 + v)] = re;
        out[2 * (u * l2 + v) + 1] = im;
      }
    this.spectrum = this.engine.alongside(this.kernelTensor, () =>
      this.engine.upload(out, [l1, l2, 2], 'blur_spectrum'),
    );
    return this.spectrum;
  }

  forwardFft(x: Tensor): Tensor {
    const e = this.engine;
    expectShape(x, this.inputShape, `${this.name}.forward`);
    const [, , H] = this.inputShape;
    const ps = this.planeShape();
    const gridTotal = ps.planes * ps.h * ps.w;
    const z = e.tensor([ps.planes, ps.h, ps.w, 2], 'blur_grid');
    runFlat(e, BLUR.pack_reflect, { src: x, dst: z }, this.params(gridTotal), gridTotal, { bytes: 12 * gridTotal });
    fftRows(e, z, ps, false, 1, H + 2 * this.r);
    fftFilterCols(e, z, ps, this.kernelSpectrum(), true, 1 / ps.h);
    fftRows(e, z, ps, true, 1 / ps.w, H);
    const y = e.tensor(this.outputShape, `${this.name}_y`);
    runFlat(e, BLUR.unpack_crop, { src: z, dst: y }, this.params(y.size), y.size, { bytes: 8 * y.size });
    e.release(z);
    return y;
  }

  adjointFft(y: Tensor): Tensor {
    const e = this.engine;
    expectShape(y, this.outputShape, `${this.name}.adjoint`);
    const [, , H] = this.inputShape;
    const ps = this.planeShape();
    const gridTotal = ps.planes * ps.h * ps.w;
    const z = e.tensor([ps.planes, ps.h, ps.w, 2], 'blur_grid');
    runFlat(e, BLUR.pack_zero, { src: y, dst: z }, this.params(gridTotal), gridTotal, { bytes: 12 * gridTotal });
    fftRows(e, z, ps, false, 1, H);
    fftFilterCols(e, z, ps, this.kernelSpectrum(), false, 1 / ps.h);
    fftRows(e, z, ps, true, 1 / ps.w, H + 2 * this.r);
    const x = e.tensor(this.inputShape, `${this.name}_adj`);
    runFlat(e, BLUR.unpack_fold, { src: z, dst: x }, this.params(x.size), x.size, { bytes: 40 * x.size });
    e.release(z);
    return x;
  }

  // ------------------------------------------------------------------ direct path

  forwardDirect(x: Tensor): Tensor {
    const e = this.engine;
    expectShape(x, this.inputShape, `${this.name}.forward`);
    const [, , H, W] = this.inputShape;
    const y = e.tensor(this.outputShape, `${this.name}_y`);
    const k = this.size;
    const flops = 2 * k * k * y.size;
    const maxWords = e.limits.maxComputeWorkgroupStorageSize / 4;
    const ox = [4, 2, 1].find((o) => (16 * o + k - 1) * (16 + k - 1) <= maxWords);
    if (ox) {
      e.run({
        kernel: BLUR.conv_direct,
        constants: { K: k, OX: ox },
        buffers: { src: x, dst: y, kern: this.kernelTensor },
        params: this.params(y.size),
        grid: [Math.ceil(W / (16 * ox)), Math.ceil(H / 16), this.planes],
        flops,
        bytes: 8 * y.size,
        label: 'blur:conv_direct',
      });
    } else {
      runFlat(e, BLUR.conv_direct_naive, { src: x, dst: y, kern: this.kernelTensor }, this.params(y.size), y.size, {
        flops,
        bytes: 8 * y.size,
      });
    }
    return y;
  }

  adjointDirect(y: Tensor): Tensor {
    const e = this.engine;
    expectShape(y, this.outputShape, `${this.name}.adjoint`);
    const [N, C, H, W] = this.inputShape;
    const hp = H + 2 * this.r,
      wp = W + 2 * this.r;
    const z = e.tensor([N, C, hp, wp], 'blur_padded');
    runFlat(e, BLUR.conv_direct_t, { src: y, dst: z, kern: this.kernelTensor }, this.params(z.size), z.size, {
      flops: 2 * this.size ** 2 * y.size,
      bytes: 8 * z.size,
    });
    const x = e.tensor(this.inputShape, `${this.name}_adj`);
    runFlat(e, BLUR.fold_real, { src: z, dst: x }, this.params(x.size), x.size, { bytes: 40 * x.size });
    e.release(z);
    return x;
  }
}

const SD = { src: 'read', dst: 'read_write' } as const;
const SDK = { ...SD, kern: 'read' } as const;
export const BLUR = defineKernels('blur', {
  uniforms: {
    planes: 'u32', // real planes (N·C)
    h: 'u32',
    w: 'u32',
    r: 'u32', // padding = k / 2
    l1: 'u32', // FFT grid
    l2: 'u32',
    k: 'u32', // kernel size (odd)
    total: 'u32', // elements this dispatch covers
  },
  entries: {
    pack_reflect: { bindings: SD },
    pack_zero: { bindings: SD },
    unpack_crop: { bindings: SD },
    unpack_fold: { bindings: SD },
    fold_real: { bindings: SD },
    conv_direct: { bindings: SDK },
    conv_direct_naive: { bindings: SDK },
    conv_direct_t: { bindings: SDK },
  },
});

/** The n×n matrix of 1-D correlation with g under reflect padding of g.length/2 (one axis of the blur). */
export function reflectCorrelationMatrix(g: ArrayLike<number>, n: number): Float64Array {
  const k = g.length,
    r = (k - 1) / 2;
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < k; a++) {
      let t = i + a - r;
      if (t < 0) t = -t;
      if (t >= n) t = 2 * (n - 1) - t;
      m[i * n + t] += g[a];
    }
  return m;
}
