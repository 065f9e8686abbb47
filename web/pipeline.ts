// What the page runs, without the DOM: load a prior, build the measurement of a task, run a sampler with
// per-step x̂₀ previews. The browser test imports this same module on Node to compute the reference result,
// so page and Node share every line from here down to the kernels.
import { SAMPLING_FLAGS } from '../src/cli/sampling-flags.ts';
import type { Engine, Tensor } from '../src/engine/index.ts';
import { serializeSafetensors } from '../src/engine/safetensors.ts';
import { lincomb } from '../src/engine/ops/vector.ts';
import {
  createOperator,
  measure,
  TASKS,
  type NoiseModel,
  type OperatorOptions,
  type Task,
} from '../src/operators/index.ts';
import {
  METHOD_NAMES,
  parseEtaSchedule,
  parseMethod,
  sample,
  type EtaSchedule,
  type SampleOptions,
} from '../src/samplers/index.ts';
import { loadUNetWeights, UNet } from '../src/unet/index.ts';
import type { ModelImage } from './image.ts';

export { TASKS, type Task };

/** How the page names each task. */
export const TASK_LABELS: Record<Task, string> = {
  'inpaint-box': 'box inpainting',
  'inpaint-random': 'random inpainting',
  sr4: 'super-resolution',
  'gaussian-blur': 'Gaussian deblurring',
  'motion-blur': 'motion deblurring',
  phase: 'phase retrieval',
};

export interface MethodInfo {
  id: string;
  label: string;
}
const BASE_LABELS: Record<string, string> = {
  dps: 'DPS',
  pigdm: 'ΠGDM',
  mcg: 'MCG',
  dsg: 'DSG',
  ddrm: 'DDRM',
  ddpm: 'DDPM (unconditional)',
  ddim: 'DDIM (unconditional)',
};
/** Every method the samplers have (METHOD_NAMES), '+cmi' ones as "CMI + …". */
export const METHODS: readonly MethodInfo[] = METHOD_NAMES.map((id) => {
  const { base, cmi } = parseMethod(id);
  const label = BASE_LABELS[base] ?? base;
  return { id, label: cmi ? `CMI + ${label}` : label };
});

/** The operator options the page offers (OperatorOptions of src/operators), by task. */
export const OPERATOR_FIELDS: Record<
  Task,
  ReadonlyArray<{ key: keyof OperatorOptions; label: string; value: number }>
> = {
  'inpaint-box': [{ key: 'boxSize', label: 'hole size (px; 0 = half the image)', value: 0 }],
  'inpaint-random': [{ key: 'maskP', label: 'fraction of pixels dropped', value: 0.92 }],
  sr4: [{ key: 'scale', label: 'downsampling factor', value: 4 }],
  'gaussian-blur': [
    { key: 'kernelSize', label: 'kernel size', value: 61 },
    { key: 'blurStd', label: 'kernel std', value: 3 },
  ],
  'motion-blur': [
    { key: 'kernelSize', label: 'kernel size', value: 61 },
    { key: 'motionIntensity', label: 'intensity', value: 0.5 },
  ],
  phase: [{ key: 'pad', label: 'zero padding per side (px)', value: 64 }],
};

export interface RunSpec {
  task: Task;
  method: string;
  /** a number of steps, or a respacing such as 'ddim20' (as `posterior sample --steps`) */
  steps: number | string;
  seed: number;
  /** measurement noise σ_y in the [−1, 1] scale */
  sigmaY: number;
  /** report x̂₀ every this many steps (and at the last) */
  previewEvery: number;
  /** ζ: DPS/MCG step size, ΠGDM weight multiplier (default: the method's, per task) */
  zeta?: number;
  /** DDIM η of the methods with DDIM updates (default: the method's) */
  eta?: number;
  /** the task's operator parameters beyond the seed (OPERATOR_FIELDS) */
  operator?: Partial<
    Pick<OperatorOptions, 'boxSize' | 'maskP' | 'scale' | 'kernelSize' | 'blurStd' | 'motionIntensity' | 'pad'>
  >;
  /** '+cmi' methods: the η schedule ('relative:0.3', 'constant:1e-3', …) and Hutchinson probes per step */
  cmiEta?: string;
  cmiProbes?: number;
}

export interface StepInfo {
  /** 1-based step count */
  step: number;
  total: number;
  /** ‖y − A x̂₀‖ of image 0 where the sampler reports it */
  distance?: number;
  /** x̂₀ of image 0 ([C, H, W]) on preview steps */
  x0hat?: Float32Array;
}

export interface TraceRow {
  /** 1-based step */
  step: number;
  /** the network's timestep */
  t: number;
  /** ‖y − A x̂₀‖ of the image (null where not read) */
  distance: number | null;
  /** wall time of the step (ms) */
  ms: number;
}

export interface RunResult {
  /** [C, H, W] final sample */
  x0: Float32Array;
  /** the measurement as an image for display ([C, h, w]; phase retrieval: |F P x| centred, log-scaled) */
  yImage: Float32Array;
  yImageShape: [number, number, number];
  /** the measurement file `posterior measure` would write (y and mask/kernel, task and options in the metadata) */
  measurementFile: Uint8Array;
  /** per step: timestep, ‖y − A x̂₀‖, wall time */
  trace: TraceRow[];
  /** the warm-up: kernels compiled asynchronously before the first step, and how long it took */
  warmup: { kernels: number; seconds: number };
  /** wall time of the first sampling step (after the warm-up) */
  firstStepSeconds: number;
  /** whole run, warm-up included */
  seconds: number;
}

export interface Prior {
  model: UNet;
  params: number;
  summary: string;
}

/** A UNet from the bytes of a converted .safetensors (config in its metadata). */
export function loadPrior(engine: Engine, bytes: Uint8Array, label: string): Prior {
  const weights = loadUNetWeights(engine, bytes, label);
  const model = new UNet(engine, weights);
  const c = model.config;
  const params = weights.numParams;
  const summary =
    `${c.imageSize}×${c.imageSize}×${c.inChannels}, ${(params / 1e6).toFixed(2)}M parameters` +
    (c.learnSigma ? ', learned variance' : '');
  return { model, params, summary };
}

export class StoppedError extends Error {
  constructor(step: number, total: number) {
    super(`stopped at step ${step} of ${total}`);
    this.name = 'StoppedError';
  }
}

/** The '+cmi' η schedule when the page's field is empty: the CLI's default (`posterior sample --cmi-eta`). */
export const DEFAULT_CMI_ETA: string = SAMPLING_FLAGS['cmi-eta'].default;

/**
 * Random numbers to use instead of the seeded streams (tests: the same draws on two devices).
 * xT [C·H·W], stepNoise [(steps − 1)·C·H·W], yNoise [size of y] — each N(0, 1).
 */
export interface Replay {
  xT: Float32Array;
  stepNoise: Float32Array;
  yNoise: Float32Array;
}

/**
 * One reconstruction of `truth` ([C, H, W], batch 1), exactly as `posterior sample --input IMG --task T
 * --method M --steps S --seed N --sigma-y σ` does it: the task's operator seeded by N, the measurement
 * y = A(x) + σ·n from Philox stream (N, 0), then `sample()` with x̂₀ snapshots every `previewEvery` steps.
 * Before the first step, a warm-up compiles the run's kernels asynchronously (Engine.warmup) unless
 * `hooks.warmup` is false. Everything runs on the prior's engine; temporary tensors are released.
 */
export async function runPosterior(
  prior: Prior,
  truth: ModelImage,
  spec: RunSpec,
  hooks: {
    onStep?: (s: StepInfo) => void | Promise<void>;
    shouldStop?: () => boolean;
    /** called when the warm-up starts (the page says "compiling kernels") */
    onWarmup?: () => void;
    /** called after the warm-up, right before the first sampling step */
    onSampling?: () => void;
    warmup?: boolean;
  } = {},
  replay?: Replay,
): Promise<RunResult> {
  const e = prior.model.engine;
  const [C, H, W] = prior.model.imageShape;
  if (truth.shape.join() !== [C, H, W].join())
    throw new Error(`image [${truth.shape}] does not match the prior's [${C}, ${H}, ${W}]`);
  if (!TASKS.includes(spec.task)) throw new Error(`unknown task '${spec.task}' (one of ${TASKS.join(', ')})`);
  const { base, cmi } = parseMethod(spec.method);
  const unconditional = base === 'ddpm' || base === 'ddim';
  const shape = [1, C, H, W];
  const t0 = performance.now();
  const opOptions: OperatorOptions = { ...spec.operator, seed: spec.seed };
  const noise: NoiseModel = spec.sigmaY > 0 ? { kind: 'gaussian', level: spec.sigmaY } : { kind: 'none', level: 0 };
  const settings: Omit<SampleOptions, 'model'> = {
    noise,
    method: spec.method,
    steps: spec.steps,
    seed: spec.seed,
    // the sampler's default ζ per task reads the task name (inpaint…, sr…, …blur, phase)
    task: spec.task,
    zeta: spec.zeta,
    eta: spec.eta,
    cmi: cmi
      ? {
          r: spec.cmiProbes ?? 1,
          sigmaInv: 'isotropic',
          eta: parseEtaSchedule(spec.cmiEta ?? DEFAULT_CMI_ETA) as EtaSchedule,
        }
      : undefined,
  };
  let warmup = { kernels: 0, seconds: 0 };
  if (hooks.warmup !== false) {
    hooks.onWarmup?.();
    // Everything up to the end of the first step — the operator's set-up, the measurement, the step — holds
    // nearly every kernel of the run. Nothing executes while they are discovered (reads give zeros), so this
    // throwaway operator and measurement are rebuilt for real below.
    warmup = await e.warmup(async () => {
      const x = e.upload(truth.data, shape, 'truth');
      const op = createOperator(spec.task, opOptions, e, shape);
      const { y } = measure(e, op, x, noise, spec.seed);
      try {
        const r = await sample({
          ...settings,
          model: prior.model,
          operator: unconditional ? undefined : op,
          y: unconditional ? undefined : y,
          stopAt: 1,
        });
        e.release(r.x0);
      } finally {
        e.release(x, y);
        op.destroy();
      }
    });
  }
  const owned: Tensor[] = [];
  const x = e.upload(truth.data, shape, 'truth');
  const op = createOperator(spec.task, opOptions, e, shape);
  let y: Tensor;
  if (replay) {
    const ax = op.forward(x);
    const n = e.upload(replay.yNoise, ax.shape, 'y_noise');
    y = lincomb(e, 1, ax, spec.sigmaY, n);
    e.release(ax, n);
  } else y = measure(e, op, x, noise, spec.seed).y;
  e.release(x);
  owned.push(y);
  const yData = await e.read(y);
  const measurementFile = await measurementBytes(e, spec, opOptions, yData, [...op.outputShape], op.extras, op.info);
  const [, yc, yh, yw] = op.outputShape;
  let xT: Tensor | undefined, stepNoise: Tensor | undefined;
  if (replay) {
    xT = e.upload(replay.xT, shape, 'x_T');
    stepNoise = e.upload(replay.stepNoise, [replay.stepNoise.length / (C * H * W), ...shape], 'step_noise');
    owned.push(xT, stepNoise);
  }
  const options: SampleOptions = {
    ...settings,
    model: prior.model,
    operator: unconditional ? undefined : op,
    y: unconditional ? undefined : y,
    xT,
    stepNoise,
  };
  const trace: TraceRow[] = [];
  let firstStepSeconds = 0;
  let stopped = false;
  hooks.onSampling?.();
  try {
    const res = await sample({
      ...options,
      snapshotEvery: spec.previewEvery,
      onStep: async (s) => {
        trace.push({ step: s.i + 1, t: s.t, distance: s.distance ? s.distance[0] : null, ms: s.ms });
        if (s.i === 0) firstStepSeconds = s.ms / 1000;
        await hooks.onStep?.({ step: s.i + 1, total: s.steps, distance: s.distance?.[0], x0hat: s.x0 });
        if (hooks.shouldStop?.()) {
          stopped = true;
          throw new StoppedError(s.i + 1, s.steps);
        }
      },
    });
    const x0 = await e.read(res.x0);
    e.release(res.x0);
    const yImage = spec.task === 'phase' ? phaseDisplay(yData) : yData;
    return {
      x0,
      yImage,
      yImageShape: [yc, yh, yw],
      measurementFile,
      trace,
      warmup,
      firstStepSeconds,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    e.release(...owned);
    op.destroy();
    if (stopped) await e.sync().catch(() => {});
  }
}

/** |F P x| spans decades: show log(1 + |y|) scaled to [−1, 1] (the DC term is the image's sum). */
function phaseDisplay(y: Float32Array): Float32Array {
  let max = 0;
  for (const v of y) max = Math.max(max, Math.log1p(Math.abs(v)));
  return y.map((v) => (max > 0 ? (2 * Math.log1p(Math.abs(v))) / max - 1 : -1));
}

/** The measurement as `posterior measure` writes it: tensors y (+ mask / kernel), task and options in the metadata. */
async function measurementBytes(
  e: Engine,
  spec: RunSpec,
  opts: OperatorOptions,
  y: Float32Array,
  yShape: number[],
  extras: Readonly<Record<string, Tensor>>,
  info: Readonly<Record<string, string>>,
): Promise<Uint8Array> {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = { y: { shape: yShape, data: y } };
  for (const [name, t] of Object.entries(extras)) tensors[name] = { shape: [...t.shape], data: await e.read(t) };
  return serializeSafetensors(tensors, {
    task: spec.task,
    sigma_y: String(spec.sigmaY),
    noise: spec.sigmaY > 0 ? 'gaussian' : 'none',
    seed: String(spec.seed),
    operator_options: JSON.stringify(opts),
    operator_info: JSON.stringify(info),
    written_by: 'the browser page (web/)',
  });
}
