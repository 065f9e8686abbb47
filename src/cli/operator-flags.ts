// The measurement-operator flags shared by `posterior measure`, `sample` and `eval`, and their mapping to
// OperatorOptions (kept in the CLI so that src/operators depends on the engine only).
import type { FlagTable } from './args.ts';
import type { OperatorOptions } from '../operators/index.ts';
import type { BlurMethod } from '../operators/blur.ts';
/** Flags of `posterior measure` (and of samplers that rebuild the operator) for the task options. */
export const OPERATOR_FLAGS = {
  'box-size': { type: 'number-list', help: 'inpaint-box: hole size h[,w] (default half the image)' },
  'box-top': { type: 'int', help: 'inpaint-box: fixed top row of the hole (default random)' },
  'box-left': { type: 'int', help: 'inpaint-box: fixed left column of the hole (default random)' },
  'box-margin': {
    type: 'number-list',
    help: 'inpaint-box: margins h[,w] for the random placement (default 16/256 of the size)',
  },
  'mask-p': { type: 'number', help: 'inpaint-random: fraction of pixels dropped (default 0.92)' },
  'mask-p-range': {
    type: 'number-list',
    help: "inpaint-random: draw the fraction from U(lo,hi), DPS's config 0.3,0.7",
  },
  'sr-factor': { type: 'number', help: 'sr4: downsampling factor (default 4)' },
  'kernel-size': { type: 'int', help: 'blur: kernel size (default 61)' },
  'blur-std': { type: 'number', help: 'gaussian-blur: std (default 3.0; the CMI paper uses 5.0)' },
  intensity: { type: 'number', help: 'motion-blur: intensity in [0, 1] (default 0.5)' },
  'blur-method': {
    type: 'string',
    choices: ['auto', 'fft', 'direct'],
    help: 'blur: FFT or direct convolution (default auto)',
  },
  pad: { type: 'int', help: 'phase: zero padding per side (default 64 = oversample 2)' },
} as const satisfies FlagTable;

/** Parsed OPERATOR_FLAGS (camelCase, as the CLI parser produces them) → OperatorOptions. */
export function operatorOptionsFromFlags(f: {
  boxSize?: number[];
  boxTop?: number;
  boxLeft?: number;
  boxMargin?: number[];
  maskP?: number;
  maskPRange?: number[];
  srFactor?: number;
  kernelSize?: number;
  blurStd?: number;
  intensity?: number;
  blurMethod?: string;
  pad?: number;
  seed?: number;
}): OperatorOptions {
  const two = (v: number[] | undefined, what: string): [number, number] | undefined => {
    if (!v || v.length === 0) return undefined;
    if (v.length > 2) throw new Error(`--${what}: give one or two numbers, got ${v.length}`);
    return [v[0], v[v.length - 1]];
  };
  const range = two(f.maskPRange, 'mask-p-range');
  return {
    seed: f.seed,
    boxSize: two(f.boxSize, 'box-size'),
    boxTop: f.boxTop,
    boxLeft: f.boxLeft,
    boxMargin: two(f.boxMargin, 'box-margin'),
    maskP: f.maskP,
    maskPRange: range,
    scale: f.srFactor,
    kernelSize: f.kernelSize,
    blurStd: f.blurStd,
    motionIntensity: f.intensity,
    blurMethod: f.blurMethod as BlurMethod | undefined,
    pad: f.pad,
  };
}
