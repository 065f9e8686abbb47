// Phase retrieval (non-linear): y = |F P x|, P = zero padding by `pad` pixels per side, F the centred
// orthonormal 2-D DFT (fastMRI fft2c, as DPS's PhaseRetrievalOperator). DPS fixes pad = oversample/8 · 256
// (64 for oversample 2) whatever the image size; that is the default here.
// VJP for DPS: ∂/∂x ⟨u, |F P x|⟩ = Pᵀ Re(Fᴴ (u ⊙ Z/|Z|)), Z = F P x (0 where Z = 0).
// Two real planes share one complex FFT (their spectra separate by Hermitian symmetry, shaders/phase.wgsl).
import type { Engine } from '../engine/executor.js';
import { defineKernels } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator } from './operator.js';
import { fft2d, fftRadices, nextFftSize, type PlaneShape } from './fft.js';
import { expectShape, imageShape, runFlat, type Shape4 } from './util.js';

const SD = { src: 'read', dst: 'read_write' } as const;
export const PHASE = defineKernels('phase', {
  // h, w: image; l1, l2: padded grid; planes: real planes N·C
  uniforms: { total: 'u32', h: 'u32', w: 'u32', pad: 'u32', l1: 'u32', l2: 'u32', planes: 'u32' },
  entries: {
    pack_shift: { bindings: SD },
    magnitude: { bindings: SD },
    vjp_weight: { bindings: { ...SD, grid: 'read' } },
    unpack_real: { bindings: SD },
  },
});

export interface PhaseOptions {
  /** zero padding per side (default 64 = DPS's oversample 2.0) */
  pad?: number;
  /** DPS's parameter: pad = int(oversample / 8 · 256); ignored when `pad` is given */
  oversample?: number;
}

export class PhaseRetrievalOperator implements MeasurementOperator {
  readonly name = 'phase';
  readonly inputShape: Shape4;
  readonly outputShape: Shape4;
  readonly linear = false;
  readonly pad: number;
  private readonly grid: PlaneShape;

  constructor(
    readonly engine: Engine,
    inputShape: readonly number[],
    opts: PhaseOptions = {},
  ) {
    this.inputShape = imageShape(inputShape, 'phase');
    this.pad = opts.pad ?? Math.trunc(((opts.oversample ?? 2.0) / 8.0) * 256);
    if (!(Number.isInteger(this.pad) && this.pad >= 0))
      throw new Error(`phase: pad must be a non-negative integer, got ${this.pad}`);
    const [N, C, H, W] = this.inputShape;
    const l1 = H + 2 * this.pad,
      l2 = W + 2 * this.pad;
    for (const l of [l1, l2]) {
      if (!fftRadices(l)) {
        throw new Error(
          `phase: padded size ${l} is not 2^a·3^b·5^c; the DFT size is part of the operator, so choose a pad ` +
            `that makes h + 2·pad (and w + 2·pad) such a size (e.g. h + 2·pad = ${nextFftSize(l)})`,
        );
      }
    }
    this.outputShape = [N, C, l1, l2];
    this.grid = { planes: Math.ceil((N * C) / 2), h: l1, w: l2 };
  }

  private params(total: number) {
    const [N, C, H, W] = this.inputShape;
    return { total, h: H, w: W, pad: this.pad, l1: this.grid.h, l2: this.grid.w, planes: N * C };
  }

  /** Z = F P x on the complex grid (new tensor [planes, l1, l2, 2]). */
  private spectrum(x: Tensor): Tensor {
    const e = this.engine,
      g = this.grid;
    const total = g.planes * g.h * g.w;
    const z = e.tensor([g.planes, g.h, g.w, 2], 'phase_grid');
    runFlat(e, PHASE.pack_shift, { src: x, dst: z }, this.params(total), total, { bytes: 12 * total });
    fft2d(e, z, g, false, 1 / Math.sqrt(g.h * g.w));
    return z;
  }

  /** Nothing to free: the FFT twiddle tables are shared per engine. */
  destroy(): void {}

  forward(x: Tensor): Tensor {
    expectShape(x, this.inputShape, 'phase.forward');
    const z = this.spectrum(x);
    const y = this.engine.tensor(this.outputShape, 'phase_y');
    runFlat(this.engine, PHASE.magnitude, { src: z, dst: y }, this.params(y.size), y.size, {
      flops: 3 * y.size,
      bytes: 12 * y.size,
    });
    this.engine.release(z);
    return y;
  }

  vjp(x: Tensor, u: Tensor): Tensor {
    expectShape(x, this.inputShape, 'phase.vjp');
    expectShape(u, this.outputShape, 'phase.vjp cotangent');
    const e = this.engine,
      g = this.grid;
    const z = this.spectrum(x);
    const total = g.planes * g.h * g.w;
    const h = e.tensor(z.shape, 'phase_cotangent');
    runFlat(e, PHASE.vjp_weight, { src: z, dst: h, grid: u }, this.params(total), total, {
      flops: 40 * total,
      bytes: 40 * total,
    });
    fft2d(e, h, g, true, 1 / Math.sqrt(g.h * g.w));
    const out = e.tensor(this.inputShape, 'phase_vjp');
    runFlat(e, PHASE.unpack_real, { src: h, dst: out }, this.params(out.size), out.size, { bytes: 8 * out.size });
    e.release(z, h);
    return out;
  }
}
