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

export function readMeasurement(path: string): LoadedMeasurement {
  const meta = readMetadata(path);
  const tensors = readTensors(path);
  const y = tensors.get('y');
  if (!y) throw new Error(`${path}: no tensor 'y' — is this a file written by 'posterior measure'?`);
  if (!meta.task) throw new Error(`${path}: no 'task' in the metadata — write measurements with 'posterior measure'`);
  const task = parseTask(meta.task);
  const opts: OperatorOptions = JSON.parse(meta.operator_options ?? '{}');
  const mask = tensors.get('mask');
  const kernel = tensors.get('kernel');
  if (mask) opts.mask = mask.data;
  if (kernel) {
    opts.kernel = kernel.data;
    opts.kernelSize = kernel.shape[kernel.shape.length - 1];
  }
  return {
    task,
    y,
    sigmaY: Number(meta.sigma_y ?? 0),
    noise: (meta.noise ?? 'gaussian') as LoadedMeasurement['noise'],
    opts,
  };
}

export function operatorFor(e: Engine, task: Task, opts: OperatorOptions, imageShape: readonly number[]): TaskOperator {
  return createOperator(task, opts, e, imageShape);
}
