// Test double: a linear measurement operator y = A x from a small dense matrix A [m, D] (D = C·H·W), on
// the GPU through the samplers' dense matvec, with optional SVD view (from a float64 Jacobi SVD) and
// pseudo-inverse — so the samplers can be checked against dense float64 references. A mask ("box
// inpainting") is the special case of a 0/1 diagonal.
import type { Engine, Tensor } from '../../src/engine/index.js';
import type { MeasurementOperator, SvdView } from '../../src/operators/operator.js';
import { jacobiSvd } from '../../src/operators/svd.js';
import { denseMatvec } from '../../src/samplers/rows.js';

export interface DenseOperator extends MeasurementOperator {
  A: Float64Array;
  m: number;
  D: number;
  /** A⁺ [D, m] */
  pinvMatrix: Float64Array;
  /** float64 factors: U [m, m], s [m], V [D, D] (row-major, singular vectors in columns) */
  factors: { u: Float64Array; s: Float64Array; v: Float64Array };
  /** frees A, A⁺ and the SVD factors */
  destroy(): void;
}

export function denseOperator(
  e: Engine,
  A: ArrayLike<number>,
  m: number,
  shape: readonly [number, number, number, number],
  opts: { svd?: boolean; pinv?: boolean; name?: string } = {},
): DenseOperator {
  const [N, C, H, W] = shape;
  const D = C * H * W;
  if (A.length !== m * D) throw new Error(`denseOperator: ${A.length} entries for ${m}×${D}`);
  if (m > D) throw new Error('denseOperator: expects m ≤ D');
  const a64 = Float64Array.from(A);
  const f = jacobiSvd(a64, m, D);
  const pinv = new Float64Array(D * m);
  for (let k = 0; k < m; k++) {
    if (f.s[k] <= 1e-12 * f.s[0]) continue;
    for (let i = 0; i < D; i++)
      for (let j = 0; j < m; j++) pinv[i * m + j] += (f.v[i * D + k] * f.u[j * m + k]) / f.s[k];
  }
  const up = (x: ArrayLike<number>, s: number[], l: string) => e.upload(Float32Array.from(x), s, l);
  const At = up(a64, [m, D], 'A');
  const Pt = up(pinv, [D, m], 'A_pinv');
  let svd: SvdView | undefined;
  const owned: Tensor[] = [At, Pt];
  if (opts.svd !== false) {
    const Ut = up(f.u, [m, m], 'U'),
      Vt = up(f.v, [D, D], 'V'),
      singulars = up(f.s, [m], 'singulars');
    owned.push(Ut, Vt, singulars);
    svd = {
      rank: m,
      singulars,
      vt: (x) => denseMatvec(e, Vt, D, D, x, true),
      v: (z) => denseMatvec(e, Vt, D, D, z, false).reshape([N, C, H, W]),
      ut: (y) => denseMatvec(e, Ut, m, m, y, true),
      u: (z) => denseMatvec(e, Ut, m, m, z, false),
    };
  }
  const op: DenseOperator = {
    name: opts.name ?? 'dense',
    inputShape: [N, C, H, W],
    outputShape: [N, m],
    linear: true,
    forward: (x) => denseMatvec(e, At, m, D, x, false),
    vjp: (_x, u) => denseMatvec(e, At, m, D, u, true).reshape([N, C, H, W]),
    adjoint: (u) => denseMatvec(e, At, m, D, u, true).reshape([N, C, H, W]),
    A: a64,
    m,
    D,
    pinvMatrix: pinv,
    factors: { u: f.u, s: f.s, v: f.v },
    destroy: () => e.release(...owned),
  };
  if (opts.pinv !== false) op.pinv = (y: Tensor) => denseMatvec(e, Pt, D, m, y, false).reshape([N, C, H, W]);
  if (svd) op.svd = svd;
  return op;
}

/** Rows of the identity for the kept pixels: inpainting with y holding only the observed entries. */
export function selectionMatrix(keep: readonly number[], D: number): Float64Array {
  const A = new Float64Array(keep.length * D);
  keep.forEach((j, r) => (A[r * D + j] = 1));
  return A;
}
