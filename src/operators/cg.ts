// Conjugate gradients for the pseudo-inverse of operators without a cheap exact one:
// A⁺y = Aᵀ z with (A Aᵀ) z = y, solved per image with a fixed number of iterations and no read-back.
// Stopping early regularises: the components of tiny singular values (which A⁺ would amplify) converge last.
import type { Engine } from '../engine/executor.js';
import { defineKernels } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import { copy, rowDot, rowSumSq } from '../engine/ops/vector.js';
import { runFlat } from './util.js';

// Step sizes num/den per row (0 where den is not a positive finite number)
const CG_STEP = { num: 'read', den: 'read', a: 'read', b: 'read_write' } as const;
export const CG = defineKernels('cg', {
  uniforms: { per: 'u32', total: 'u32' }, // per: elements per row
  entries: {
    cg_update: { bindings: { ...CG_STEP, xv: 'read_write', rv: 'read_write' } },
    cg_direction: { bindings: CG_STEP },
  },
});

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
  const u = { per, total: y.size };
  for (let k = 0; k < iters; k++) {
    const q = normal(p);
    const pq = rowDot(e, p, q, rows);
    runFlat(e, CG.cg_update, { num: rr, den: pq, a: p, b: q, xv: z, rv: r }, u, y.size, {
      flops: 4 * y.size,
      bytes: 24 * y.size,
    });
    const rrNew = rowSumSq(e, r, rows);
    runFlat(e, CG.cg_direction, { num: rrNew, den: rr, a: r, b: p }, u, y.size, {
      flops: 2 * y.size,
      bytes: 12 * y.size,
    });
    e.release(q, pq, rr);
    rr = rrNew;
  }
  e.release(r, p, rr);
  return z;
}
