// Public API of the samplers (what the CLI and the web demo use).
export {
  defaultSteps,
  NonFiniteStateError,
  sample,
  scheduleFor,
  type SampleOptions,
  type SampleResult,
  type StepInfo,
} from './sampler.js';
export { METHODS, findMethod, taskKind, type SamplerMethod, type StepHook, type Settings } from './methods/index.js';
export { cmiHook } from './cmi-hook.js';
export {
  DiffusionConfigError,
  defaultDiffusion,
  diffusionFromMetadata,
  diffusionToJson,
  parseDiffusionConfig,
  type DiffusionSettings,
} from './diffusion-config.js';
export {
  BASE_METHODS,
  CMI_METHODS,
  DEFAULT_CMI,
  METHOD_NAMES,
  methodsHelp,
  underConvergedWarning,
  parseEtaSchedule,
  parseMethod,
  type BaseMethod,
  type MethodName,
  type ParsedMethod,
} from './methods.js';
export {
  createSchedule,
  namedBetas,
  spaceTimesteps,
  type Schedule,
  type ScheduleOptions,
  type VarianceType,
} from './schedule.js';
export { cmiGradient, type CmiOptions, type EtaSchedule, type SigmaInvMode } from './cmi.js';
export { NoiseStreams, type Replay } from './noise.js';
export type { DsgOptions } from './dsg.js';
export type { DdrmOptions } from './ddrm.js';
export type { CgOptions } from './linalg.js';
export type { ScoreModel } from './score-model.js';
export { PIGDM_WEIGHTINGS, type PigdmWeighting } from './pigdm.js';
