// What every sampler step shares: the model, the measurement, the schedule, the noise streams, and the
// two building blocks of gradient guidance — the measurement residual at x̂₀ and the pullback of a
// cotangent on x̂₀ to xₜ through the network (reverse mode, via ScoreModel.vjp).
import type { Engine } from '../engine/executor.js';
import { axpby, lincomb } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator, NoiseModel } from '../operators/operator.js';
import { x0Pullback } from './diffusion.js';
import type { NoiseStreams } from './noise.js';
import { rowSumSq } from './rows.js';
import type { Schedule, VarianceType } from './schedule.js';
import type { ScoreModel } from './score-model.js';

export interface SamplerContext {
  e: Engine;
  model: ScoreModel;
  /** absent for unconditional ddpm / ddim */
  op?: MeasurementOperator;
  noise: NoiseModel;
  /** the measurement, op.outputShape */
  y?: Tensor;
  sched: Schedule;
  /** [N, C, H, W] */
  shape: readonly [number, number, number, number];
  clip: boolean;
  varType: VarianceType;
  streams: NoiseStreams;
  /** Poisson DPS: per-image mean(1/|y|) ([N]); see dps.ts */
  poissonWeight?: Tensor;
}

/** Timesteps of the original process for respaced step k, one per image. */
export function timesOf(ctx: SamplerContext, k: number): number[] {
  return new Array(ctx.shape[0]).fill(ctx.sched.timestepMap[k]);
}

/** The network evaluated at xₜ, ready for one reverse-mode pass with a cotangent computed from its output. */
export interface Evaluated {
  x: Tensor;
  t: number[];
  out: Tensor;
  /** uᵀ ∂f/∂x (at most once) */
  backward(u: Tensor): Tensor;
  release(): void;
}

/**
 * f(x) keeping what a later vjp needs (forwardWithVjp when the model has it, else forward now and vjp later);
 * without a gradient, forwardAsync when the model has it.
 */
export async function evaluate(ctx: SamplerContext, x: Tensor, t: number[], wantGrad: boolean): Promise<Evaluated> {
  const m = ctx.model;
  if (!wantGrad && m.forwardAsync) {
    const out = await m.forwardAsync(x, t);
    return {
      x,
      t,
      out,
      backward: () => {
        throw new Error('evaluate: no reverse pass was requested');
      },
      release: () => ctx.e.release(out),
    };
  }
  if (wantGrad && m.forwardWithVjp) {
    const r = m.forwardWithVjp(x, t);
    return {
      x,
      t,
      out: r.out,
      backward: (u) => r.backward(u),
      release: () => {
        r.release();
        ctx.e.release(r.out);
      },
    };
  }
  const out = m.forward(x, t);
  return {
    x,
    t,
    out,
    backward: (u) => {
      const r = m.vjp(x, t, u);
      ctx.e.release(r.out);
      return r.grad;
    },
    release: () => ctx.e.release(out),
  };
}

export function requireMeasurement(ctx: SamplerContext, method: string): { op: MeasurementOperator; y: Tensor } {
  if (!ctx.op || !ctx.y) throw new Error(`${method} needs a measurement operator and a measurement y`);
  return { op: ctx.op, y: ctx.y };
}

/** r = y − A(x̂₀) and its per-image sum of squares [N]. */
export function residual(ctx: SamplerContext, x0: Tensor, method: string): { r: Tensor; ss: Tensor } {
  const { op, y } = requireMeasurement(ctx, method);
  const ax = op.forward(x0);
  if (ax.size !== y.size) throw new Error(`${method}: A(x̂₀) [${ax.shape}] and y [${y.shape}] differ in size`);
  const r = lincomb(ctx.e, 1, y, -1, ax);
  ctx.e.release(ax);
  return { r, ss: rowSumSq(ctx.e, r, ctx.shape[0]) };
}

/** (∂A/∂x)ᵀ u at x̂₀ (the adjoint for linear operators). */
export function opPullback(ctx: SamplerContext, x0: Tensor, u: Tensor): Tensor {
  const { op } = requireMeasurement(ctx, 'guidance');
  return op.linear && op.adjoint ? op.adjoint(u) : op.vjp(x0, u);
}

/**
 * ∇ₓ L for L = L(x̂₀(x)) given gx0 = ∂L/∂x̂₀: the chain rule through the clamp (if clipping) and
 * x̂₀ = sqrt(1/ᾱ)x − sqrt(1/ᾱ−1)ε(x) — a direct term plus the network's vjp. Consumes ev.backward.
 */
export function pullbackX0(ctx: SamplerContext, k: number, ev: Evaluated, gx0: Tensor): Tensor {
  const { uOut, gDirect } = x0Pullback(ctx.e, ctx.sched, k, ev.x, ev.out, gx0, ctx.clip);
  const g = ev.backward(uOut);
  ctx.e.release(uOut);
  axpby(ctx.e, 1, gDirect, 1, g);
  ctx.e.release(gDirect);
  return g;
}

/** mean(1/|y|) per image, for Poisson-noise guidance (dps.ts) (|y| floored at 1e-6: the reference divides by exact zeros). */
export function poissonWeights(y: Float32Array, N: number): Float32Array {
  const per = y.length / N;
  const w = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let j = 0; j < per; j++) s += 1 / Math.max(Math.abs(y[n * per + j]), 1e-6);
    w[n] = s / per;
  }
  return w;
}
