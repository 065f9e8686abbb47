// A measurement y = A(x) + n. Every sampler works through this interface only.
// Shapes: x is [N, C, H, W]; y is `outputShape` (batch first). All methods record GPU work and return new
// tensors owned by the caller. Implementations: src/operators/ (docs/operators.md), built by createOperator.
import type { Tensor } from '../engine/index.js';

export interface MeasurementOperator {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly linear: boolean;
  /** A(x) */
  forward(x: Tensor): Tensor;
  /** (∂A/∂x)ᵀ u at x — for a linear operator this is the adjoint Aᵀu (x unused) */
  vjp(x: Tensor, u: Tensor): Tensor;
  /** Aᵀ y (linear operators) */
  adjoint?(y: Tensor): Tensor;
  /** A⁺ y, the pseudo-inverse (exact for masks and SR; blur: a fixed number of CG steps on AAᵀ) */
  pinv?(y: Tensor): Tensor;
  /** singular value decomposition A = U Σ Vᵀ where tractable (DDRM); may be built on first access */
  svd?: SvdView;
}

/**
 * A = U diag(s) Vᵀ with V orthogonal on the image space (size C·H·W per image) and U on the measurement
 * space. The spectral layout follows DDRM's H_functions: `vt(x)` returns the full-length vector Vᵀx
 * ([N, C·H·W]) whose first `rank` entries pair with `singulars`; `v(z)` inverts it; `ut(y)` returns Uᵀy
 * ([N, rank]); `u(z)` maps [N, rank] back to measurement space (`outputShape`).
 * Entries are channel-minor (spectral index k, channel c at k·C + c), each singular value repeated C
 * times. `singulars` may hold zeros (DDRM's ZERO threshold on the 1-D factors); `rank` counts them.
 * U has orthonormal columns (Uᵀ U = I); for masks it is the embedding of the kept entries.
 */
export interface SvdView {
  readonly rank: number;
  /** [rank] singular values, in the order of the spectral layout */
  readonly singulars: Tensor;
  vt(x: Tensor): Tensor;
  v(z: Tensor): Tensor;
  ut(y: Tensor): Tensor;
  u(z: Tensor): Tensor;
}

/** Measurement noise: y = A(x) + n. */
export interface NoiseModel {
  readonly kind: 'gaussian' | 'poisson' | 'none';
  /** Gaussian σ_y in the [-1, 1] image scale; Poisson rate (DPS convention) for 'poisson' */
  readonly level: number;
}
