// The common driver: `sample({ model, operator, noise, y, method, steps, seed, ... })` runs one of
// ddpm, ddim, dps, pigdm, mcg, dsg, ddrm (and dps/pigdm/mcg/dsg + cmi) on a batch, with seeded or replayed
// noise, and reports every step (‖y − A x̂₀‖ per image, optional x̂₀ snapshots) to a callback.
import type { Engine } from '../engine/executor.js';
import { axpby, scale } from '../engine/ops/vector.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator, NoiseModel } from '../operators/operator.js';
import { applyCmi, cmiGradient, type CmiOptions } from './cmi.js';
import { evaluate, residual, timesOf, type SamplerContext } from './context.js';
import { ddrmInit, ddrmStep, requireSvd, type DdrmOptions } from './ddrm.js';
import { ddimStep, pSample } from './diffusion.js';
import { normGuidance, poissonWeights } from './dps.js';
import { dsgCombine, dsgGuides, type DsgOptions } from './dsg.js';
import type { CgOptions } from './linalg.js';
import { mcgProject } from './mcg.js';
import { baseSampler, defaultClip, defaultEta, defaultScale, parseMethod, type MethodName } from './methods.js';
import { NoiseStreams } from './noise.js';
import { pigdmGuidance, pigdmWeight, type PigdmWeighting } from './pigdm.js';
import { CoefMode, filled, rowCoef, rowSumSq } from './rows.js';
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
  /** ‖y − A x̂₀‖ per image (Poisson DPS: the weighted norm), null without a measurement */
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
  method: MethodName | string;
  /** respacing: section count(s) "N" / "a,b" / "ddimN" or a number (default 1000); or a prebuilt schedule */
  steps?: number | string;
  schedule?: Schedule;
  /** seed of image 0 (image n uses seed + n), or one seed per image (default 0) */
  seed?: number | number[];
  /** batch size (default: y's batch, or 1) */
  batch?: number;
  /** ζ: DPS/MCG step size (default per task), ΠGDM weight multiplier (default 1) */
  scale?: number;
  /** task name for default ζ ('inpainting', 'super-resolution', …) */
  task?: string;
  /** DDIM η (ddim 0, pigdm and dsg 1) */
  eta?: number;
  /** clip_denoised (default: true except pigdm and ddrm) */
  clip?: boolean;
  /** default: learned_range for 2C-output models, fixed_large otherwise */
  varType?: VarianceType;
  dsg?: Partial<DsgOptions>;
  ddrm?: Partial<DdrmOptions>;
  /** the CMI plug-in (required for '+cmi' methods) */
  cmi?: CmiOptions;
  /** ΠGDM's weight on its guidance (pigdm.ts): 'reference' (NVlabs' code, default) or 'score' */
  pigdmWeighting?: PigdmWeighting;
  /** ΠGDM's measurement-space CG when the operator has no SVD */
  cg?: CgOptions;
  /**
   * Run only loop steps [startAt, stopAt) (default: all). With startAt > 0, `xT` is the state entering step
   * startAt (e.g. a recorded trajectory[startAt − 1]); step_noise stays indexed by the global loop step.
   * DDRM always starts from its own x_T initialisation.
   */
  startAt?: number;
  stopAt?: number;
  /** replay: x_T [N, C, H, W] and step_noise [steps, N, C, H, W] */
  xT?: Tensor;
  stepNoise?: Tensor;
  onStep?: (s: StepInfo) => void | Promise<void>;
  /** read x̂₀ back every k steps for onStep (0 = never) */
  snapshotEvery?: number;
  /** read distances every k steps (default 1; the last step always) */
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
}

function checkShape(what: string, t: Tensor, want: readonly number[]) {
  if (t.size !== want.reduce((a, b) => a * b, 1))
    throw new Error(`${what}: shape [${t.shape}] does not match [${want}]`);
}

export async function sample(o: SampleOptions): Promise<SampleResult> {
  const { base, cmi } = parseMethod(o.method);
  const model = o.model;
  const e: Engine = model.engine;
  const sampler = baseSampler(base);
  const needsMeas = base !== 'ddpm' && base !== 'ddim';
  if (needsMeas && (!o.operator || !o.y)) throw new Error(`method '${o.method}' needs an operator and a measurement y`);
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
  const sched = o.schedule ?? createSchedule({ respacing: o.steps ?? 1000 });
  const S = sched.length;
  const seed0 = o.seed ?? 0;
  const seeds = Array.isArray(seed0) ? seed0 : Array.from({ length: N }, (_, n) => seed0 + n);
  if (o.xT) checkShape('x_T', o.xT, shape);
  const streams = new NoiseStreams(e, shape, seeds, { xT: o.xT, stepNoise: o.stepNoise });
  if (o.stepNoise && streams.recordedSteps < Math.min(S - 1, o.stopAt ?? S))
    throw new Error(`step_noise holds ${streams.recordedSteps} draws, ${S - 1} steps need noise`);
  const varType = o.varType ?? (model.learnSigma ? 'learned_range' : 'fixed_large');
  const noise: NoiseModel = o.noise ?? { kind: 'none', level: 0 };
  const ctx: SamplerContext = {
    e,
    model,
    op: o.operator,
    noise,
    y: o.y,
    sched,
    shape,
    clip: o.clip ?? defaultClip(base),
    varType,
    streams,
  };
  if (noise.kind === 'poisson' && o.y)
    ctx.poissonWeight = e.upload(poissonWeights(await e.read(o.y), N), [N], 'poisson_w');
  const zeta = o.scale ?? defaultScale(o.task, base);
  const eta = o.eta ?? defaultEta(base);
  const dsgO: DsgOptions = { rate: o.dsg?.rate ?? 0.2, interval: o.dsg?.interval ?? 1 };
  const ddrmO: DdrmOptions = { eta: o.ddrm?.eta ?? 0.85, etaB: o.ddrm?.etaB ?? 1 };
  const distEvery = Math.max(1, o.distanceEvery ?? 1);

  let uty: Tensor | null = null;
  let x: Tensor;
  if (sampler === 'ddrm') {
    const { svd, y } = requireSvd(ctx);
    uty = svd.ut(y);
    const z = streams.xT();
    x = ddrmInit(ctx, uty, z);
    e.release(z);
  } else x = streams.xT();

  const distances: Array<Float32Array | null> = [];
  const t0 = performance.now();
  const i0 = o.startAt ?? 0,
    i1 = Math.min(S, o.stopAt ?? S);
  if (!(Number.isInteger(i0) && i0 >= 0 && i0 < i1))
    throw new Error(`startAt ${o.startAt} / stopAt ${o.stopAt}: expected 0 ≤ startAt < stopAt ≤ ${S}`);
  if (i0 > 0 && sampler === 'ddrm') throw new Error('ddrm cannot start in the middle of the trajectory');
  for (let i = i0; i < i1; i++) {
    // Bound the GPU queue: without a wait the loop can record hundreds of steps ahead of a software
    // adapter, whose memory then grows until Dawn crashes (seen after ~550 DPS steps at 32×64×64).
    if (i > i0 && (i - i0) % 8 === 0) await e.sync();
    const ts = performance.now();
    const k = S - 1 - i;
    const t = timesOf(ctx, k);
    const z = k > 0 ? streams.step(i) : null;
    let next: Tensor;
    let x0: Tensor;
    let dist: Tensor | null = null;
    let resSs: Tensor | null = null;

    if (sampler === 'ddrm') {
      const mo = model.forward(x, t);
      const r = ddrmStep(ctx, k, x, mo, z, uty!, ddrmO);
      e.release(mo);
      x0 = r.x0;
      next = r.next;
      ({ dist, ss: resSs } = measureDistance(ctx, x0, base));
    } else {
      const guided = base === 'dps' || base === 'mcg' || base === 'pigdm' || (base === 'dsg' && dsgGuides(k, dsgO));
      const ev = evaluate(ctx, x, t, guided);
      let mean: Tensor | null = null;
      let sigma = 0;
      if (sampler === 'ddpm') {
        const r = pSample(e, sched, k, x, ev.out, z, { clip: ctx.clip, varType });
        x0 = r.x0;
        next = r.sample;
      } else {
        const r = ddimStep(e, sched, k, x, ev.out, z, eta, ctx.clip);
        x0 = r.x0;
        next = r.sample;
        mean = r.mean;
        sigma = r.sigma;
      }
      // the base method's guidance: its gradient and the factor it enters x' with
      let grad: Tensor | null = null;
      let stepScale = 0;
      if (guided) {
        const g = base === 'pigdm' ? await pigdmGuidance(ctx, k, ev, x0, o.cg) : normGuidance(ctx, k, ev, x0, base);
        grad = g.grad;
        dist = g.dist;
        resSs = g.ss;
        stepScale = base === 'pigdm' ? zeta * pigdmWeight(ctx, k, eta, o.pigdmWeighting ?? 'reference') : base === 'dsg' ? 0 : -zeta;
      }
      ev.release();
      if (!dist && o.operator && o.y) ({ dist, ss: resSs } = measureDistance(ctx, x0, base));
      if (cmi && o.cmi) {
        const gI = await cmiGradient(ctx, k, i, x, o.cmi);
        let stepSs: Tensor | undefined;
        if (o.cmi.eta.kind === 'relative') {
          // DSG moves x' by about γ·r on its sphere; the others by stepScale·‖∇‖
          if (base === 'dsg') stepSs = filled(e, [N], (Math.sqrt(C * H * W) * sigma * dsgO.rate) ** 2, 'step_ss');
          else if (grad) {
            const gss = rowSumSq(e, grad, N);
            stepSs = scale(e, gss, stepScale * stepScale);
            e.release(gss);
          }
        }
        applyCmi(ctx, next, gI.grad, o.cmi.eta, resSs ?? undefined, stepSs);
        e.release(gI.grad, gI.guarded, stepSs);
      }
      if (grad) {
        if (base === 'dsg') {
          const nx = dsgCombine(ctx, mean!, next, grad, sigma, dsgO);
          e.release(next);
          next = nx;
        } else axpby(e, stepScale, grad, 1, next);
        e.release(grad);
      }
      if (base === 'mcg') next = mcgProject(ctx, k, i, next);
      e.release(mean);
    }
    e.release(z);
    if (x !== o.xT) e.release(x);
    x = next;

    const readDist = dist && (i % distEvery === 0 || i === i1 - 1);
    const d = readDist ? await e.read(dist!) : null;
    distances.push(d);
    let snap: Float32Array | undefined, xs: Float32Array | undefined;
    if (o.snapshotEvery && (i % o.snapshotEvery === 0 || i === i1 - 1))
      [snap, xs] = [await e.read(x0), await e.read(x)];
    e.release(dist, resSs, x0);
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
  e.release(uty, ctx.poissonWeight);
  return {
    x0: x,
    distances,
    timestepMap: sched.timestepMap,
    secondsPerStep: (performance.now() - t0) / 1000 / (i1 - i0),
  };
}

/** ‖y − A x̂₀‖ per image and its square, for methods without their own guidance residual. */
function measureDistance(ctx: SamplerContext, x0: Tensor, method: string): { dist: Tensor; ss: Tensor } {
  const { r, ss } = residual(ctx, x0, method);
  ctx.e.release(r);
  return { dist: rowCoef(ctx.e, CoefMode.Norm, ss, ss, 1), ss };
}
