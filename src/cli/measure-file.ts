// A measurement file (what `posterior measure` writes and `sample --measurement` reads): tensors `y` and
// `mask` or `kernel`, with the task and operator parameters in the safetensors metadata so the operator
// can be rebuilt exactly.
import type { Engine } from '../engine/index.ts';
import { firstNonFinite } from '../engine/safetensors.ts';
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

export function readMeasurement(path: string): LoadedMeasurement {
  const meta = readMetadata(path);
  const tensors = readTensors(path);
  const fail = (why: string): never => {
    throw new Error(`${path}: ${why}`);
  };
  const y = tensors.get('y');
  if (!y) fail(`no tensor 'y' — is this a file written by 'posterior measure'?`);
  if (!meta.task) fail(`no 'task' in the metadata — write measurements with 'posterior measure'`);
  if (!(TASKS as readonly string[]).includes(meta.task))
    fail(`unknown task ${JSON.stringify(meta.task.slice(0, 40))} (one of ${TASKS.join(', ')})`);
  const task = meta.task as Task;
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
  // Every number that reaches the sampler must be finite: a NaN in y would give an all-NaN x₀ with exit 0.
  for (const [name, t] of tensors) {
    const bad = firstNonFinite(t.data);
    if (bad >= 0) fail(`tensor '${name}' holds a non-finite value (${t.data[bad]} at index ${bad})`);
  }
  const noise = meta.noise ?? 'gaussian';
  if (!(NOISE_KINDS as readonly string[]).includes(noise))
    fail(`noise ${JSON.stringify(noise.slice(0, 40))} is not one of ${NOISE_KINDS.join(', ')}`);
  const sigmaText = (meta.sigma_y ?? '0').trim();
  const sigmaY = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(sigmaText) ? Number(sigmaText) : NaN;
  if (!Number.isFinite(sigmaY)) fail(`sigma_y ${JSON.stringify(sigmaText.slice(0, 40))} is not a finite number`);
  try {
    checkNoiseModel({ kind: noise as LoadedMeasurement['noise'], level: sigmaY });
  } catch (e) {
    fail((e as Error).message);
  }
  const mask = tensors.get('mask');
  const kernel = tensors.get('kernel');
  if (mask) opts.mask = mask.data;
  if (kernel) {
    opts.kernel = kernel.data;
    opts.kernelSize = kernel.shape[kernel.shape.length - 1];
  }
  return { task, y: y!, sigmaY, noise: noise as LoadedMeasurement['noise'], opts };
}

export function operatorFor(e: Engine, task: Task, opts: OperatorOptions, imageShape: readonly number[]): TaskOperator {
  return createOperator(task, opts, e, imageShape);
}
