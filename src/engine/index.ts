export * from './device.js';
export * from './executor.js';
export * from './kernel.js';
export * from './pipelines.js';
export * from './pool.js';
export * from './profiler.js';
export * from './shaders.js';
export * from './tensor.js';
