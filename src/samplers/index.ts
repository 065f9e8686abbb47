// Public API of the samplers (what the CLI and the web demo use).
export { sample, type SampleOptions, type SampleResult, type StepInfo } from './sampler.js';
export {
  BASE_METHODS,
  CMI_METHODS,
  DEFAULT_CMI,
  METHOD_NAMES,
  baseSampler,
  defaultClip,
  defaultEta,
  defaultScale,
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
