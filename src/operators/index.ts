// The benchmark tasks' measurement operators (DPS / CMI protocol) behind one factory, plus what a CLI
// needs: the task list, option types and flag table, and the tensors a measurement file holds.
import type { Engine } from '../engine/executor.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator, NoiseModel } from './operator.js';
import { BlurOperator, type BlurMethod } from './blur.js';
import { checkKernel, gaussianKernel, gaussianKernel1d, motionBlurKernel } from './kernels.js';
import { boxMask, InpaintOperator, randomMask } from './masks.js';
import { addNoise } from './noise.js';
import { PhaseRetrievalOperator } from './phase.js';
import { SuperResolutionOperator } from './sr.js';
import { imageShape } from './util.js';

export type { MeasurementOperator, NoiseModel, SvdView } from './operator.js';
export { BlurOperator, reflectCorrelationMatrix } from './blur.js';
export { SuperResolutionOperator, resizeMatrix } from './sr.js';
export { PhaseRetrievalOperator } from './phase.js';
export { InpaintOperator, MaskSvd, boxMask, randomMask, maskFromPng } from './masks.js';
export { gaussianKernel, gaussianKernel1d, motionBlurKernel } from './kernels.js';
export { addNoise, logLikelihoodGrad, logLikelihood } from './noise.js';
export { fft1d, fft2d, fftRows, fftCols, fftFilterCols, nextFftSize, fftRadices } from './fft.js';
export { jacobiSvd, SeparableSvd } from './svd.js';

export const TASKS = ['inpaint-box', 'inpaint-random', 'sr4', 'gaussian-blur', 'motion-blur', 'phase'] as const;
export type Task = (typeof TASKS)[number];

export interface OperatorOptions {
  /** seed of the random parts: box position, random mask, motion-blur path (default 0) */
  seed?: number;
  /** inpaint-box: hole size (default half the image: DPS's 128 on 256) */
  boxSize?: number | readonly [number, number];
  /** inpaint-box: fixed corner (default: random within the margins) */
  boxTop?: number;
  boxLeft?: number;
  /** inpaint-box: margins for the random placement (default 16/256 of the size) */
  boxMargin?: number | readonly [number, number];
  /** inpaint-random: fraction of pixels dropped (default 0.92, DPS paper) */
  maskP?: number;
  /** inpaint-random: draw the fraction from U(lo, hi) (DPS's config: 0.3, 0.7) */
  maskPRange?: readonly [number, number];
  /** either inpainting task: a user mask [h·w] (1 = observed), e.g. from maskFromPng; overrides generation */
  mask?: Float32Array;
  /** sr4: downsampling factor (default 4) */
  scale?: number;
  /** blur: kernel size (default 61) */
  kernelSize?: number;
  /** gaussian-blur: std (default 3.0 = DPS; the CMI paper states 5.0) */
  blurStd?: number;
  /** motion-blur: intensity (default 0.5) */
  motionIntensity?: number;
  /** blur: a user kernel (kernelSize² values, row-major), overrides the generator */
  kernel?: ArrayLike<number>;
  blurMethod?: BlurMethod;
  fftSize?: 'smooth' | 'pow2';
  /** CG iterations of the blur pseudo-inverse (default 20) */
  cgIterations?: number;
  /** SVD views: zero 1-D singular values below this (DDRM's 3e-2) */
  svdZero?: number;
  /** phase: zero padding per side (default 64, DPS's oversample 2) */
  pad?: number;
}

export interface TaskOperator extends MeasurementOperator {
  readonly task: Task;
  /** frees the operator's GPU buffers (masks, kernels, spectra, SVD factors) */
  destroy(): void;
  /** tensors a measurement file stores beside y: `mask` [1, 1, H, W] or `kernel` [1, 1, k, k] */
  readonly extras: Readonly<Record<string, Tensor>>;
  /** the parameters actually used (box position, drop fraction, kernel, pad …), for logs and file metadata */
  readonly info: Readonly<Record<string, string>>;
}

function withTask<T extends MeasurementOperator & { destroy(): void }>(
  op: T,
  task: Task,
  extras: Record<string, Tensor>,
  info: Record<string, string>,
): T & TaskOperator {
  return Object.assign(op, { task, extras, info });
}

/** The operator of a benchmark task for images of `inputShape` ([N, C, H, W]). */
export function createOperator(
  task: Task,
  opts: OperatorOptions,
  engine: Engine,
  inputShape: readonly number[],
): TaskOperator {
  const shape = imageShape(inputShape, task);
  const [, , H, W] = shape;
  const seed = opts.seed ?? 0;
  switch (task) {
    case 'inpaint-box':
    case 'inpaint-random': {
      let mask: Float32Array;
      const info: Record<string, string> = { seed: String(seed) };
      if (opts.mask) {
        mask = opts.mask;
        info.mask = 'user';
      } else if (task === 'inpaint-box') {
        const b = boxMask(H, W, {
          size: opts.boxSize,
          top: opts.boxTop,
          left: opts.boxLeft,
          margin: opts.boxMargin,
          seed,
        });
        mask = b.mask;
        Object.assign(info, { box: `${b.size[0]}x${b.size[1]}`, top: String(b.top), left: String(b.left) });
      } else {
        const r = randomMask(H, W, { p: opts.maskP, pRange: opts.maskPRange, seed });
        mask = r.mask;
        info.p = String(r.p);
      }
      const op = new InpaintOperator(engine, shape, mask, task);
      return withTask(op, task, { mask: op.maskTensor }, info);
    }
    case 'sr4': {
      const s = opts.scale ?? 4;
      const op = new SuperResolutionOperator(engine, shape, s, { svdZero: opts.svdZero });
      return withTask(op, task, {}, { scale: String(s) });
    }
    case 'gaussian-blur':
    case 'motion-blur': {
      const k = opts.kernelSize ?? 61;
      let kernel: Float64Array;
      let separable: Float64Array | undefined;
      const info: Record<string, string> = { kernel_size: String(k) };
      if (opts.kernel) {
        kernel = checkKernel(opts.kernel, k);
        info.kernel = 'user';
      } else if (task === 'gaussian-blur') {
        const std = opts.blurStd ?? 3.0;
        kernel = gaussianKernel(k, std);
        separable = gaussianKernel1d(k, std);
        info.std = String(std);
      } else {
        const intensity = opts.motionIntensity ?? 0.5;
        kernel = motionBlurKernel(k, intensity, seed).kernel;
        Object.assign(info, { intensity: String(intensity), seed: String(seed) });
      }
      const op = new BlurOperator(engine, shape, kernel, k, {
        method: opts.blurMethod,
        fftSize: opts.fftSize,
        cgIterations: opts.cgIterations,
        separable,
        svdZero: opts.svdZero,
        name: task,
      });
      return withTask(op, task, { kernel: op.kernelTensor }, info);
    }
    case 'phase': {
      const op = new PhaseRetrievalOperator(engine, shape, { pad: opts.pad });
      return withTask(op, task, {}, { pad: String(op.pad) });
    }
    default:
      throw new Error(`unknown task '${task as string}' (one of ${TASKS.join(', ')})`);
  }
}

/** y = A(x) + noise, plus the operator's extras (`mask` / `kernel`): the contents of a measurement file. */
export function measure(
  e: Engine,
  op: TaskOperator,
  x: Tensor,
  noise: NoiseModel,
  seed: number,
  offset = 0,
): Record<string, Tensor> {
  const ax = op.forward(x);
  const y = addNoise(e, ax, noise, seed, offset);
  e.release(ax);
  return { y, ...op.extras };
}
