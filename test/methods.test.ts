// The method registry: each method file's defaults are what its cited source says (the values are
// restated here from the sources: the DPS repository's configs/*.yaml, the DSG paper's appendix table,
// NVlabs' RED-diff _configs/algo/pgdm.yaml and README, bahjat-kawar/ddrm's README), and the driver knows
// no method by name.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ddim } from '../src/samplers/methods/ddim.js';
import { ddpm } from '../src/samplers/methods/ddpm.js';
import { ddrm } from '../src/samplers/methods/ddrm.js';
import { dps } from '../src/samplers/methods/dps.js';
import { dsg, dsgSettings } from '../src/samplers/methods/dsg.js';
import { mcg } from '../src/samplers/methods/mcg.js';
import { METHODS, nearestSteps, taskKind } from '../src/samplers/methods/index.js';
import { pigdm } from '../src/samplers/methods/pigdm.js';
import {
  BASE_METHODS,
  METHOD_NAMES,
  methodsHelp,
  parseMethod,
  underConvergedWarning,
} from '../src/samplers/methods.js';

describe('method registry', () => {
  it('holds every method once, in BASE_METHODS order', () => {
    expect(METHODS.map((m) => m.name)).toEqual([...BASE_METHODS]);
    expect(new Set(METHODS.map((m) => m.name)).size).toBe(METHODS.length);
    expect(METHOD_NAMES).toContain('dps+cmi');
    expect(METHOD_NAMES).not.toContain('ddrm+cmi');
    expect(parseMethod('PiGDM+CMI'.replace('PiGDM', 'pigdm')).method).toBe(pigdm);
  });

  it('the driver (src/samplers/sampler.ts) names no method', () => {
    const src = readFileSync(new URL('../src/samplers/sampler.ts', import.meta.url), 'utf8');
    for (const m of METHODS) expect(src, m.name).not.toMatch(new RegExp(`\\b${m.name}\\b`, 'i'));
    // nor a method's paper name
    for (const w of ['ΠGDM', 'DSG', 'MCG', 'DDRM', 'DPS']) expect(src, w).not.toMatch(new RegExp(`\\b${w}\\b`));
  });

  it('task names map to the tasks defaults are published for', () => {
    expect(taskKind('inpainting')).toBe('inpainting');
    expect(taskKind('box-inpainting')).toBe('inpainting');
    expect(taskKind('super-resolution')).toBe('super-resolution');
    expect(taskKind('sr')).toBe('super-resolution');
    expect(taskKind('gaussian-deblur')).toBe('deblur');
    expect(taskKind('motion-blur')).toBe('deblur');
    expect(taskKind('phase-retrieval')).toBe('phase-retrieval');
    expect(taskKind(undefined)).toBe('other');
  });

  it('--help lists each method with its protocol steps; fewer steps warn', () => {
    const h = methodsHelp();
    for (const m of METHODS) expect(h).toContain(`${m.name} (${m.protocolSteps} steps`);
    expect(underConvergedWarning('dps', 20)).toMatch(/under-converged.*1000/);
    expect(underConvergedWarning('dps', 20)!.split('\n')).toHaveLength(1);
    expect(underConvergedWarning('dps', 1000)).toBeNull();
    expect(underConvergedWarning('ddrm', 20)).toBeNull();
    expect(underConvergedWarning('pigdm+cmi', 50)).toMatch(/100/);
  });

  it('nearestSteps picks the nearest published count on a log scale', () => {
    expect(nearestSteps(20, [1000, 100, 50, 20])).toBe(20);
    expect(nearestSteps(30, [1000, 100, 50, 20])).toBe(20); // |log 1.5| < |log 1.67|
    expect(nearestSteps(35, [1000, 100, 50, 20])).toBe(50);
    expect(nearestSteps(300, [1000, 100, 50, 20])).toBe(100);
    expect(nearestSteps(400, [1000, 100, 50, 20])).toBe(1000);
  });
});

describe('DPS (DPS2022/diffusion-posterior-sampling configs/*.yaml, diffusion_config.yaml)', () => {
  it('ζ per task and 1000 DDPM steps', () => {
    expect(dps.update.name).toBe('DDPM');
    expect(dps.protocolSteps).toBe(1000);
    expect(dps.defaults('inpainting', 1000).zeta).toBe(0.5); // inpainting_config.yaml scale: 0.5
    expect(dps.defaults('super-resolution', 1000).zeta).toBe(0.3); // super_resolution_config.yaml 0.3
    expect(dps.defaults('deblur', 1000).zeta).toBe(0.3); // gaussian_/motion_/nonlinear_deblur 0.3
    expect(dps.defaults('phase-retrieval', 1000).zeta).toBe(1.0); // phase_retrieval_config.yaml 1.0
    expect(dps.defaults('inpainting', 1000).clip).toBeUndefined(); // the checkpoint's clip_denoised
    expect(dps.cmi).toBe(true);
  });
});

describe('MCG (the DPS repository run with conditioning method mcg)', () => {
  it('the DPS configs’ ζ and 1000 DDPM steps, plus a projection', () => {
    expect(mcg.update.name).toBe('DDPM');
    expect(mcg.protocolSteps).toBe(1000);
    expect(mcg.defaults('inpainting', 1000).zeta).toBe(0.5);
    expect(mcg.defaults('super-resolution', 1000).zeta).toBe(0.3);
    expect(mcg.after).toBeTypeOf('function');
    const src = readFileSync(new URL('../src/samplers/methods/mcg.ts', import.meta.url), 'utf8');
    expect(src).toMatch(/MCG paper's, x ← x \+ A⁺\(y_t − A x\)/);
  });
});

describe('ΠGDM (NVlabs RED-diff _configs/algo/pgdm.yaml, README)', () => {
  it('η 0, weight 1, 100 DDIM steps, no clip', () => {
    expect(pigdm.update.name).toBe('DDIM');
    expect(pigdm.protocolSteps).toBe(100); // README num_steps=100
    const p = pigdm.defaults('inpainting', 100);
    expect(p.eta).toBe(0); // eta: 0.0
    expect(p.zeta).toBe(1); // grad_term_weight: 1
    expect(p.clip).toBe(false);
  });
});

describe('DSG (arXiv 2402.03201v2 appendix: Task | Interval | Guidance Rate | Denoising steps)', () => {
  it('interval and rate per task and step count', () => {
    expect(dsg.update.name).toBe('DDIM');
    expect(dsg.protocolSteps).toBe(100); // run_DSG.sh DDIM=100
    const at = (t: Parameters<typeof dsgSettings>[0], s: number) => {
      const d = dsg.defaults(t, s);
      return [d.interval, d.rate];
    };
    expect(at('inpainting', 1000)).toEqual([5, 0.2]);
    expect(at('super-resolution', 1000)).toEqual([20, 0.2]);
    expect(at('deblur', 1000)).toEqual([5, 0.2]);
    expect(at('inpainting', 100)).toEqual([1, 0.2]);
    expect(at('super-resolution', 100)).toEqual([2, 0.1]);
    expect(at('deblur', 100)).toEqual([1, 0.1]);
    expect(at('inpainting', 50)).toEqual([1, 0.2]);
    expect(at('super-resolution', 50)).toEqual([1, 0.1]);
    expect(at('deblur', 50)).toEqual([1, 0.1]);
    expect(at('inpainting', 20)).toEqual([1, 0.2]);
    expect(at('super-resolution', 20)).toEqual([1, 0.2]);
    // not legible in the source we read: deblurring at 20 steps uses its 50-step row
    expect(dsgSettings('deblur', 20)).toEqual({ interval: 1, rate: 0.1, steps: 50 });
    expect(dsg.defaults('inpainting', 100).eta).toBe(1); // DSG2024 DDIM(eta=1)
  });
});

describe('DDRM (bahjat-kawar/ddrm README)', () => {
  it('η 0.85, η_b 1, 20 steps, no CMI', () => {
    expect(ddrm.update.name).toBe('DDRM');
    expect(ddrm.protocolSteps).toBe(20);
    expect(ddrm.defaults('inpainting', 20)).toEqual({ eta: 0.85, etaB: 1, clip: false });
    expect(ddrm.cmi).toBe(false);
    expect(ddrm.guidance).toBeUndefined();
  });
});

describe('unconditional DDPM / DDIM', () => {
  it('no measurement, no guidance', () => {
    expect(ddpm.needsMeasurement).toBe(false);
    expect(ddim.needsMeasurement).toBe(false);
    expect(ddpm.protocolSteps).toBe(1000);
    expect(ddim.defaults('other', 100).eta).toBe(0);
  });
});
