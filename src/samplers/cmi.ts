// The CMI plug-in (Hamidi & Yang 2025, Algorithm 1): x'_{t−1} ← x'_{t−1} + ηₜ ∇ₓₜ I(x₀; y | xₜ), with the
// gradient estimated by Hutchinson probes (derivation and checks: docs/cmi.md):
//   ∇ₓₜ I ≈ ((1−ᾱ)²/(2ᾱ r)) Σᵢ D²s(xₜ)[Σ⁻¹vᵢ, MΣ_y vᵢ],   s = −ε/sqrt(1−ᾱ),
//   Σ = ((1−ᾱ)/ᾱ)K, K = I + (1−ᾱ)∇s = I − sqrt(1−ᾱ)∂ε/∂x,  MΣ_y v = Aᵀ(Σₙ + AΣAᵀ)⁻¹AΣv.
// Σ⁻¹ is applied `exact`ly (CG on K with JVPs, guarded against an indefinite network Jacobian) or
// `isotropic`ally (K ≈ I, so MΣ_y v = Aᵀ(σ_y²/σ² + AAᵀ)⁻¹Av through the operator alone). Generic over
// ScoreModel: only forward-mode (jvp) and hyper-dual (d2) passes of the network are used.
import type { Engine } from '../engine/executor.js';
import { sliceChannels } from '../engine/ops/layout.js';
import { axpby, lincomb, scale } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import { requireMeasurement, timesOf, type SamplerContext } from './context.js';
import { adjointOf, adjointSolve, batchedCg, type CgOptions } from './linalg.js';
import { CoefMode, filled, rowAxpy, rowCoef, rowSumSq } from './rows.js';

export type SigmaInvMode = 'exact' | 'isotropic';

/**
 * ηₜ: `constant` — ηₜ = η; `residual` — ηₜ = η/‖y − A x̂₀‖ per image (the normalisation DPS's ζ implies);
 * `relative` — ηₜ = η·‖guidance step‖/‖∇I‖ per image (a fixed fraction of the base method's own step).
 */
export type EtaSchedule = { kind: 'constant' | 'residual' | 'relative'; eta: number };

export interface CmiOptions {
  /** Hutchinson probes per step (default 1) */
  r?: number;
  eta: EtaSchedule;
  sigmaInv?: SigmaInvMode;
  /** CG settings for the exact mode's two solves (default 8 iterations each) */
  cg?: CgOptions;
}

export interface CmiGradient {
  /** ∇ₓₜ I estimate, [N, C, H, W] */
  grad: Tensor;
  /** exact mode: images whose Σ⁻¹ solve hit the curvature guard (summed over probes), [N]; else null */
  guarded: Tensor | null;
}

function noiseVar(ctx: SamplerContext): number {
  if (ctx.noise.kind === 'poisson')
    throw new Error('+cmi needs Gaussian (or no) measurement noise; Poisson is not supported');
  return ctx.noise.kind === 'gaussian' ? ctx.noise.level ** 2 : 0;
}

/** The first C channels (ε) of a model output or derivative. */
function epsPart(e: Engine, t: Tensor, C: number): Tensor {
  return t.shape[1] === C ? t : sliceChannels(e, t, 0, C);
}

/**
 * ∇ₓₜ I(x₀; y | xₜ) at respaced step k for loop step i. `probes` replaces the Rademacher draws (tests).
 * A must be linear.
 */
export async function cmiGradient(
  ctx: SamplerContext,
  k: number,
  i: number,
  x: Tensor,
  o: CmiOptions,
  probes?: Tensor[],
): Promise<CmiGradient> {
  const { op } = requireMeasurement(ctx, '+cmi');
  if (!op.linear) throw new Error(`+cmi needs a linear operator (M = AᵀΣₙ⁻¹A); '${op.name}' is not`);
  const e = ctx.e;
  const [N, C] = ctx.shape;
  const r = probes?.length ?? o.r ?? 1;
  if (!Number.isInteger(r) || r < 1 || r > 4096)
    throw new Error(`+cmi: r = ${r} probes, expected an integer in [1, 4096]`);
  const mode = o.sigmaInv ?? 'isotropic';
  const sy2 = noiseVar(ctx);
  const ab = ctx.sched.alphasCumprod[k];
  const s2 = (1 - ab) / ab;
  const sq = Math.sqrt(1 - ab);
  const t = timesOf(ctx, k);
  const m = ctx.model;
  const cg = { iters: 8, ...o.cg };

  // K w = w − sqrt(1−ᾱ)·∂ε/∂x·w
  const applyK = (w: Tensor) => {
    const j = m.jvp(x, t, w);
    const je = epsPart(e, j.tangent, C);
    const out = lincomb(e, 1, w, -sq, je.reshape(w.shape));
    e.release(j.out, j.tangent, je === j.tangent ? null : je);
    return out;
  };

  const grad = filled(e, ctx.shape, 0, 'cmi_grad');
  const guarded = mode === 'exact' ? filled(e, [N], 0, 'cmi_guarded') : null;
  for (let j = 0; j < r; j++) {
    const v = probes?.[j] ?? ctx.streams.probe(i, j);
    let a: Tensor, b: Tensor;
    if (mode === 'isotropic') {
      a = scale(e, v, 1 / s2);
      const av = op.forward(v);
      // Aᵀ(σ_y² + σ²AAᵀ)⁻¹Aσ²v = Aᵀ(σ_y²/σ² + AAᵀ)⁻¹Av
      b = await adjointSolve(e, op, av, 1, sy2 / s2, x, cg);
      e.release(av);
    } else {
      // a = Σ⁻¹v = K⁻¹v/σ² by CG from the isotropic guess
      const sol = await batchedCg(e, applyK, v, v, cg);
      a = scale(e, sol.x, 1 / s2);
      axpby(e, 1, sol.frozen, 1, guarded!);
      e.release(sol.x, sol.frozen);
      // b = Aᵀ(σ_y² I + σ² A K Aᵀ)⁻¹ A σ² K v
      const kv = applyK(v);
      const akv = op.forward(kv);
      const z = scale(e, akv, s2);
      e.release(akv);
      const applyMeas = (q: Tensor) => {
        const atq = adjointOf(op, x, q);
        const katq = applyK(atq.reshape(ctx.shape));
        const akatq = op.forward(katq);
        const out = lincomb(e, s2, akatq.reshape(q.shape), sy2, q);
        e.release(atq, katq, akatq);
        return out;
      };
      const q = await batchedCg(e, applyMeas, z, null, cg);
      b = adjointOf(op, x, q.x).reshape(ctx.shape);
      e.release(kv, z, q.x, q.frozen);
    }
    if (v !== probes?.[j]) e.release(v);
    const h = m.d2(x, t, a.reshape(ctx.shape), b.reshape(ctx.shape));
    const d2e = epsPart(e, h.d2, C);
    // D²s = −D²ε/sqrt(1−ᾱ); the 1/r average and the (1−ᾱ)²/(2ᾱ) factor
    axpby(e, -((1 - ab) ** 2 / (2 * ab)) / (r * sq), d2e.reshape(ctx.shape), 1, grad);
    e.release(a, b, h.out, h.dw, h.dv, h.d2, d2e === h.d2 ? null : d2e);
  }
  return { grad, guarded };
}

/**
 * Adds ηₜ·∇I to x' in place. `residualSs` ([N] sum of squares of y − A x̂₀) for `residual`, `stepSs`
 * ([N] squared norm of the base method's guidance step) for `relative`.
 */
export function applyCmi(
  ctx: SamplerContext,
  xPrime: Tensor,
  gI: Tensor,
  eta: EtaSchedule,
  residualSs?: Tensor,
  stepSs?: Tensor,
): void {
  const e = ctx.e;
  const N = ctx.shape[0];
  if (eta.kind === 'constant') {
    axpby(e, eta.eta, gI, 1, xPrime);
    return;
  }
  let c: Tensor;
  if (eta.kind === 'residual') {
    if (!residualSs) throw new Error('+cmi residual η schedule: no residual norm at this step');
    const ones = filled(e, [N], 1, 'ones');
    c = rowCoef(e, CoefMode.OverNorm, ones, residualSs, eta.eta, 1e-30);
    e.release(ones);
  } else {
    if (!stepSs) throw new Error('+cmi relative η schedule: the base method has no guidance step at this step');
    const gss = rowSumSq(e, gI, N);
    // ‖∇I‖ floored at 1e-12: below that (the last steps, where (1−ᾱ)²/ᾱ → 0) float32 squares underflow and
    // the normalised direction would be rounding noise blown up to a full step
    c = rowCoef(e, CoefMode.NormRatio, stepSs, gss, eta.eta, 1e-12);
    e.release(gss);
  }
  rowAxpy(e, xPrime, gI, c, 1);
  e.release(c);
}
