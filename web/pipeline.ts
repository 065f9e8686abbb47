// What the page runs, without the DOM: load a prior, build the measurement of a task, run a sampler with
// per-step x̂₀ previews. The browser test imports this same module on Node to compute the reference result,
// so page and Node share every line from here down to the kernels.
import type { Engine } from '../src/engine/index.ts';
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
  { id: 'dsg', label: 'DSG' },
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
  const summary = `${c.imageSize}×${c.imageSize}×${c.inChannels}, ${(params / 1e6).toFixed(2)}M parameters` + (c.learnSigma ? ', learned variance' : '');
  return { model, params, summary };
}

/** Sampling: filled in once src/samplers and src/operators land (see docs/browser.md). */
export async function runPosterior(
  _prior: Prior,
  _truth: ModelImage,
  spec: RunSpec,
  _hooks: { onStep?: (s: StepInfo) => void | Promise<void>; shouldStop?: () => boolean } = {},
): Promise<RunResult> {
  throw new Error(`sampling (${spec.method}, ${spec.task}) is not available in this build yet`);
}
