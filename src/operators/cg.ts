// Conjugate gradients for the pseudo-inverse of operators without a cheap exact one:
// A⁺y = Aᵀ z with (A Aᵀ) z = y, solved per image with a fixed number of iterations and no read-back.
// Stopping early regularises: the components of tiny singular values (which A⁺ would amplify) converge last.
import { uniforms, type Engine } from '../engine/executor.js';
import type { Tensor } from '../engine/tensor.js';
import { copy, rowDot, rowSumSq } from '../engine/ops/vector.js';
import { runFlat } from './util.js';

/** z ≈ (A Aᵀ)⁻¹ y after `iters` CG steps from z = 0; `normal(t)` returns A Aᵀ t (a new tensor). */
export function cgNormal(e: Engine, normal: (t: Tensor) => Tensor, y: Tensor, rows: number, iters: number): Tensor {
  if (!(Number.isInteger(iters) && iters >= 0))
    throw new Error(`CG: iterations must be a non-negative integer, got ${iters}`);
  const per = y.size / rows;
  const z = e.tensor(y.shape, 'cg_z');
  e.write(z, new Float32Array(y.size));
  const r = copy(e, y);
  const p = copy(e, y);
  let rr = rowSumSq(e, r, rows);
  const u = uniforms(per, y.size, 0, 0);
  for (let k = 0; k < iters; k++) {
    const q = normal(p);
    const pq = rowDot(e, p, q, rows);
    runFlat(e, 'cg', 'cg_update', [rr, pq, p, q, z, r], u, y.size, { flops: 4 * y.size, bytes: 24 * y.size });
    const rrNew = rowSumSq(e, r, rows);
    runFlat(e, 'cg', 'cg_direction', [rrNew, rr, r, p], u, y.size, { flops: 2 * y.size, bytes: 12 * y.size });
    e.release(q, pq, rr);
    rr = rrNew;
  }
  e.release(r, p, rr);
  return z;
}
