import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/index.js';
import { linear, linearBackwardInput } from '../src/engine/ops/linear.js';
import { eachVariant, getTestEngine, randomArray, relMaxErr } from './helpers.js';
import { dot64, linearBackwardInputRef, linearRef } from './reference/conv.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

// Sums of K <= 512 f32 products: rounding ~sqrt(K) * 2^-24 * sum|w x| (worst case K * 2^-24 = 3e-5);
// measured < 1e-6 relative to max|ref|, 1e-5 leaves a 10x margin.
const TOL = 1e-5;

const cases = [
  { name: 'odd sizes', n: 3, cin: 20, cout: 13, bias: true },
  { name: 'more rows than one workgroup holds', n: 10, cin: 32, cout: 24, bias: true, biasBatches: 4 },
  { name: 'SiLU on load (emb_layers)', n: 4, cin: 64, cout: 40, bias: true, silu: true },
  { name: 'time embedding 128 -> 512', n: 2, cin: 128, cout: 512, bias: true, silu: false },
  {
    name: 'emb_layers 512 -> 256, biasBatches 2 of 8',
    n: 8,
    cin: 512,
    cout: 256,
    bias: true,
    biasBatches: 2,
    silu: true,
  },
  { name: 'no bias, one row', n: 1, cin: 7, cout: 5, bias: false },
];

describe('linear vs float64 reference', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const xa = randomArray(c.n * c.cin, 41, 3);
      const wa = randomArray(c.cout * c.cin, 42, 1 / Math.sqrt(c.cin));
      const ba = c.bias ? randomArray(c.cout, 43) : null;
      const ref = linearRef(xa, c.n, wa, c.cout, c.cin, ba, { biasBatches: c.biasBatches, siluInput: c.silu });
      const x = e.upload(xa, [c.n, c.cin]),
        w = e.upload(wa, [c.cout, c.cin]),
        b = ba ? e.upload(ba, [c.cout]) : null;
      await eachVariant(e, 'linear', async (variant) => {
        const y = linear(e, x, w, b, { biasBatches: c.biasBatches, siluInput: c.silu, variant });
        expect(y.shape).toEqual([c.n, c.cout]);
        const err = relMaxErr(await e.read(y), ref);
        expect(err, `${variant}: rel err ${err}`).toBeLessThan(TOL);
        e.release(y);
      });
      e.release(x, w, b);
    });
  }
});

describe('linearBackwardInput vs float64 reference and the adjoint identity', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const xa = randomArray(c.n * c.cin, 51),
        wa = randomArray(c.cout * c.cin, 52, 1 / Math.sqrt(c.cin)),
        ga = randomArray(c.n * c.cout, 53);
      const ref = linearBackwardInputRef(ga, c.n, wa, c.cout, c.cin);
      const x = e.upload(xa, [c.n, c.cin]),
        w = e.upload(wa, [c.cout, c.cin]),
        gy = e.upload(ga, [c.n, c.cout]);
      await eachVariant(e, 'linear', async (variant) => {
        const gx = linearBackwardInput(e, gy, w, { variant });
        expect(gx.shape).toEqual([c.n, c.cin]);
        const gxa = await e.read(gx);
        expect(relMaxErr(gxa, ref)).toBeLessThan(TOL);
        const y = linear(e, x, w, null, { variant });
        const lhs = dot64(await e.read(y), ga),
          rhs = dot64(xa, gxa);
        expect(Math.abs(lhs - rhs) / Math.sqrt(dot64(xa, xa) * dot64(ga, ga))).toBeLessThan(TOL);
        e.release(gx, y);
      });
      e.release(x, w, gy);
    });
  }

  it('float64 reference VJP matches central finite differences (with SiLU: chain rule)', () => {
    const n = 3,
      cin = 6,
      cout = 4;
    const xa = randomArray(n * cin, 61),
      wa = randomArray(cout * cin, 62),
      v = randomArray(n * cin, 63),
      ga = randomArray(n * cout, 64);
    const f = (t: number) =>
      dot64(
        linearRef(
          Float64Array.from(xa, (xi, i) => xi + t * v[i]),
          n,
          wa,
          cout,
          cin,
          null,
        ),
        ga,
      );
    const h = 1e-3;
    const an = dot64(linearBackwardInputRef(ga, n, wa, cout, cin), v);
    expect(Math.abs((f(h) - f(-h)) / (2 * h) - an)).toBeLessThan(1e-9 * Math.max(1, Math.abs(an)));
  });
});

describe('linear input checks', () => {
  it('names the problem', () => {
    const w = e.tensor([8, 16]);
    expect(() => linear(e, e.tensor([2, 15]), w, null)).toThrow(/input must be \[N, 16\]/);
    expect(() => linear(e, e.tensor([2, 16]), w, e.tensor([9]))).toThrow(/bias: expected shape \[8\]/);
    expect(() => linearBackwardInput(e, e.tensor([2, 9]), w)).toThrow(/gy must be \[N, 8\]/);
  });
});
