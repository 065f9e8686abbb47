// One reconstruction experiment: measure a batch of clean images for a task, run a sampler, score the
// result. Shared by `posterior demo` and `posterior eval`.
import type { Engine, Tensor } from '../engine/index.ts';
import { perImage } from '../io/metrics.ts';
import { measure, type OperatorOptions, type Task } from '../operators/index.ts';
import {
  parseMethod,
  sample,
  type CmiOptions,
  type DiffusionSettings,
  type PigdmWeighting,
  type ScoreModel,
  type StepInfo,
} from '../samplers/index.ts';
import { operatorFor, samplerTask } from './measure-file.ts';

export interface ExperimentOptions {
  e: Engine;
  model: ScoreModel;
  task: Task;
  method: string;
  /** clean images [N, C, H, W] in [−1, 1] */
  x: Float32Array;
  shape: readonly number[];
  /** respacing (default: the checkpoint's, else the method's protocol) */
  steps?: string | number;
  seed: number;
  sigmaY: number;
  opOptions?: OperatorOptions;
  cmi: CmiOptions;
  /** ζ (default: the method's per-task protocol value) */
  zeta?: number;
  eta?: number;
  clip?: boolean;
  /** the checkpoint's diffusion with flag overrides (default: model.diffusion) */
  diffusion?: DiffusionSettings;
  pigdmWeighting?: PigdmWeighting;
  onStep?: (s: StepInfo) => void;
}

export interface ExperimentResult {
  x0: Float32Array;
  /** the measurement, for figures ([N, ...outputShape]) */
  y: Float32Array;
  yShape: number[];
  psnr: number[];
  ssim: number[];
  secondsPerImage: number;
}

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const { e } = o;
  const op = operatorFor(e, o.task, { seed: o.seed, ...o.opOptions }, o.shape);
  const tx = e.upload(o.x, o.shape, 'x');
  const noise = { kind: (o.sigmaY > 0 ? 'gaussian' : 'none') as 'gaussian' | 'none', level: o.sigmaY };
  const meas = measure(e, op, tx, noise, o.seed + 7919);
  const y: Tensor = meas.y;
  const t0 = performance.now();
  const res = await sample({
    model: o.model,
    operator: op,
    noise,
    y,
    method: o.method,
    steps: o.steps,
    seed: o.seed,
    zeta: o.zeta,
    eta: o.eta,
    clip: o.clip,
    diffusion: o.diffusion,
    pigdmWeighting: o.pigdmWeighting,
    task: samplerTask(o.task),
    cmi: parseMethod(o.method).cmi ? o.cmi : undefined,
    onStep: o.onStep,
    distanceEvery: 10,
  });
  const x0 = await e.read(res.x0);
  const seconds = (performance.now() - t0) / 1000;
  const yHost = await e.read(y);
  const N = o.shape[0];
  e.release(tx, y, res.x0, ...Object.values(meas).filter((t) => t !== y && !Object.values(op.extras).includes(t)));
  op.destroy();
  return {
    x0,
    y: yHost,
    yShape: [...y.shape],
    psnr: perImage('psnr', x0, o.x, o.shape),
    ssim: perImage('ssim', x0, o.x, o.shape),
    secondsPerImage: seconds / N,
  };
}

/** A measurement as a viewable image: masked images show the mask's holes grey; phase is not viewable. */
export function measurementImage(
  task: Task,
  y: Float32Array,
  yShape: readonly number[],
  n: number,
): { data: Float32Array; shape: number[] } | null {
  if (task === 'phase') return null;
  const [, c, h, w] = yShape;
  const size = c * h * w;
  return { data: y.slice(n * size, (n + 1) * size), shape: [c, h, w] };
}
