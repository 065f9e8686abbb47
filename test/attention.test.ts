// QKVAttentionLegacy forward for K = 1, 2, 4 stacked components and its VJP against the float64
// hyper-dual reference; the reference itself against central finite differences.
//
// Tolerances (max |gpu - ref| / max |ref| per component), measured errors in brackets (lavapipe):
//  - forward 2e-6 primal, 5e-6 tangents: logits are ch-term f32 dot products (~1e-7 relative), softmax
//    and the T-term weighted sums add a few ulps more; tangents sum more product terms.
//  - backward 5e-6: gq, gk are T-term sums of w (gw - D), where gw - D cancels mildly.
//  - adjoint identity <J a, gy> = <a, Jᵀ gy> between GPU JVP (K=2) and GPU VJP to 1e-5 of |J a| |gy|.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { attention, attentionBackward } from '../src/engine/ops/attention.js';
import { eachVariant, getTestEngine, randomArray } from './helpers.js';
import {
  attentionBackwardRef,
  attentionRef,
  component,
  dot,
  fdJvp,
  fdMixed,
  relErr,
  stack,
  type AttentionDims,
} from './reference/nonlinear.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

const size = (d: AttentionDims) => d.N * 3 * d.heads * d.ch * d.T;
const shape = (d: AttentionDims, K: number) => [K * d.N, 3 * d.heads * d.ch, d.T];

// qkv entries of size 2 give logits of O(1..10): a softmax far from uniform, as in a trained model.
const cases: Array<[string, AttentionDims]> = [
  ['adm-tiny-like: N=2, 4 heads x 16 ch, T=16', { N: 2, heads: 4, ch: 16, T: 16 }],
  ['N=1, 2 heads x 8 ch, T=64', { N: 1, heads: 2, ch: 8, T: 64 }],
  ['N=2, 1 head x 4 ch, T=20 (partial row block)', { N: 2, heads: 1, ch: 4, T: 20 }],
];

describe('attention reference', () => {
  const d: AttentionDims = { N: 1, heads: 2, ch: 3, T: 5 };
  const n = size(d);
  const x = Float64Array.from(randomArray(n, 1, 2)),
    a = randomArray(n, 2),
    b = randomArray(n, 3),
    c = randomArray(n, 4);
  const f = (v: Float64Array) => attentionRef(v, 1, d);

  it('hyper-dual components match central differences', () => {
    const jvp = (v: Float64Array, t: ArrayLike<number>) => component(attentionRef(stack(v, t), 2, d), 2, 1);
    const y = attentionRef(stack(x, a, b, c), 4, d);
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
    const gy = randomArray(n / 3, 5);
    const gx = attentionBackwardRef(x, d, gy);
    const fd = x.map((_, i) => {
      const ei = new Float64Array(n);
      ei[i] = 1;
      return dot(fdJvp(f, x, ei), gy);
    });
    expect(relErr(gx, fd)).toBeLessThan(1e-8);
  });
});

describe('attention GPU forward', () => {
  for (const [name, d] of cases) {
    for (const K of [1, 2, 4] as const) {
      it(`${name}, K=${K}`, async () => {
        const x = randomArray(K * size(d), 10 + K, 2);
        const ref = attentionRef(x, K, d);
        await eachVariant(e, 'attention', async (variant) => {
          const y = await e.read(attention(e, e.upload(x, shape(d, K)), d.heads, K, variant));
          const errs = Array.from({ length: K }, (_, k) => relErr(component(y, K, k), component(ref, K, k)));
          console.log(
            `attention ${name} K=${K} ${variant}: rel err per component ${errs.map((v) => v.toExponential(1)).join(' ')}`,
          );
          expect(errs[0], variant).toBeLessThan(2e-6);
          for (let k = 1; k < K; k++) expect(errs[k], `${variant} component ${k}`).toBeLessThan(5e-6);
        });
      });
    }
  }

  for (const K of [1, 4] as const) {
    it(`T = 1024 (the longest supported), K=${K}`, async () => {
      const d: AttentionDims = { N: 1, heads: 1, ch: 2, T: 1024 };
      const x = randomArray(K * size(d), 3, 1.5);
      const t0 = performance.now();
      const y = await e.read(attention(e, e.upload(x, shape(d, K)), 1, K));
      const ms = performance.now() - t0;
      const ref = attentionRef(x, K, d);
      const errs = Array.from({ length: K }, (_, k) => relErr(component(y, K, k), component(ref, K, k)));
      console.log(
        `attention T=1024 K=${K}: rel err ${errs.map((v) => v.toExponential(1)).join(' ')}, ${ms.toFixed(0)} ms incl. compile/upload/read`,
      );
      expect(errs[0]).toBeLessThan(2e-6);
      for (let k = 1; k < K; k++) expect(errs[k], `component ${k}`).toBeLessThan(5e-6);
    });
  }
});

describe('attention GPU backward', () => {
  for (const [name, d] of cases) {
    it(`${name}: matches the reference; <J a, gy> = <a, Jᵀ gy> with the GPU JVP`, async () => {
      const n = size(d);
      const x = randomArray(n, 20, 2),
        gy = randomArray(n / 3, 21),
        a = randomArray(n, 22);
      const ref = attentionBackwardRef(x, d, gy);
      const xa = new Float32Array(2 * n);
      xa.set(x);
      xa.set(a, n);
      await eachVariant(e, 'attention', async (variant) => {
        const gx = await e.read(
          attentionBackward(e, e.upload(x, shape(d, 1)), d.heads, e.upload(gy, [d.N, d.heads * d.ch, d.T]), variant),
        );
        const err = relErr(gx, ref);
        const ja = component(await e.read(attention(e, e.upload(xa, shape(d, 2)), d.heads, 2, variant)), 2, 1);
        const lhs = dot(ja, gy),
          rhs = dot(a, gx);
        const gap = Math.abs(lhs - rhs) / Math.sqrt(dot(ja, ja) * dot(gy, gy));
        console.log(
          `attentionBackward ${name} ${variant}: rel err ${err.toExponential(1)}, adjoint gap ${gap.toExponential(1)}`,
        );
        expect(err, variant).toBeLessThan(5e-6);
        expect(gap, variant).toBeLessThan(1e-5);
      });
    });
  }
});

describe('attention input checks', () => {
  it('names the problem', () => {
    expect(() => attention(e, e.tensor([2, 48, 16]), 5)).toThrow(/not divisible by 3 \* heads/);
    expect(() => attention(e, e.tensor([3, 48, 16]), 1, 2)).toThrow(/multiple of K=2/);
    expect(() => attention(e, e.tensor([1, 12, 1025]), 1)).toThrow(/T = 1025 exceeds/);
    expect(() => attention(e, e.tensor([48, 16]), 1)).toThrow(/\[K\*N, 3\*C, T\]/);
    expect(() => attentionBackward(e, e.tensor([1, 48, 16]), 2, e.tensor([1, 48, 16]))).toThrow(/gy/);
  });
});
