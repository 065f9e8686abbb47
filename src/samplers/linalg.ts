// Linear solves for the samplers. Batched conjugate gradients (src/operators/cg.ts: one independent system
// per image, all scalars on the GPU) and the measurement-space solve Aᵀ(αAAᵀ + βI)⁻¹z that ΠGDM and the
// isotropic CMI estimator need: exact through the operator's SVD when it has one, CG otherwise.
import type { Engine } from '../engine/executor.js';
import { axpby, lincomb } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator } from '../operators/operator.js';
import { batchedCg as cgBatched, type CgOptions, type CgResult } from '../operators/cg.js';
import { spectralLift } from './rows.js';

export type { CgOptions, CgResult } from '../operators/cg.js';

/**
 * Solves apply(x) = b per image (rows = first axis) by the batched CG of src/operators/cg.ts from x0
 * (default 0), with the samplers' curvature guard by default: an image is frozen when pᵀAp ≤ 1e-7·pᵀp
 * (a network Hessian need not be definite), keeping its last good iterate. b and x0 are not consumed.
 */
export function batchedCg(
  e: Engine,
  apply: (p: Tensor) => Tensor,
  b: Tensor,
  x0: Tensor | null,
  opts: CgOptions = {},
): Promise<CgResult> {
  return cgBatched(e, apply, b, x0, { curvTol: 1e-7, ...opts });
}

/** Aᵀu for a linear operator (its adjoint, or the vjp at any point). */
export function adjointOf(op: MeasurementOperator, at: Tensor, u: Tensor): Tensor {
  return op.adjoint ? op.adjoint(u) : op.vjp(at, u);
}

/**
 * Aᵀ(α AAᵀ + β I)⁻¹ z for a linear operator, per image. With an SVD (A = U S Vᵀ) this is exactly
 * V pad(s/(α s² + β) ⊙ Uᵀz) — the part of z outside range(U) is annihilated by Aᵀ, so no complement term.
 * Without one, CG in measurement space on q ↦ α A(Aᵀq) + βq (`at` is any point for the adjoint).
 */
export async function adjointSolve(
  e: Engine,
  op: MeasurementOperator,
  z: Tensor,
  alpha: number,
  beta: number,
  at: Tensor,
  cg: CgOptions = {},
): Promise<Tensor> {
  if (!op.linear) throw new Error(`operator '${op.name}' is not linear: Aᵀ(αAAᵀ+βI)⁻¹ needs a linear operator`);
  const svd = op.svd;
  if (svd) {
    const w = svd.ut(z);
    const D = at.size / at.shape[0];
    const lifted = spectralLift(e, w, svd.singulars, D, alpha, beta, 1);
    const out = svd.v(lifted);
    e.release(w, lifted);
    return out.reshape(at.shape);
  }
  const apply = (q: Tensor) => {
    const atq = adjointOf(op, at, q);
    const aatq = op.forward(atq);
    e.release(atq);
    const o = lincomb(e, alpha, aatq.reshape(q.shape), beta, q);
    e.release(aatq);
    return o;
  };
  const res = await batchedCg(e, apply, z, null, cg);
  const out = adjointOf(op, at, res.x);
  e.release(res.x, res.frozen);
  return out;
}

export { axpby };
