// GroupNorm (+scale-shift, +SiLU) forward for K = 1, 2, 4 stacked components and its VJP against the
// float64 hyper-dual reference; the reference itself against central finite differences.
//
// Tolerances (max |gpu - ref| / max |ref|, per component), measured errors in brackets (lavapipe):
//  - forward 2e-6 for the primal and 5e-6 for tangents [1.6e-7 .. 6e-7]: each output is a few f32
//    operations on f32 statistics (shifted sums per chunk + Chan merge, so no E[x²] - mu² cancellation);
//    the tangents (a - mu_a) r + d r_a carry a little more cancellation than the primal, hence the margin.
//  - a mean offset of 50 sigma: f32 cannot represent mu better than |mu| 2^-24, so x - mu carries up to
//    ~|mu|/sigma * 6e-8 ≈ 3e-6 relative error whatever the algorithm; tolerance 2e-5 [~1.4e-6].
//    (A one-pass E[x²] - mu² would be off by ~1e-4 here.)
//  - backward 5e-6 [~4e-7]; the adjoint identity <J a, gy> = <a, Jᵀ gy> between the GPU JVP (K=2) and
//    the GPU VJP holds to 1e-5 of |J a| |gy| [~3e-9]: both are O(1) sums of ~1e3 f32 products.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine, Variant } from '../src/engine/index.js';
import { groupNorm, groupNormBackward, type GroupNormOptions } from '../src/engine/ops/groupnorm.js';
import { eachVariant, getTestEngine, randomArray } from './helpers.js';
import {
  component,
  dot,
  fdJvp,
  fdMixed,
  groupNormBackwardRef,
  groupNormRef,
  relErr,
  stack,
  type GroupNormDims,
  type GroupNormRefOptions,
} from './reference/nonlinear.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

interface Case extends GroupNormDims {
  G: number;
  /** spatial shape (its product is S) */
  spatial: number[];
  silu?: boolean;
  ss?: boolean;
  /** mean offset of the primal */
  offset?: number;
}

function inputs(c: Case, K: number, seed: number) {
  const M = c.N * c.C * c.S;
  const x = randomArray(K * M, seed, 1.5);
  for (let i = 0; i < M; i++) x[i] += c.offset ?? 0.5;
  const gamma = randomArray(c.C, seed + 1, 0.5).map((v) => 1 + v);
  const beta = randomArray(c.C, seed + 2, 0.3);
  const ss = c.ss ? randomArray(c.N * 2 * c.C, seed + 3, 0.5) : undefined;
  return { x, gamma, beta, ss };
}

function run(c: Case, K: 1 | 2 | 4, inp: ReturnType<typeof inputs>, variant?: Variant) {
  const opts: GroupNormOptions = { groups: c.G, K, silu: c.silu, variant };
  if (inp.ss) opts.scaleShift = e.upload(inp.ss, [c.N, 2 * c.C]);
  return groupNorm(
    e,
    e.upload(inp.x, [K * c.N, c.C, ...c.spatial]),
    e.upload(inp.gamma, [c.C]),
    e.upload(inp.beta, [c.C]),
    opts,
  );
}

const refOpts = (c: Case, ss?: ArrayLike<number>): GroupNormRefOptions => ({
  groups: c.G,
  silu: c.silu,
  scaleShift: ss,
});

const cases: Array<[string, Case]> = [
  ['C=64, 32 groups, 8x8', { N: 2, C: 64, S: 64, spatial: [8, 8], G: 32 }],
  [
    'C=32, 32 groups (1 ch/group), 6x6, scale-shift + SiLU',
    { N: 2, C: 32, S: 36, spatial: [6, 6], G: 32, silu: true, ss: true },
  ],
  ['C=48, 16 groups (3 ch/group), [N,C,T] T=20, SiLU', { N: 1, C: 48, S: 20, spatial: [20], G: 16, silu: true }],
  [
    'C=64, 2 groups, 20x20: 12800 elements = 2 chunks (last partial), scale-shift',
    { N: 2, C: 64, S: 400, spatial: [20, 20], G: 2, ss: true, offset: 3 },
  ],
  [
    'C=16, 8 groups, 16x16, mean offset 50 sigma, SiLU',
    { N: 1, C: 16, S: 256, spatial: [16, 16], G: 8, silu: true, offset: 50 },
  ],
];

describe('groupNorm reference', () => {
  it('hyper-dual components match central differences (scale-shift + SiLU)', () => {
    const d: GroupNormDims = { N: 2, C: 8, S: 6 };
    const M = d.N * d.C * d.S;
    const o: GroupNormRefOptions = { groups: 4, silu: true, scaleShift: randomArray(2 * 2 * 8, 5, 0.5) };
    const gamma = randomArray(8, 6, 0.5).map((v) => 1 + v),
      beta = randomArray(8, 7, 0.3);
    const x = Float64Array.from(randomArray(M, 1, 1.5)),
      a = randomArray(M, 2),
      b = randomArray(M, 3),
      c = randomArray(M, 4);
    const f = (v: Float64Array) => groupNormRef(v, 1, d, gamma, beta, o);
    const jvp = (v: Float64Array, t: ArrayLike<number>) =>
      component(groupNormRef(stack(v, t), 2, d, gamma, beta, o), 2, 1);
    const y = groupNormRef(stack(x, a, b, c), 4, d, gamma, beta, o);
    expect(relErr(component(y, 4, 1), fdJvp(f, x, a))).toBeLessThan(1e-7);
    expect(relErr(component(y, 4, 2), fdJvp(f, x, b))).toBeLessThan(1e-7);
    const jc = fdJvp(f, x, c);
    expect(
      relErr(
        component(y, 4, 3),
        fdMixed(jvp, x, a, b).map((v, i) => v + jc[i]),
      ),
    ).toBeLessThan(1e-6);
  });

  it('backward equals the finite-difference gradient', () => {
    const d: GroupNormDims = { N: 1, C: 4, S: 3 };
    const o: GroupNormRefOptions = { groups: 2, silu: true, scaleShift: randomArray(8, 5, 0.5) };
    const gamma = randomArray(4, 6, 0.5).map((v) => 1 + v),
      beta = randomArray(4, 7, 0.3);
    const x = Float64Array.from(randomArray(12, 1, 1.5)),
      gy = randomArray(12, 2);
    const gx = groupNormBackwardRef(x, d, gamma, beta, gy, o);
    const fd = x.map((_, i) => {
      const ei = new Float64Array(12);
      ei[i] = 1;
      return dot(
        fdJvp((v) => groupNormRef(v, 1, d, gamma, beta, o), x, ei),
        gy,
      );
    });
    expect(relErr(gx, fd)).toBeLessThan(1e-8);
  });
});

describe('groupNorm GPU forward', () => {
  for (const [name, c] of cases) {
    for (const K of [1, 2, 4] as const) {
      it(`${name}, K=${K}`, async () => {
        const inp = inputs(c, K, 100 + K);
        const ref = groupNormRef(inp.x, K, c, inp.gamma, inp.beta, refOpts(c, inp.ss));
        await eachVariant(e, 'groupnorm', async (variant) => {
          const y = await e.read(run(c, K, inp, variant));
          const errs = Array.from({ length: K }, (_, k) => relErr(component(y, K, k), component(ref, K, k)));
          console.log(
            `groupNorm ${name} K=${K} ${variant}: rel err per component ${errs.map((v) => v.toExponential(1)).join(' ')}`,
          );
          const tol = (c.offset ?? 0) > 10 ? 2e-5 : undefined;
          expect(errs[0], variant).toBeLessThan(tol ?? 2e-6);
          for (let k = 1; k < K; k++) expect(errs[k], `${variant} component ${k}`).toBeLessThan(tol ?? 5e-6);
        });
      });
    }
  }

  it('a group of 262144 elements (128 ch / 32 groups at 256x256), mean offset 3', async () => {
    const c: Case = { N: 1, C: 128, S: 256 * 256, spatial: [256, 256], G: 32, offset: 3, silu: true };
    const inp = inputs(c, 1, 7);
    const t0 = performance.now();
    const y = await e.read(run(c, 1, inp));
    const ms = performance.now() - t0;
    // Groups are contiguous, so group g of image 0 is a GroupNorm of its own (C/G channels, 1 group):
    // check four of them against the reference (the full float64 reference takes seconds).
    const L = (c.C / c.G) * c.S,
      cpg = c.C / c.G;
    let err = 0;
    for (const g of [0, 9, 22, 31]) {
      const ref = groupNormRef(
        inp.x.subarray(g * L, (g + 1) * L),
        1,
        { N: 1, C: cpg, S: c.S },
        inp.gamma.subarray(g * cpg, (g + 1) * cpg),
        inp.beta.subarray(g * cpg, (g + 1) * cpg),
        { groups: 1, silu: true },
      );
      err = Math.max(err, relErr(y.subarray(g * L, (g + 1) * L), ref));
    }
    console.log(
      `groupNorm 1x128x256x256 (262144/group): rel err ${err.toExponential(1)}, ${ms.toFixed(0)} ms incl. upload/read`,
    );
    expect(err).toBeLessThan(1e-5);
  });
});

describe('groupNorm GPU backward', () => {
  for (const [name, c] of cases) {
    it(`${name}: matches the reference; <J a, gy> = <a, Jᵀ gy> with the GPU JVP`, async () => {
      const inp = inputs(c, 1, 300);
      const M = c.N * c.C * c.S;
      const gy = randomArray(M, 301);
      const ss = inp.ss ? e.upload(inp.ss, [c.N, 2 * c.C]) : undefined;
      const [tg, tb] = [e.upload(inp.gamma, [c.C]), e.upload(inp.beta, [c.C])];
      const ref = groupNormBackwardRef(inp.x, c, inp.gamma, inp.beta, gy, refOpts(c, inp.ss));
      await eachVariant(e, 'groupnorm', async (variant) => {
        const opts: GroupNormOptions = { groups: c.G, silu: c.silu, scaleShift: ss, variant };
        const gx = await e.read(
          groupNormBackward(
            e,
            e.upload(inp.x, [c.N, c.C, ...c.spatial]),
            tg,
            tb,
            e.upload(gy, [c.N, c.C, ...c.spatial]),
            opts,
          ),
        );
        const err = relErr(gx, ref);
        // adjoint identity, GPU against GPU: tangent of the K=2 forward vs the VJP
        const a = randomArray(M, 302);
        const xa = new Float32Array(2 * M);
        xa.set(inp.x);
        xa.set(a, M);
        const ja = component(
          await e.read(groupNorm(e, e.upload(xa, [2 * c.N, c.C, ...c.spatial]), tg, tb, { ...opts, K: 2 })),
          2,
          1,
        );
        const lhs = dot(ja, gy),
          rhs = dot(a, gx);
        const scale = Math.sqrt(dot(ja, ja) * dot(gy, gy));
        console.log(
          `groupNormBackward ${name} ${variant}: rel err ${err.toExponential(1)}, adjoint gap ${(Math.abs(lhs - rhs) / scale).toExponential(1)}`,
        );
        expect(err).toBeLessThan((c.offset ?? 0) > 10 ? 2e-5 : 5e-6);
        expect(Math.abs(lhs - rhs) / scale).toBeLessThan(1e-5);
      });
    });
  }
});

describe('groupNorm input checks', () => {
  it('names the problem', () => {
    const g = e.tensor([64]);
    expect(() => groupNorm(e, e.tensor([2, 64, 4, 4]), g, g, { groups: 48 })).toThrow(/not divisible into 48 groups/);
    expect(() => groupNorm(e, e.tensor([3, 64, 4, 4]), g, g, { K: 2 })).toThrow(/multiple of K=2/);
    expect(() => groupNorm(e, e.tensor([2, 32, 4, 4]), g, g)).toThrow(/gamma/);
    expect(() => groupNorm(e, e.tensor([4, 64, 4, 4]), g, g, { K: 2, scaleShift: e.tensor([4, 128]) })).toThrow(
      /scaleShift/,
    );
    expect(() => groupNormBackward(e, e.tensor([2, 64, 4, 4]), g, g, e.tensor([2, 64, 16]))).toThrow(/gy/);
  });
});
