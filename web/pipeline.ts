// What the page runs, without the DOM: load a prior, build the measurement of a task, run a sampler with
// per-step x̂₀ previews. The browser test imports this same module on Node to compute the reference result,
// so page and Node share every line from here down to the kernels.
import { SAMPLING_FLAGS } from '../src/cli/sampling-flags.ts';
import type { Engine, Tensor } from '../src/engine/index.ts';
import { lincomb } from '../src/engine/ops/vector.ts';
import { createOperator, measure, type NoiseModel } from '../src/operators/index.ts';
import { parseEtaSchedule, parseMethod, sample, type EtaSchedule } from '../src/samplers/index.ts';
import { loadUNetWeights, UNet } from '../src/unet/index.ts';
import type { ModelImage } from './image.ts';

export const TASKS = ['inpaint-box', 'inpaint-random', 'sr4', 'gaussian-blur', 'motion-blur'] as const;
export type Task = (typeof TASKS)[number];

export interface MethodInfo {
  id: string;
  label: string;
}
export const METHODS: readonly MethodInfo[] = [
  { id: 'dps', label: 'DPS' },
  { id: 'dps+cmi', label: 'CMI + DPS' },
  { id: 'pigdm', label: 'ΠGDM' },
  { id: 'pigdm+cmi', label: 'CMI + ΠGDM' },
  { id: 'mcg', label: 'MCG' },
  { id: 'mcg+cmi', label: 'CMI + MCG' },
  { id: 'dsg', label: 'DSG' },
  { id: 'dsg+cmi', label: 'CMI + DSG' },
  { id: 'ddrm', label: 'DDRM' },
  { id: 'ddpm', label: 'DDPM (unconditional)' },
];

export interface RunSpec {
  task: Task;
  method: string;
  steps: number;
  seed: number;
  /** measurement noise σ_y in the [−1, 1] scale */
  sigmaY: number;
  /** report x̂₀ every this many steps (and at the last) */
  previewEvery: number;
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

export interface RunResult {
  /** [C, H, W] final sample */
  x0: Float32Array;
  /** the measurement as an image for display ([C, h, w]) */
  yImage: Float32Array;
  yImageShape: [number, number, number];
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

/** The task names `sample()` uses for its default ζ — the CLI's mapping (src/cli/measure-file.ts samplerTask). */
function samplerTask(task: Task): string {
  return task.startsWith('inpaint') ? 'inpainting' : task === 'sr4' ? 'super-resolution' : 'deblur';
}

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
 * Everything runs on the prior's engine; temporary tensors are released.
 */
export async function runPosterior(
  prior: Prior,
  truth: ModelImage,
  spec: RunSpec,
  hooks: { onStep?: (s: StepInfo) => void | Promise<void>; shouldStop?: () => boolean } = {},
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
  const owned: Tensor[] = [];
  const x = e.upload(truth.data, shape, 'truth');
  const op = createOperator(spec.task, { seed: spec.seed }, e, shape);
  const noise: NoiseModel = spec.sigmaY > 0 ? { kind: 'gaussian', level: spec.sigmaY } : { kind: 'none', level: 0 };
  let y: Tensor;
  if (replay) {
    const ax = op.forward(x);
    const n = e.upload(replay.yNoise, ax.shape, 'y_noise');
    y = lincomb(e, 1, ax, spec.sigmaY, n);
    e.release(ax, n);
  } else y = measure(e, op, x, noise, spec.seed).y;
  e.release(x);
  owned.push(y);
  const yImage = await e.read(y);
  const [, yc, yh, yw] = op.outputShape;
  let xT: Tensor | undefined, stepNoise: Tensor | undefined;
  if (replay) {
    xT = e.upload(replay.xT, shape, 'x_T');
    stepNoise = e.upload(replay.stepNoise, [replay.stepNoise.length / (C * H * W), ...shape], 'step_noise');
    owned.push(xT, stepNoise);
  }
  let stopped = false;
  try {
    const res = await sample({
      model: prior.model,
      operator: unconditional ? undefined : op,
      noise,
      y: unconditional ? undefined : y,
      method: spec.method,
      steps: spec.steps,
      seed: spec.seed,
      task: samplerTask(spec.task),
      cmi: cmi
        ? {
            r: spec.cmiProbes ?? 1,
            sigmaInv: 'isotropic',
            eta: parseEtaSchedule(spec.cmiEta ?? DEFAULT_CMI_ETA) as EtaSchedule,
          }
        : undefined,
      xT,
      stepNoise,
      snapshotEvery: spec.previewEvery,
      onStep: async (s) => {
        await hooks.onStep?.({ step: s.i + 1, total: s.steps, distance: s.distance?.[0], x0hat: s.x0 });
        if (hooks.shouldStop?.()) {
          stopped = true;
          throw new StoppedError(s.i + 1, s.steps);
        }
      },
    });
    const x0 = await e.read(res.x0);
    e.release(res.x0);
    return { x0, yImage, yImageShape: [yc, yh, yw], seconds: (performance.now() - t0) / 1000 };
  } finally {
    e.release(...owned);
    op.destroy();
    if (stopped) await e.sync().catch(() => {});
  }
}
