// Method names for the CLI and the library (`--method dps+cmi`), parsed against the registry
// (./methods/index.ts), the under-convergence warning, and the CMI defaults.
import type { SigmaInvMode } from './cmi.js';
import { findMethod, METHODS, type SamplerMethod } from './methods/index.js';

export const BASE_METHODS = ['ddpm', 'ddim', 'dps', 'pigdm', 'mcg', 'dsg', 'ddrm'] as const;
export type BaseMethod = (typeof BASE_METHODS)[number];
/** methods the CMI step hook applies to (the registry's `cmi: true`) */
export const CMI_METHODS: readonly string[] = METHODS.filter((m) => m.cmi).map((m) => m.name);
export type MethodName = BaseMethod | `${BaseMethod}+cmi`;
export const METHOD_NAMES: readonly string[] = [
  ...METHODS.map((m) => m.name),
  ...METHODS.filter((m) => m.cmi).map((m) => `${m.name}+cmi`),
];

export interface ParsedMethod {
  /** the method's name without '+cmi' */
  base: BaseMethod;
  method: SamplerMethod;
  cmi: boolean;
}

/** "dps", "DPS+CMI", "pigdm+cmi" → the registry record and whether CMI is on; a clear error otherwise. */
export function parseMethod(name: string): ParsedMethod {
  const s = name.trim().toLowerCase();
  const cmi = s.endsWith('+cmi');
  const base = cmi ? s.slice(0, -4) : s;
  const method = findMethod(base);
  if (!method) throw new Error(`unknown method '${name}' (expected one of ${METHOD_NAMES.join(', ')})`);
  if (cmi && !method.cmi) throw new Error(`'+cmi' applies to ${CMI_METHODS.join(', ')}, not ${base}`);
  return { base: method.name as BaseMethod, method, cmi };
}

/** "dps: 20 steps … protocol 1000 …" when fewer steps than the method's protocol are asked for, else null. */
export function underConvergedWarning(name: string, steps: number, trainingSteps = 1000): string | null {
  const { method } = parseMethod(name);
  if (steps >= Math.min(method.protocolSteps, trainingSteps)) return null;
  return (
    `warning: ${name} at ${steps} steps is under-converged: its protocol is ${method.protocolSteps} ` +
    `steps (${method.stepsSource}); expect a worse reconstruction`
  );
}

/** `--help` text: each method with its default (protocol) step count. */
export function methodsHelp(): string {
  return METHODS.map((m) => `${m.name} (${m.protocolSteps} steps${m.cmi ? ', +cmi' : ''})`).join(', ');
}

/**
 * Defaults for '+cmi' when the user gives none (the CLI's --cmi-* defaults). η: on the embedded
 * Fashion-MNIST prior (docs/cmi.md) no schedule tried beat plain DPS; relative:0.1 was neutral, relative ≥ 1
 * cost PSNR; 0.2 sits between.
 */
export const DEFAULT_CMI = {
  r: 1,
  sigmaInv: 'isotropic' as SigmaInvMode,
  eta: { kind: 'relative' as const, eta: 0.2 },
};

/** "constant:0.1", "relative:0.5", "residual:2", or a bare number (constant). */
export function parseEtaSchedule(s: string): { kind: 'constant' | 'residual' | 'relative'; eta: number } {
  const [a, b] = s.includes(':') ? s.split(':') : ['constant', s];
  const eta = Number(b);
  if (!['constant', 'residual', 'relative'].includes(a) || !Number.isFinite(eta)) {
    throw new Error(`bad CMI η schedule '${s}' (expected constant:η, residual:η, relative:η or a number)`);
  }
  return { kind: a as 'constant' | 'residual' | 'relative', eta };
}
