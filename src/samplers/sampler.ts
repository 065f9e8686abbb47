// The driver: `sample({ model, operator, noise, y, method, steps, seed, ... })` runs any registered method
// (./methods/index.ts) on a batch, with seeded or replayed noise, and reports every step (‖y − A x̂₀‖ per
// image, optional x̂₀ snapshots) to a callback. It knows methods only through their records — base update,
// protocol defaults, guidance, how the guidance enters x_{t−1}, a projection after the step — and step hooks
// (the CMI term); it has no branch on a method's name. The checkpoint's diffusion settings (noise schedule,
// T, variance type, clip_denoised; ./diffusion-config.ts) come from `diffusion` or the model, and options
// override them.
import type { Engine } from '../engine/executor.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator, NoiseModel } from '../operators/operator.js';
import { cmiHook } from './cmi-hook.js';
import type { CmiOptions } from './cmi.js';
import { evaluate, poissonWeights, residual, timesOf, type SamplerContext } from './context.js';
import { defaultDiffusion, type DiffusionSettings } from './diffusion-config.js';
import type { CgOptions } from './linalg.js';
import { parseMethod, type MethodName } from './methods.js';
import { taskKind, type Guidance, type Settings, type StepHook, type StepState } from './methods/method.js';
import { NoiseStreams } from './noise.js';
import { CoefMode, rowCoef, rowSumSq } from './rows.js';
import { createSchedule, type Schedule, type VarianceType } from './schedule.js';
import type { ScoreModel } from './score-model.js';

export interface StepInfo {
  /** loop index 0..steps−1 (0 = the noisiest step) */
  i: number;
  /** respaced index (steps−1 … 0) */
  k: number;
  /** original timestep the network saw */
  t: number;
  steps: number;
  /** ‖y − A x̂₀‖ per image (Poisson noise: the weighted norm), null without a measurement */
  distance: Float32Array | null;
  /** x̂₀ at this step and x after it ([N, C, H, W] flat), every `snapshotEvery` steps */
  x0?: Float32Array;
  x?: Float32Array;
  /** wall time of this step including the readback (ms) */
  ms: number;
}

export interface SampleOptions {
  model: ScoreModel;
  operator?: MeasurementOperator;
  noise?: NoiseModel;
  /** measurement, operator.outputShape (batch first) */
  y?: Tensor;
  /** a registered method, optionally with '+cmi' */
  method: MethodName | string;
  /**
   * respacing: section count(s) "N" / "a,b" / "ddimN" or a number; default the checkpoint's own
   * timestep_respacing when its config names one, else the method's protocol; or a prebuilt schedule
   */
  steps?: number | string;
  schedule?: Schedule;
  /** the checkpoint's diffusion settings (default: model.diffusion, else guided-diffusion's defaults) */
  diffusion?: DiffusionSettings;
  /** seed of image 0 (image n uses seed + n), or one seed per image (default 0) */
  seed?: number | number[];
  /** batch size (default: y's batch, or 1) */
  batch?: number;
  /** ζ: the guidance step size or weight (default: the method's protocol for the task) */
  zeta?: number;
  /** task name for the per-task defaults ('inpainting', 'super-resolution', …) */
  task?: string;
  /** η: the base update's stochasticity (default: the method's protocol) */
  eta?: number;
  /** η_b of the SVD-space update (default: the method's protocol) */
  etaB?: number;
  /** spherical guidance: rate γ and interval (default: the method's protocol for the task and steps) */
  rate?: number;
  interval?: number;
  /** clip_denoised (default: the method's protocol, else the checkpoint's setting) */
  clip?: boolean;
  /** default: the checkpoint's variance type */
  varType?: VarianceType;
  /** the CMI plug-in (required for '+cmi' methods) */
  cmi?: CmiOptions;
  /** further step hooks, run after CMI's */
  hooks?: StepHook[];
  /** the pseudo-inverse guidance's weighting: 'reference' (NVlabs' code, default) or 'score' */
  pigdmWeighting?: Settings['pigdmWeighting'];
  /** measurement-space CG settings, for operators without an SVD */
  cg?: CgOptions;
  /**
   * Run only loop steps [startAt, stopAt) (default: all). With startAt > 0, `xT` is the state entering step
   * startAt (e.g. a recorded trajectory[startAt − 1]); step_noise stays indexed by the global loop step.
   * Methods whose base update initialises x_T itself (the SVD-space one) cannot start in the middle.
   */
  startAt?: number;
  stopAt?: number;
  /** replay: x_T [N, C, H, W] and step_noise [steps, N, C, H, W] */
  xT?: Tensor;
  stepNoise?: Tensor;
  onStep?: (s: StepInfo) => void | Promise<void>;
  /** read x̂₀ back every k steps for onStep (0 = never) */
  snapshotEvery?: number;
  /** read distances (and check the state is finite) every k steps (default 1; the last step always) */
  distanceEvery?: number;
}

export interface SampleResult {
  /** the final sample x₀ (owned by the caller) */
  x0: Tensor;
  /** distance per step and image (null entries where not read) */
  distances: Array<Float32Array | null>;
  timestepMap: readonly number[];
  /** mean wall seconds per step */
  secondsPerStep: number;
  /** the settings the run used (protocol defaults resolved) */
  settings: Settings;
}

/** A NaN or ±Inf in the sampler state: the run stops (never a NaN image). */
export class NonFiniteStateError extends Error {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message);
    this.name = 'NonFiniteStateError';
  }
}

function checkShape(what: string, t: Tensor, want: readonly number[]) {
  if (t.size !== want.reduce((a, b) => a * b, 1))
    throw new Error(`${what}: shape [${t.shape}] does not match [${want}]`);
}

/** The schedule a run uses: the checkpoint's β schedule and T, respaced to `steps`. */
export function scheduleFor(d: DiffusionSettings, steps: number | string): Schedule {
  return createSchedule({ steps: d.steps, noiseSchedule: d.noiseSchedule, respacing: steps });
}

/**
 * The step count (respacing) a run uses when none is given: the checkpoint's own, else the method's protocol
 * (at most the checkpoint's T: a protocol of 1000 steps on a 100-step model runs all 100).
 */
export function defaultSteps(method: string, d?: DiffusionSettings): number | string {
  return d?.respacing ?? Math.min(parseMethod(method).method.protocolSteps, d?.steps ?? 1000);
}

export async function sample(o: SampleOptions): Promise<SampleResult> {
  const { method, cmi } = parseMethod(o.method);
  const model = o.model;
  const e: Engine = model.engine;
  if (method.needsMeasurement && (!o.operator || !o.y))
    throw new Error(`method '${o.method}' needs an operator and a measurement y`);
  if (cmi && !o.cmi) throw new Error(`method '${o.method}' needs cmi options ({ r, eta, sigmaInv })`);
  const N = o.batch ?? o.y?.shape[0] ?? 1;
  const [C, H, W] = model.imageShape;
  const shape = [N, C, H, W] as const;
  if (o.operator) {
    const inS = o.operator.inputShape;
    if (inS.length && inS.reduce((a, b) => a * b, 1) !== N * C * H * W)
      throw new Error(`operator '${o.operator.name}' takes [${inS}], the batch is [${shape}]`);
  }
  if (o.y && o.y.shape[0] !== N) throw new Error(`y [${o.y.shape}] has batch ${o.y.shape[0]}, expected ${N}`);
  const diff = o.diffusion ?? model.diffusion ?? defaultDiffusion(model.learnSigma);
  const sched = o.schedule ?? scheduleFor(diff, o.steps ?? defaultSteps(o.method, diff));
  const S = sched.length;
  const seed0 = o.seed ?? 0;
  const seeds = Array.isArray(seed0) ? seed0 : Array.from({ length: N }, (_, n) => seed0 + n);
  if (o.xT) checkShape('x_T', o.xT, shape);
  const streams = new NoiseStreams(e, shape, seeds, { xT: o.xT, stepNoise: o.stepNoise });
  if (o.stepNoise && streams.recordedSteps < Math.min(S - 1, o.stopAt ?? S))
    throw new Error(`step_noise holds ${streams.recordedSteps} draws, ${S - 1} steps need noise`);

  const p = method.defaults(taskKind(o.task), S);
  const s: Settings = {
    zeta: o.zeta ?? p.zeta ?? 0,
    eta: o.eta ?? p.eta ?? 0,
    etaB: o.etaB ?? p.etaB ?? 1,
    rate: o.rate ?? p.rate ?? 0,
    interval: o.interval ?? p.interval ?? 1,
    clip: o.clip ?? p.clip ?? diff.clipDenoised,
    pigdmWeighting: o.pigdmWeighting ?? 'reference',
    cg: o.cg ?? {},
  };
  const noise: NoiseModel = o.noise ?? { kind: 'none', level: 0 };
  const ctx: SamplerContext = {
    e,
    model,
    op: o.operator,
    noise,
    y: o.y,
    sched,
    shape,
    clip: s.clip,
    varType: o.varType ?? diff.varType,
    streams,
  };
  const hooks: StepHook[] = [...(cmi && o.cmi ? [cmiHook(o.cmi)] : []), ...(o.hooks ?? [])];
  const distEvery = Math.max(1, o.distanceEvery ?? 1);

  const i0 = o.startAt ?? 0,
    i1 = Math.min(S, o.stopAt ?? S);
  if (!(Number.isInteger(i0) && i0 >= 0 && i0 < i1))
    throw new Error(`startAt ${o.startAt} / stopAt ${o.stopAt}: expected 0 ≤ startAt < stopAt ≤ ${S}`);
  const run = method.update.begin(ctx, s);
  if (i0 > 0 && !run.resumable) {
    run.release();
    throw new Error(`${method.name} cannot start in the middle of the trajectory`);
  }
  if (noise.kind === 'poisson' && o.y)
    ctx.poissonWeight = e.upload(poissonWeights(await e.read(o.y), N), [N], 'poisson_w');
  const zT = streams.xT();
  let x = run.init(zT);
  if (x !== zT) e.release(zT);

  const distances: Array<Float32Array | null> = [];
  const t0 = performance.now();
  let lastFinite = i0 - 1;
  try {
    for (let i = i0; i < i1; i++) {
      // Bound the GPU queue: without a wait the loop can record hundreds of steps ahead of a software
      // adapter, whose memory then grows until Dawn crashes (seen after ~550 guided steps at 32×64×64).
      if (i > i0 && (i - i0) % 8 === 0) await e.sync();
      const ts = performance.now();
      const k = S - 1 - i;
      const t = timesOf(ctx, k);
      const z = k > 0 ? streams.step(i) : null;
      const guided = !!method.guidance && (method.guides?.(k, s) ?? true);
      const ev = await evaluate(ctx, x, t, guided);
      const u = run.step(k, x, ev.out, z);
      const st: StepState = { i, k, x, next: u.next, mean: u.mean, sigma: u.sigma };
      let g: Guidance | null = null;
      if (guided) g = await method.guidance!(ctx, k, ev, u.x0, s);
      ev.release();
      let dist = g?.dist ?? null,
        resSs = g?.ss ?? null;
      if (!dist && o.operator && o.y) ({ dist, ss: resSs } = measureDistance(ctx, u.x0, method.name));
      for (const h of hooks)
        await h.run(ctx, st, {
          guidance: g,
          residualSs: resSs,
          moveSumSq: () => method.moveSumSq?.(ctx, st, g?.grad ?? null, s),
        });
      if (g && method.apply) st.next = method.apply(ctx, st, g.grad, s);
      if (g) e.release(g.grad);
      if (method.after) st.next = method.after(ctx, st, st.next);
      e.release(u.mean, z);
      if (x !== o.xT) e.release(x);
      x = st.next;

      const check = i % distEvery === 0 || i === i1 - 1;
      const d = dist && check ? await e.read(dist) : null;
      distances.push(d);
      if (check) {
        const ss = rowSumSq(e, x, N);
        const v = await e.read(ss);
        e.release(ss);
        const bad = v.findIndex((q) => !Number.isFinite(q));
        if (bad >= 0)
          throw new NonFiniteStateError(
            `${o.method}: the sampler state of image ${bad} is not finite (NaN or ±Inf) after step ${i + 1} of ${S} ` +
              `(t = ${sched.timestepMap[k]}; last checked finite after step ${lastFinite + 1}) — the run diverged; ` +
              `try a smaller step size (--zeta) or another method`,
            i,
          );
        lastFinite = i;
      }
      let snap: Float32Array | undefined, xs: Float32Array | undefined;
      if (o.snapshotEvery && (i % o.snapshotEvery === 0 || i === i1 - 1))
        [snap, xs] = [await e.read(u.x0), await e.read(x)];
      e.release(dist, resSs, u.x0);
      if (o.onStep)
        await o.onStep({
          i,
          k,
          t: sched.timestepMap[k],
          steps: S,
          distance: d,
          x0: snap,
          x: xs,
          ms: performance.now() - ts,
        });
    }
    await e.sync();
  } catch (err) {
    e.release(x === o.xT ? null : x);
    throw err;
  } finally {
    run.release();
    e.release(ctx.poissonWeight);
  }
  return {
    x0: x,
    distances,
    timestepMap: sched.timestepMap,
    secondsPerStep: (performance.now() - t0) / 1000 / (i1 - i0),
    settings: s,
  };
}

/** ‖y − A x̂₀‖ per image and its square, for steps without the method's own guidance residual. */
function measureDistance(ctx: SamplerContext, x0: Tensor, name: string): { dist: Tensor; ss: Tensor } {
  const { r, ss } = residual(ctx, x0, name);
  ctx.e.release(r);
  return { dist: rowCoef(ctx.e, CoefMode.Norm, ss, ss, 1), ss };
}
