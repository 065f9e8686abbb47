// Linear solves for the samplers. Batched conjugate gradients (one independent system per image, all
// scalars on the GPU, see rows.ts) and the measurement-space solve Aᵀ(αAAᵀ + βI)⁻¹z that ΠGDM and the
// isotropic CMI estimator need: exact through the operator's SVD when it has one, CG otherwise.
import type { Engine } from '../engine/executor.js';
import { axpby, copy, lincomb } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator } from '../operators/operator.js';
import { cgAlpha, CoefMode, filled, rowAxpy, rowCoef, rowDot, rowXpby, spectralLift } from './rows.js';

export interface CgOptions {
  /** iterations (default 10) */
  iters?: number;
  /** stop when every image has ‖r‖ ≤ tol·‖r₀‖ (checked every `checkEvery` iterations with a readback; 0 = never) */
  tol?: number;
  checkEvery?: number;
  /** freeze an image when pᵀAp ≤ curvTol·pᵀp (operator not positive definite along p); default 1e-7 */
  curvTol?: number;
}

export interface CgResult {
  x: Tensor;
  /** [N]: 1 where the curvature guard stopped that image's iteration */
  frozen: Tensor;
  iters: number;
}

/**
 * Solves apply(x) = b per image (rows = first axis) by CG from x0 (default 0). `apply` must be linear,
 * symmetric and positive definite for the usual guarantees; the curvature guard keeps the last good
 * iterate otherwise. b and x0 are not consumed.
 */
export async function batchedCg(
  e: Engine,
  apply: (p: Tensor) => Tensor,
  b: Tensor,
  x0: Tensor | null,
  opts: CgOptions = {},
): Promise<CgResult> {
  const N = b.shape[0];
  const iters = opts.iters ?? 10;
  const curv = opts.curvTol ?? 1e-7;
  const x = x0 ? copy(e, x0) : filled(e, b.shape, 0, 'cg_x');
  let r: Tensor;
  if (x0) {
    const ax = apply(x);
    r = lincomb(e, 1, b, -1, ax);
    e.release(ax);
  } else r = copy(e, b);
  const p = copy(e, r);
  const frozen = filled(e, [N], 0, 'cg_frozen');
  let rr = rowDot(e, r, r, N);
  const rr0 = opts.tol ? copy(e, rr) : null;
  let done = 0;
  for (let it = 0; it < iters; it++) {
    const ap = apply(p);
    const pap = rowDot(e, p, ap, N);
    const pp = rowDot(e, p, p, N);
    const alpha = cgAlpha(e, rr, pap, pp, frozen, curv);
    rowAxpy(e, x, p, alpha, 1);
    rowAxpy(e, r, ap, alpha, -1);
    const rrNew = rowDot(e, r, r, N);
    const beta = rowCoef(e, CoefMode.Ratio, rrNew, rr, 1, 0);
    rowXpby(e, p, r, beta, 1);
    e.release(ap, pap, pp, alpha, beta, rr);
    rr = rrNew;
    done = it + 1;
    if (rr0 && opts.tol && (opts.checkEvery ?? 0) > 0 && done % opts.checkEvery! === 0) {
      const [a, a0] = [await e.read(rr), await e.read(rr0)];
      if (a.every((v, n) => Math.sqrt(v) <= opts.tol! * Math.sqrt(a0[n]))) break;
    }
  }
  e.release(r, p, rr, rr0);
  return { x, frozen, iters: done };
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
