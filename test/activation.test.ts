import { shaderSource } from '../src/engine/shaders.js';
// SiLU forward (K = 1, 2, 4 stacked components) and VJP vs float64 references; references vs finite
// differences. Tolerances: the kernel does a handful of f32 operations per element, so the GPU agrees
// with float64 to a few ulps: 1e-6 of the largest value (tangents included: f', f'' are O(1) here).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { silu, siluBackward } from '../src/engine/ops/activation.js';
// their kernel declarations generate the shaders' interfaces
import '../src/engine/ops/attention.js';
import '../src/engine/ops/groupnorm.js';
import { getTestEngine, randomArray } from './helpers.js';
import { component, dot, fdJvp, fdMixed, relErr, siluBackwardRef, siluRef, stack } from './reference/nonlinear.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

describe('silu', () => {
  it('reference: dual/hyper-dual components match central differences', () => {
    const n = 200;
    const x = Float64Array.from(randomArray(n, 1, 6)),
      a = randomArray(n, 2),
      b = randomArray(n, 3),
      c = randomArray(n, 4);
    const f = (v: Float64Array) => siluRef(v);
    const jvp = (v: Float64Array, d: ArrayLike<number>) => component(siluRef(stack(v, d), 2), 2, 1);
    const y = siluRef(stack(x, a, b, c), 4);
    expect(relErr(component(y, 4, 1), fdJvp(f, x, a))).toBeLessThan(1e-8);
    expect(relErr(component(y, 4, 2), fdJvp(f, x, b))).toBeLessThan(1e-8);
    const d2 = fdMixed(jvp, x, a, b).map((v, i) => v + fdJvp(f, x, c)[i]);
    expect(relErr(component(y, 4, 3), d2)).toBeLessThan(1e-7);
  });

  for (const K of [1, 2, 4] as const) {
    it(`K=${K} matches the hyper-dual reference to 1e-6`, async () => {
      const N = 3,
        M = N * 5 * 7 * 11;
      const x = randomArray(K * M, 10 + K, 4);
      x[0] = 60;
      x[1] = -60;
      x[2] = -100; // saturated sigmoid: no NaN/Inf
      const y = await e.read(silu(e, e.upload(x, [K * N, 5, 7, 11]), K));
      const ref = siluRef(x, K);
      for (let k = 0; k < K; k++) {
        const err = relErr(component(y, K, k), component(ref, K, k));
        expect(err, `component ${k}`).toBeLessThan(1e-6);
      }
    });
  }

  it('backward matches the reference; adjoint identity <J a, gy> = <a, Jᵀ gy> with the GPU JVP', async () => {
    const n = 4099;
    const x = randomArray(n, 21, 5),
      a = randomArray(n, 22),
      gy = randomArray(n, 23);
    const gx = await e.read(siluBackward(e, e.upload(x, [n]), e.upload(gy, [n])));
    expect(relErr(gx, siluBackwardRef(x, gy))).toBeLessThan(1e-6);
    expect(
      relErr(
        siluBackwardRef(x, gy),
        fdJvp((v) => siluRef(v), x, gy),
      ),
    ).toBeLessThan(1e-8); // diagonal Jacobian
    const ja = component(await e.read(silu(e, e.upload(Float32Array.from(stack(x, a)), [2 * n]), 2)), 2, 1);
    const lhs = dot(ja, gy),
      rhs = dot(a, gx);
    expect(Math.abs(lhs - rhs) / (Math.abs(lhs) + 1)).toBeLessThan(1e-5);
  });

  it('rejects a batch that is not a multiple of K and mismatched gy', () => {
    expect(() => silu(e, e.tensor([3, 4]), 2)).toThrow(/multiple of K=2/);
    expect(() => siluBackward(e, e.tensor([3, 4]), e.tensor([4, 3]))).toThrow(/gy/);
  });

  it('the nonlinear kernels share one hyper-dual helper file through //#include', () => {
    for (const f of ['activation', 'attention', 'attention-sg', 'groupnorm']) {
      const raw = readFileSync(new URL(`../shaders/${f}.wgsl`, import.meta.url), 'utf8');
      expect(raw, f).toContain('//#include hyperdual');
      expect(shaderSource(f), f).toContain('fn hd_mul(');
      expect(shaderSource(f), f).not.toContain('#include');
    }
  });
});
