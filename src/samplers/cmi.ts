// The CMI plug-in (Hamidi & Yang 2025, Algorithm 1): x'_{t−1} ← x'_{t−1} + ηₜ ∇ₓₜ I(x₀; y | xₜ), with the
// gradient estimated by Hutchinson probes (derivation and checks: docs/cmi.md):
//   ∇ₓₜ I ≈ ((1−ᾱ)²/(2ᾱ r)) Σᵢ D²s(xₜ)[Σ⁻¹vᵢ, MΣ_y vᵢ],   s = −ε/sqrt(1−ᾱ),
//   Σ = ((1−ᾱ)/ᾱ)K, K = I + (1−ᾱ)∇s = I − sqrt(1−ᾱ)∂ε/∂x,  MΣ_y v = Aᵀ(Σₙ + AΣAᵀ)⁻¹AΣv.
// Σ⁻¹ is applied `exact`ly (CG on K with JVPs, guarded against an indefinite network Jacobian) or
// `isotropic`ally (K ≈ I, so MΣ_y v = Aᵀ(σ_y²/σ² + AAᵀ)⁻¹Av through the operator alone). Generic over
// ScoreModel: only forward-mode (jvp) and hyper-dual (d2) passes of the network are used.
import type { Engine } from '../engine/executor.js';
import { sliceChannels } from '../engine/ops/layout.js';
import { axpby, copy, lincomb, scale } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import { requireMeasurement, timesOf, type SamplerContext } from './context.js';
import { adjointOf, adjointSolve, batchedCg, type CgOptions } from './linalg.js';
import { CoefMode, copyRange, filled, rowAxpy, rowCoef, rowScale, rowSumSq } from './rows.js';

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
  /**
   * images per network pass: the r probes are stacked on the batch axis, ⌊stack/N⌋ of them (at least
   * one) per pass. Default: 32768 values' worth of images (32 at 1×32×32, which keeps the UNet's hyper-dual
   * pass — 4 × stack images — within lavapipe's 128 MiB binding limit; one image at a time at 3×256×256)
   */
  stack?: number;
  /**
   * A control for studies: 'random-direction' replaces the estimate by a Rademacher direction (an unused
   * probe of this step) scaled per image to the estimate's norm — the same step size with no information
   * about I, so a gain that survives it is not the CMI term's.
   */
  control?: 'random-direction';
}

const DEFAULT_STACK_VALUES = 32768;

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

/** Concatenates [N, …] tensors along the batch axis (copies; the parts are not consumed). */
function stackRows(e: Engine, parts: readonly Tensor[]): Tensor {
  if (parts.length === 1) return copy(e, parts[0]);
  const [n, ...rest] = parts[0].shape;
  const out = e.tensor([n * parts.length, ...rest], 'cmi_stack');
  parts.forEach((p, g) => copyRange(e, p, 0, out, g * p.size, p.size));
  return out;
}

/** Block g of q equal batch blocks of t, as a new tensor. */
function rowBlock(e: Engine, t: Tensor, g: number, q: number): Tensor {
  const per = t.size / q;
  const out = e.tensor([t.shape[0] / q, ...t.shape.slice(1)], 'cmi_block');
  copyRange(e, t, g * per, out, 0, per);
  return out;
}

/** f applied to each of the q batch blocks of t (operators are built for one batch size), restacked. */
function perBlock(e: Engine, t: Tensor, q: number, f: (block: Tensor) => Tensor): Tensor {
  if (q === 1) return f(t);
  const outs = Array.from({ length: q }, (_, g) => {
    const blk = rowBlock(e, t, g, q);
    const o = f(blk);
    e.release(blk);
    return o;
  });
  const out = stackRows(e, outs);
  e.release(...outs);
  return out;
}

/**
 * ∇ₓₜ I(x₀; y | xₜ) at respaced step k for loop step i. `probes` replaces the Rademacher draws (tests).
 * A must be linear. The r probes are stacked on the batch axis: each network pass (the hyper-dual pass,
 * and in `exact` mode every CG iteration's JVP) serves up to `stack` images, i.e. ⌊stack/N⌋ probes at once.
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
  const stack = o.stack ?? Math.floor(DEFAULT_STACK_VALUES / (x.size / N));
  if (!Number.isInteger(stack) || stack < 0) throw new Error(`+cmi: stack = ${stack}, expected a non-negative integer`);
  const mode = o.sigmaInv ?? 'isotropic';
  const sy2 = noiseVar(ctx);
  const ab = ctx.sched.alphasCumprod[k];
  const s2 = (1 - ab) / ab;
  const sq = Math.sqrt(1 - ab);
  const t1 = timesOf(ctx, k);
  const m = ctx.model;
  const cg = { iters: 8, ...o.cg };
  const perPass = Math.max(1, Math.min(r, Math.floor(stack / N)));

  const grad = filled(e, ctx.shape, 0, 'cmi_grad');
  const guarded = mode === 'exact' ? filled(e, [N], 0, 'cmi_guarded') : null;
  for (let j0 = 0; j0 < r; j0 += perPass) {
    const q = Math.min(perPass, r - j0);
    const t = Array.from({ length: q }, () => t1).flat();
    const xs = stackRows(e, new Array(q).fill(x));
    const vs = Array.from({ length: q }, (_, g) => probes?.[j0 + g] ?? ctx.streams.probe(i, j0 + g));
    const v = stackRows(e, vs);
    vs.forEach((p, g) => (p !== probes?.[j0 + g] ? e.release(p) : null));
    // K w = w − sqrt(1−ᾱ)·∂ε/∂x·w, for the q stacked probes at once
    const applyK = (w: Tensor) => {
      const j = m.jvp(xs, t, w);
      const je = epsPart(e, j.tangent, C);
      const out = lincomb(e, 1, w, -sq, je.reshape(w.shape));
      e.release(j.out, j.tangent, je === j.tangent ? null : je);
      return out;
    };
    let a: Tensor, b: Tensor;
    if (mode === 'isotropic') {
      a = scale(e, v, 1 / s2);
      // Aᵀ(σ_y² + σ²AAᵀ)⁻¹Aσ²v = Aᵀ(σ_y²/σ² + AAᵀ)⁻¹Av, per probe (the operator is built for N images)
      b = await perBlockAsync(e, v, q, async (vb) => {
        const av = op.forward(vb);
        const out = await adjointSolve(e, op, av, 1, sy2 / s2, x, cg);
        e.release(av);
        return out;
      });
    } else {
      // a = Σ⁻¹v = K⁻¹v/σ² by CG from the isotropic guess
      const sol = await batchedCg(e, applyK, v, v, cg);
      a = scale(e, sol.x, 1 / s2);
      for (let g = 0; g < q; g++) {
        const fb = rowBlock(e, sol.frozen, g, q);
        axpby(e, 1, fb, 1, guarded!);
        e.release(fb);
      }
      e.release(sol.x, sol.frozen);
      // b = Aᵀ(σ_y² I + σ² A K Aᵀ)⁻¹ A σ² K v
      const kv = applyK(v);
      const akv = perBlock(e, kv, q, (blk) => op.forward(blk));
      const z = scale(e, akv, s2);
      e.release(akv);
      const applyMeas = (qv: Tensor) => {
        const atq = perBlock(e, qv, q, (blk) => adjointOf(op, x, blk).reshape(ctx.shape));
        const katq = applyK(atq.reshape(xs.shape));
        const akatq = perBlock(e, katq, q, (blk) => op.forward(blk));
        const out = lincomb(e, s2, akatq.reshape(qv.shape), sy2, qv);
        e.release(atq, katq, akatq);
        return out;
      };
      const sq2 = await batchedCg(e, applyMeas, z, null, cg);
      b = perBlock(e, sq2.x, q, (blk) => adjointOf(op, x, blk).reshape(ctx.shape));
      e.release(kv, z, sq2.x, sq2.frozen);
    }
    e.release(v);
    const h = m.d2(xs, t, a.reshape(xs.shape), b.reshape(xs.shape));
    const d2e = epsPart(e, h.d2, C);
    // D²s = −D²ε/sqrt(1−ᾱ); the 1/r average and the (1−ᾱ)²/(2ᾱ) factor
    const coef = -((1 - ab) ** 2 / (2 * ab)) / (r * sq);
    for (let g = 0; g < q; g++) {
      const blk = q === 1 ? d2e : rowBlock(e, d2e, g, q);
      axpby(e, coef, blk.reshape(ctx.shape), 1, grad);
      if (blk !== d2e) e.release(blk);
    }
    e.release(xs, a, b, h.out, h.dw, h.dv, h.d2, d2e === h.d2 ? null : d2e);
  }
  if (o.control === 'random-direction') {
    // probe index r of step i: independent of the r probes above (NoiseStreams keeps 4096 per step)
    const z = ctx.streams.probe(i, Math.min(r, 4095));
    const gss = rowSumSq(e, grad, N),
      zss = rowSumSq(e, z, N);
    const c = rowCoef(e, CoefMode.NormRatio, gss, zss, 1, 1e-30);
    const out = rowScale(e, z, c);
    e.release(z, gss, zss, c, grad);
    return { grad: out, guarded };
  }
  return { grad, guarded };
}

async function perBlockAsync(e: Engine, t: Tensor, q: number, f: (block: Tensor) => Promise<Tensor>): Promise<Tensor> {
  if (q === 1) return f(t);
  const outs: Tensor[] = [];
  for (let g = 0; g < q; g++) {
    const blk = rowBlock(e, t, g, q);
    outs.push(await f(blk));
    e.release(blk);
  }
  const out = stackRows(e, outs);
  e.release(...outs);
  return out;
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
