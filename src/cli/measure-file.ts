// A measurement file (what `posterior measure` writes and `sample --measurement` reads): tensors `y` and
// `mask` or `kernel`, with the task and operator parameters in the safetensors metadata so the operator
// can be rebuilt exactly.
import type { Engine } from '../engine/index.ts';
import { createOperator, TASKS, type OperatorOptions, type Task, type TaskOperator } from '../operators/index.ts';
import { readMetadata, readTensors, type HostTensor } from './tensors.ts';

export function parseTask(s: string): Task {
  if (!(TASKS as readonly string[]).includes(s)) throw new Error(`unknown task '${s}' (one of ${TASKS.join(', ')})`);
  return s as Task;
}

/** Task name → the samplers' task words (for default step sizes). */
export function samplerTask(task: Task): string {
  return task.startsWith('inpaint')
    ? 'inpainting'
    : task === 'sr4'
      ? 'super-resolution'
      : task === 'phase'
        ? 'phase-retrieval'
        : 'deblur';
}

export interface LoadedMeasurement {
  task: Task;
  y: HostTensor;
  sigmaY: number;
  noise: 'gaussian' | 'poisson' | 'none';
  opts: OperatorOptions;
}

/**
 * A stored mask as the inpainting operator's one [H·W] plane. Accepted layouts: [H, W], [1, 1, H, W] (ours),
 * and the DPS repository's [N, C, H, W] (its `mask` tensor is the image-shaped mask it multiplies with),
 * provided every image and channel holds the same plane — the operator applies one mask to all of them.
 */
export function maskPlane(path: string, mask: HostTensor, imageShape?: readonly number[]): Float32Array {
  const sh = mask.shape;
  const [H, W] = sh.slice(-2);
  if (sh.length < 2 || sh.length > 4 || !(H > 0 && W > 0))
    throw new Error(`${path}: mask has shape [${sh}], expected [H, W], [1, 1, H, W] or [N, C, H, W]`);
  if (imageShape && (H !== imageShape[1] || W !== imageShape[2]))
    throw new Error(`${path}: mask is ${H}×${W}, the model's images are ${imageShape[1]}×${imageShape[2]}`);
  if (sh.length === 4 && imageShape && sh[1] !== 1 && sh[1] !== imageShape[0])
    throw new Error(`${path}: mask has ${sh[1]} channels, the model's images ${imageShape[0]}`);
  const plane = H * W;
  const first = mask.data.subarray(0, plane);
  for (let off = plane; off < mask.data.length; off += plane)
    for (let j = 0; j < plane; j++)
      if (mask.data[off + j] !== first[j])
        throw new Error(
          `${path}: the mask differs between channels or images (plane ${off / plane} at pixel ${j}); ` +
            'the inpainting operator applies one H×W mask to every channel and image',
        );
  return Float32Array.from(first);
}

/**
 * Reads a measurement file. Files written by `posterior measure` name their task and noise in the metadata;
 * a file in the DPS repository's layout (tensors `y` and `mask`, no metadata) needs them from the caller
 * (`given`: the --task and --sigma-y flags). A task given for a file that names another is an error.
 */
export function readMeasurement(
  path: string,
  imageShape?: readonly number[],
  given: { task?: string; sigmaY?: number } = {},
): LoadedMeasurement {
  const meta = readMetadata(path);
  const tensors = readTensors(path);
  const y = tensors.get('y');
  if (!y) throw new Error(`${path}: no tensor 'y' — is this a file written by 'posterior measure'?`);
  if (!meta.task && !given.task)
    throw new Error(
      `${path}: no 'task' in the metadata — give --task (a file in the DPS layout), or write measurements with 'posterior measure'`,
    );
  if (meta.task && given.task && meta.task !== given.task)
    throw new Error(`${path}: the file is a '${meta.task}' measurement, --task says '${given.task}'`);
  const task = parseTask(meta.task ?? given.task!);
  const opts: OperatorOptions = JSON.parse(meta.operator_options ?? '{}');
  const mask = tensors.get('mask');
  const kernel = tensors.get('kernel');
  if (mask) opts.mask = maskPlane(path, mask, imageShape);
  if (kernel) {
    opts.kernel = kernel.data;
    opts.kernelSize = kernel.shape[kernel.shape.length - 1];
  }
  const sigmaY = meta.sigma_y !== undefined ? Number(meta.sigma_y) : (given.sigmaY ?? 0);
  return {
    task,
    y,
    sigmaY,
    noise: (meta.noise ?? (sigmaY > 0 ? 'gaussian' : 'none')) as LoadedMeasurement['noise'],
    opts,
  };
}

export function operatorFor(e: Engine, task: Task, opts: OperatorOptions, imageShape: readonly number[]): TaskOperator {
  return createOperator(task, opts, e, imageShape);
}
