/// <reference types="@webgpu/types" />
// The library: everything a program needs to run posterior sampling on WebGPU, on Node (Dawn, through the
// optional npm package `webgpu`) or in a browser (navigator.gpu). docs/api.md documents each export with a
// runnable example; anything not exported here is internal and may change.
//
// This file only re-exports by name (plus two small functions), so the modules behind it can be reorganised
// without changing what a user imports.

// ── engine: one WebGPU device, its buffers and kernels ─────────────────────────────────────────────────
export { Engine, type EngineOptions } from './engine/executor.js';
export { NoAdapterError, type GpuContext } from './engine/device.js';
export type { Tensor } from './engine/tensor.js';
export type { KernelRecord } from './engine/profiler.js';
export { formatKernelTable, summarize } from './engine/profiler.js';

// ── models: the ADM UNet prior ───────────────────────────────────────────────────────────────────────────
export { EMBEDDED_MODEL_URL, loadModel, type ModelSource } from './io/model-source.js';
export { UNet } from './unet/model.js';
export type { UNetConfig } from './unet/config.js';
export type { ScoreModel } from './samplers/score-model.js';

// ── measurements: the tasks' forward operators and y = A(x) + noise ─────────────────────────────────────
export {
  TASKS,
  createOperator,
  measure,
  type MeasurementOperator,
  type NoiseModel,
  type OperatorOptions,
  type Task,
  type TaskOperator,
} from './operators/index.js';

// ── sampling: every method (± CMI) through one driver ────────────────────────────────────────────────────
export {
  DEFAULT_CMI,
  METHOD_NAMES,
  defaultSteps,
  parseEtaSchedule,
  sample,
  type CmiOptions,
  type MethodName,
  type SampleOptions,
  type SampleResult,
  type StepInfo,
} from './samplers/index.js';

// ── images and metrics ───────────────────────────────────────────────────────────────────────────────────
export { fitImage, grayOf, rgbaToImage, type FitKind } from './io/pixels.js';
export { decodePng, encodePng, type Image } from './io/png.js';
export { psnr, ssim } from './io/metrics.js';

// ── checkpoints: guided-diffusion PyTorch (.pt) or safetensors → the engine's weight file (Node only) ───
export { convertCheckpoint, type ConvertedCheckpoint } from './convert.js';
