// Batched conjugate gradients: one independent system per row (image), every scalar on the GPU
// (shaders/cg.wgsl), so an iteration needs no read-back. The one CG of the project: the operators'
// pseudo-inverses (A⁺y = Aᵀz with (AAᵀ)z = y, a fixed number of iterations, where stopping early
// regularises: the components of tiny singular values converge last), the samplers' solves
// (src/samplers/linalg.ts) and the validation lab's exact guidance (src/lab/exact-guidance.ts).
import type { Engine } from '../engine/executor.js';
import { defineKernels } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import { copy, grid1d, lincomb, rowDot } from '../engine/ops/vector.js';

const RW = 'read_write';
export const CG = defineKernels('cg', {
  // per: elements per row; total: elements iterated; curv: the curvature guard's bound (cg_alpha)
  uniforms: { per: 'u32', total: 'u32', curv: 'f32' },
  entries: {
    cg_alpha: {
      uniforms: ['total', 'curv'],
      bindings: {
        rz: { wgsl: 'rz_in' },
        pap: { wgsl: 'pap_in' },
        pp: { optional: 'CURV' }, // pᵀp, for a guard relative to |p|²
        frozen: RW,
        alpha: { access: RW, wgsl: 'alpha_out' },
      },
    },
    cg_update: {
      uniforms: ['per', 'total'],
      bindings: { alpha: 'read', x: RW, r: RW, p: { wgsl: 'dir' }, ap: 'read' },
    },
    cg_direction: {
      uniforms: ['per', 'total'],
      bindings: { rzNew: { wgsl: 'rz_new' }, rzOld: { wgsl: 'rz_old' }, z: 'read', p: { access: RW, wgsl: 'dir_out' } },
    },
  },
});

export interface CgOptions {
  /** most iterations (default 10) */
  iters?: number;
  /** stop when every row has ‖r‖ ≤ tol·‖r₀‖, checked with a read-back every `checkEvery` iterations
   * and after the last (async `batchedCg` only; default: no check) */
  tol?: number;
  checkEvery?: number;
  /** freeze a row when pᵀAp ≤ curvTol·pᵀp (the operator is not positive definite along p); default 0:
   * freeze only where pᵀAp ≤ 0 (a converged row) */
  curvTol?: number;
  /** preconditioner M⁻¹: returns a new tensor */
  precond?: (r: Tensor) => Tensor;
  /** systems: the first axis of b (default) */
  rows?: number;
}

export interface CgResult {
  x: Tensor;
  /** [rows]: 1 where the curvature guard froze a row (pᵀAp not positive, or ≤ curvTol·pᵀp) */
  frozen: Tensor;
  iters: number;
  /** max over rows of ‖r‖/‖r₀‖ at the last check (NaN: never checked) */
  relResidual: number;
}

/** The CG state of one batched solve; `step()` records one iteration. */
class Cg {
  readonly rows: number;
  readonly x: Tensor;
  readonly frozen: Tensor;
  private r: Tensor;
  private z: Tensor;
  private p: Tensor;
  private rz: Tensor;
  readonly rr0: Tensor | null;
  iters = 0;

  constructor(
    private e: Engine,
    private apply: (p: Tensor) => Tensor,
    b: Tensor,
    x0: Tensor | null,
    private o: CgOptions,
  ) {
    this.rows = o.rows ?? b.shape[0];
    if (!Number.isInteger(b.size / this.rows))
      throw new Error(`CG: ${b.size} values do not split into ${this.rows} rows`);
    this.x = x0 ? copy(e, x0) : e.upload(new Float32Array(b.size), b.shape, 'cg_x');
    if (x0) {
      const ax = apply(this.x);
      this.r = lincomb(e, 1, b, -1, ax.reshape(b.shape));
      e.release(ax);
    } else this.r = copy(e, b);
    this.frozen = e.upload(new Float32Array(this.rows), [this.rows], 'cg_frozen');
    this.z = o.precond ? o.precond(this.r) : this.r;
    this.p = copy(e, this.z);
    this.rz = rowDot(e, this.r, this.z, this.rows);
    this.rr0 = o.tol ? rowDot(e, this.r, this.r, this.rows) : null;
  }

  step(): void {
    const { e, rows } = this;
    const n = this.x.size;
    const ap = this.apply(this.p);
    const pap = rowDot(e, this.p, ap, rows);
    const curv = this.o.curvTol ?? 0;
    const pp = curv > 0 ? rowDot(e, this.p, this.p, rows) : null;
    const alpha = e.tensor([rows], 'cg_alpha');
    e.run({
      kernel: CG.cg_alpha,
      params: { total: rows, curv },
      buffers: { rz: this.rz, pap, pp, frozen: this.frozen, alpha },
      grid: [Math.ceil(rows / 64)],
    });
    const per = n / rows;
    e.run({
      kernel: CG.cg_update,
      params: { per, total: n },
      buffers: { alpha, x: this.x, r: this.r, p: this.p, ap: ap.reshape(this.p.shape) },
      grid: grid1d(e, n),
      flops: 4 * n,
      bytes: 20 * n,
    });
    e.release(ap, pap, pp, alpha);
    if (this.o.precond) {
      e.release(this.z);
      this.z = this.o.precond(this.r);
    }
    const rzNew = rowDot(e, this.r, this.z, rows);
    e.run({
      kernel: CG.cg_direction,
      params: { per, total: n },
      buffers: { rzNew, rzOld: this.rz, z: this.z, p: this.p },
      grid: grid1d(e, n),
      flops: 2 * n,
      bytes: 12 * n,
    });
    e.release(this.rz);
    this.rz = rzNew;
    this.iters++;
  }

  /** max over rows of ‖r‖/‖r₀‖ (a read-back) */
  async relResidual(): Promise<number> {
    const rrT = rowDot(this.e, this.r, this.r, this.rows);
    const [rr, rr0] = [await this.e.read(rrT), await this.e.read(this.rr0!)];
    this.e.release(rrT);
    let rel = 0;
    rr.forEach((v, i) => (rel = Math.max(rel, Math.sqrt(v / (rr0[i] || 1)))));
    return rel;
  }

  finish(relResidual: number): CgResult {
    this.e.release(this.r, this.p, this.rz, this.rr0, this.o.precond ? this.z : null);
    return { x: this.x, frozen: this.frozen, iters: this.iters, relResidual };
  }
}

function iterations(o: CgOptions): number {
  const iters = o.iters ?? 10;
  if (!(Number.isInteger(iters) && iters >= 0))
    throw new Error(`CG: iterations must be a non-negative integer, got ${iters}`);
  return iters;
}

/** Solves apply(x) = b per row by CG from x0 (default 0), a fixed number of iterations, no read-back. */
export function cgSolve(
  e: Engine,
  apply: (p: Tensor) => Tensor,
  b: Tensor,
  x0: Tensor | null,
  o: Omit<CgOptions, 'tol' | 'checkEvery'> = {},
): CgResult {
  const iters = iterations(o);
  const cg = new Cg(e, apply, b, x0, o);
  for (let k = 0; k < iters; k++) cg.step();
  return cg.finish(NaN);
}

/**
 * Solves apply(x) = b per row by CG from x0 (default 0); with `tol`, stops once every row has
 * ‖r‖ ≤ tol·‖r₀‖ (checked every `checkEvery` iterations and after the last). `apply` must be linear and
 * symmetric positive definite for the usual guarantees; the curvature guard keeps the last good iterate
 * otherwise. b and x0 are not consumed.
 */
export async function batchedCg(
  e: Engine,
  apply: (p: Tensor) => Tensor,
  b: Tensor,
  x0: Tensor | null,
  o: CgOptions = {},
): Promise<CgResult> {
  const iters = iterations(o);
  const every = o.checkEvery ?? 0;
  const cg = new Cg(e, apply, b, x0, o);
  let rel = NaN;
  for (let k = 0; k < iters; k++) {
    cg.step();
    if (o.tol && ((every > 0 && cg.iters % every === 0) || cg.iters === iters)) {
      rel = await cg.relResidual();
      if (rel <= o.tol) break;
    }
  }
  return cg.finish(rel);
}

/** z ≈ (A Aᵀ)⁻¹ y after `iters` CG steps from z = 0; `normal(t)` returns A Aᵀ t (a new tensor). */
export function cgNormal(e: Engine, normal: (t: Tensor) => Tensor, y: Tensor, rows: number, iters: number): Tensor {
  const { x, frozen } = cgSolve(e, normal, y, null, { iters, rows });
  e.release(frozen);
  return x;
}
