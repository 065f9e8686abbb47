// Small helpers shared by the operators.
import type { Dispatch, Engine } from '../engine/executor.js';
import type { Kernel } from '../engine/kernel.js';
import { sameShape, type Tensor } from '../engine/tensor.js';
import { grid1d } from '../engine/ops/vector.js';

export type Shape4 = readonly [number, number, number, number];

/** Validates an NCHW image shape and returns it typed. */
export function imageShape(shape: readonly number[], what: string): Shape4 {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${what}: input shape must be [N, C, H, W] with positive sizes, got [${shape}]`);
  }
  return shape as unknown as Shape4;
}

export function expectShape(t: Tensor, want: readonly number[], what: string): void {
  if (!sameShape(t.shape, want)) throw new Error(`${what}: expected shape [${want}], got [${t.shape}]`);
}

/** A dispatch of one invocation per element (256-lane workgroups, flat index folded in 2-D). */
export function runFlat(
  e: Engine,
  kernel: Kernel,
  buffers: Dispatch['buffers'],
  params: Dispatch['params'],
  total: number,
  cost: { flops?: number; bytes?: number } = {},
  constants?: Record<string, number>,
): void {
  e.run({ kernel, constants, buffers, params, grid: grid1d(e, total), ...cost, label: kernel.name });
}

/** Float64 → Float32Array. */
export const f32a = (a: ArrayLike<number>) => Float32Array.from(a);
