// A measurement file (what `posterior measure` writes and `sample --measurement` reads): tensors `y` and
// `mask` or `kernel`, with the task and operator parameters in the safetensors metadata so the operator
// can be rebuilt exactly.
import type { Engine } from '../engine/index.ts';
import { checkNoiseModel, NOISE_KINDS } from '../operators/noise.ts';
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
 * A stored mask as the inpainting operator takes it: one [H·W] plane shared by every channel, or one per
 * channel [C·H·W] (e.g. 90 % of all pixels dropped across the RGB channels). Accepted layouts: [H, W],
 * [1, 1, H, W] (ours), [1, C, H, W] and the DPS repository's [N, C, H, W] (the image-shaped mask it
 * multiplies with), provided every image holds the same mask — the operator applies one to all of them.
 */
export function maskPlane(path: string, mask: HostTensor, imageShape?: readonly number[]): Float32Array {
  const sh = mask.shape;
  const [H, W] = sh.slice(-2);
  if (sh.length < 2 || sh.length > 4 || !(H > 0 && W > 0) || (sh.length === 3 && sh[0] !== 1))
    throw new Error(`${path}: mask has shape [${sh}], expected [H, W], [1, 1, H, W] or [N, C, H, W]`);
  if (imageShape && (H !== imageShape[1] || W !== imageShape[2]))
    throw new Error(`${path}: mask is ${H}×${W}, the model's images are ${imageShape[1]}×${imageShape[2]}`);
  const C = sh.length === 4 ? sh[1] : 1;
  if (imageShape && C !== 1 && C !== imageShape[0])
    throw new Error(`${path}: mask has ${C} channels, the model's images ${imageShape[0]}`);
  const per = C * H * W;
  const first = mask.data.subarray(0, per);
  for (let off = per; off < mask.data.length; off += per)
    for (let j = 0; j < per; j++)
      if (mask.data[off + j] !== first[j])
        throw new Error(
          `${path}: the mask differs between images (image ${off / per} at element ${j}); ` +
            'the inpainting operator applies one mask to every image of a batch',
        );
  // a per-channel mask whose channels agree is the shared plane
  let same = true;
  for (let c = 1; c < C && same; c++)
    for (let j = 0; j < H * W; j++)
      if (first[c * H * W + j] !== first[j]) {
        same = false;
        break;
      }
  return Float32Array.from(same ? first.subarray(0, H * W) : first);
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
  const tensors = readTensors(path); // every tensor finite (tensors.ts): a NaN y would give an all-NaN x₀
  const fail = (why: string): never => {
    throw new Error(`${path}: ${why}`);
  };
  const y = tensors.get('y');
  if (!y) fail(`no tensor 'y' — is this a file written by 'posterior measure'?`);
  if (!meta.task && !given.task)
    fail(
      `no 'task' in the metadata — give --task (a file in the DPS layout), or write measurements with 'posterior measure'`,
    );
  if (meta.task && given.task && meta.task !== given.task)
    fail(`the file is a '${meta.task.slice(0, 40)}' measurement, --task says '${given.task}'`);
  const taskName = meta.task ?? given.task!;
  if (!(TASKS as readonly string[]).includes(taskName))
    fail(`unknown task ${JSON.stringify(taskName.slice(0, 40))} (one of ${TASKS.join(', ')})`);
  const task = taskName as Task;
  let opts: OperatorOptions = {};
  if (meta.operator_options !== undefined) {
    try {
      opts = JSON.parse(meta.operator_options);
    } catch {
      fail('metadata operator_options is not valid JSON');
    }
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
      fail('metadata operator_options is not an object');
  }
  const mask = tensors.get('mask');
  const kernel = tensors.get('kernel');
  if (mask) opts.mask = maskPlane(path, mask, imageShape);
  if (kernel) {
    opts.kernel = kernel.data;
    opts.kernelSize = kernel.shape[kernel.shape.length - 1];
  }
  let sigmaY = given.sigmaY ?? 0;
  if (meta.sigma_y !== undefined) {
    const text = meta.sigma_y.trim();
    sigmaY = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : NaN;
    if (!Number.isFinite(sigmaY)) fail(`sigma_y ${JSON.stringify(text.slice(0, 40))} is not a finite number`);
  }
  const noise = meta.noise ?? (sigmaY > 0 ? 'gaussian' : 'none');
  if (!(NOISE_KINDS as readonly string[]).includes(noise))
    fail(`noise ${JSON.stringify(noise.slice(0, 40))} is not one of ${NOISE_KINDS.join(', ')}`);
  try {
    checkNoiseModel({ kind: noise as LoadedMeasurement['noise'], level: sigmaY });
  } catch (e) {
    fail((e as Error).message);
  }
  return { task, y: y!, sigmaY, noise: noise as LoadedMeasurement['noise'], opts };
}

export function operatorFor(e: Engine, task: Task, opts: OperatorOptions, imageShape: readonly number[]): TaskOperator {
  return createOperator(task, opts, e, imageShape);
}
