// Schedule math against values printed by guided-diffusion's own code (numpy float64, respace.py's
// space_timesteps copied verbatim into a script; see the numbers below).
import { describe, expect, it } from 'vitest';
import {
  createSchedule,
  fixedLogVariance,
  logVarianceBounds,
  namedBetas,
  pyRound,
  spaceTimesteps,
} from '../src/samplers/schedule.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('space_timesteps', () => {
  it('matches respace.py for section counts and ddimN', () => {
    expect(spaceTimesteps(1000, '20')).toEqual([
      0, 53, 105, 158, 210, 263, 315, 368, 421, 473, 526, 578, 631, 684, 736, 789, 841, 894, 946, 999,
    ]);
    expect(spaceTimesteps(1000, '10,10')).toEqual([
      0, 55, 111, 166, 222, 277, 333, 388, 444, 499, 500, 555, 611, 666, 722, 777, 833, 888, 944, 999,
    ]);
    expect(spaceTimesteps(1000, 'ddim25')).toEqual(Array.from({ length: 25 }, (_, i) => 40 * i));
    expect(spaceTimesteps(1000, '7,3,5')).toEqual([
      0, 56, 111, 166, 222, 278, 333, 334, 500, 666, 667, 750, 833, 916, 999,
    ]);
    expect(spaceTimesteps(1000, '3')).toEqual([0, 500, 999]);
    expect(spaceTimesteps(1000, '1,1,1')).toEqual([0, 334, 667]);
    const d50 = spaceTimesteps(1000, 'ddim50');
    expect(d50.length).toBe(50);
    expect(d50.slice(0, 3)).toEqual([0, 20, 40]);
    expect(d50.at(-1)).toBe(980);
    for (const [s, n, head, tail, sum] of [
      ['100', 100, [0, 10, 20, 30, 40, 50, 61, 71], [969, 979, 989, 999], 49950],
      ['250', 250, [0, 4, 8, 12, 16, 20, 24, 28], [987, 991, 995, 999], 124875],
      ['50,30,20', 100, [0, 7, 14, 20, 27, 34, 41, 48], [947, 964, 982, 999], 39985],
      ['1000', 1000, [0, 1, 2, 3, 4, 5, 6, 7], [996, 997, 998, 999], 499500],
    ] as const) {
      const l = spaceTimesteps(1000, s);
      expect(l.length).toBe(n);
      expect(l.slice(0, 8)).toEqual(head);
      expect(l.slice(-4)).toEqual(tail);
      expect(l.reduce((a, b) => a + b, 0)).toBe(sum);
    }
    expect(spaceTimesteps(1000, 20)).toEqual(spaceTimesteps(1000, '20'));
    expect(spaceTimesteps(1000, [10, 10])).toEqual(spaceTimesteps(1000, '10,10'));
  });

  it('rounds halves to even like Python and rejects impossible requests', () => {
    expect([0.5, 1.5, 2.5, -0.5, 2.4999, 2.5001].map(pyRound)).toEqual([0, 2, 2, 0, 2, 3]);
    expect(() => spaceTimesteps(1000, 'ddim3000')).toThrow(/integer stride/);
    expect(() => spaceTimesteps(10, '20')).toThrow(/cannot divide/);
    expect(() => spaceTimesteps(1000, '1x')).toThrow(/not a non-negative integer/);
  });
});

describe('schedule constants', () => {
  it('linear betas equal numpy.linspace(1e-4, 0.02, 1000)', () => {
    const b = namedBetas('linear');
    expect(b[0]).toBe(1e-4);
    expect(b[999]).toBe(0.02);
    expect(rel(b[1], 0.00011991991991991993)).toBeLessThan(1e-15);
    expect(rel(b[500], 0.010059959959959959)).toBeLessThan(1e-15);
    expect(rel(createSchedule().alphasCumprod[999], 4.035829765375676e-5)).toBeLessThan(1e-12);
  });

  it('respaced "20" constants match guided-diffusion to 1e-12', () => {
    const s = createSchedule({ respacing: '20' });
    // k: [beta, alphas_cumprod, posterior_variance, posterior_log_variance_clipped, coef1, coef2, sqrt_recipm1]
    const ref: Record<number, number[]> = {
      0: [9.999999999998899e-5, 0.9999, 0, -9.213243383856723, 1, 0, 0.01000050003749898],
      1: [
        0.03325319645639213, 0.9666501288632535, 9.971011977838952e-5, -9.213243383856723, 0.9970513414776769,
        0.0029482357781609927, 0.18574298621887297,
      ],
      10: [
        0.4148460979612737, 0.05939148061947254, 0.39627578777969835, -0.9256448763380134, 0.1405093177176388,
        0.7307108924030874, 3.9796270837085683,
      ],
      19: [
        0.6475137270230589, 4.035829765375675e-5, 0.6474657198517093, -0.43468942912390046, 0.006928860578445438,
        0.5936615262097007, 157.4072808104076,
      ],
    };
    for (const [k, v] of Object.entries(ref)) {
      const i = Number(k);
      const got = [
        s.betas[i],
        s.alphasCumprod[i],
        s.posteriorVariance[i],
        s.posteriorLogVarianceClipped[i],
        s.posteriorMeanCoef1[i],
        s.posteriorMeanCoef2[i],
        s.sqrtRecipm1AlphasCumprod[i],
      ];
      got.forEach((g, j) => expect(Math.abs(g - v[j])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v[j]))));
    }
    expect(s.timestepMap.at(-1)).toBe(999);
    expect(logVarianceBounds(s, 19).maxLog).toBeCloseTo(Math.log(0.6475137270230589), 12);
    expect(fixedLogVariance(s, 0, 'fixed_large')).toBeCloseTo(Math.log(9.971011977838952e-5), 12);
    expect(fixedLogVariance(s, 5, 'fixed_large')).toBe(Math.log(s.betas[5]));
  });
});
