import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/index.js';
import { conv2d, conv2dBackwardInput, splitK } from '../src/engine/ops/conv2d.js';
import { eachVariant, getTestEngine, randomArray, relMaxErr } from './helpers.js';
import { conv2dBackwardInputRef, conv2dRef, dot64 } from './reference/conv.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

// Tolerance, relative to max|ref|: each output is a sum of K = Cin*k*k f32 products (K <= 576 here),
// accumulated in f32 in a fixed order. The rounding error of such a sum is at most ~K * 2^-24 times
// sum|w x| (worst case 3.4e-5 for K = 576); for random data it behaves like sqrt(K) * 2^-24 * sum|w x|
// and sum|w x| stays within a few times max|y|, giving ~1e-6. Measured: <= 1e-6 (see the reports
// printed below); 1e-5 leaves a 10x margin yet catches any indexing error (those are O(1)).
const TOL = 1e-5;

interface Case {
  name: string;
  x: [number, number, number, number];
  cout: number;
  k: 1 | 3;
  stride?: 1 | 2;
  bias?: boolean;
  biasBatches?: number;
  residual?: boolean;
}

const cases: Case[] = [
  { name: 'input conv Cin=3 -> Cout=6', x: [2, 3, 8, 8], cout: 6, k: 3, bias: true },
  { name: 'odd spatial 7x5', x: [1, 4, 7, 5], cout: 5, k: 3, bias: true },
  { name: 'stride 2 (Downsample)', x: [2, 8, 16, 16], cout: 16, k: 3, stride: 2, bias: true },
  { name: 'stride 2, odd 7x5', x: [3, 8, 7, 5], cout: 6, k: 3, stride: 2, bias: true },
  { name: 'wide rows (groups start mid-row)', x: [1, 8, 3, 64], cout: 8, k: 3, bias: true },
  { name: 'stride 2, wide rows', x: [1, 8, 4, 128], cout: 8, k: 3, stride: 2 },
  { name: '1x1 skip', x: [2, 16, 4, 4], cout: 24, k: 1, bias: true },
  { name: '1x1 odd pixel count', x: [1, 12, 5, 3], cout: 6, k: 1, bias: true },
  { name: 'attention conv1d as [N,C,T,1]', x: [2, 32, 16, 1], cout: 96, k: 1, bias: true },
  { name: 'biasBatches < N + residual', x: [4, 16, 8, 8], cout: 16, k: 3, bias: true, biasBatches: 2, residual: true },
  // portable variant: one output tile, K = 576 -> 8 splits of K (splitK) and the split-K reduce epilogue
  { name: 'split-K: 4x4 pixels, K=576, residual', x: [1, 64, 4, 4], cout: 24, k: 3, bias: true, residual: true },
  { name: '1x1 biasBatches + residual', x: [4, 8, 4, 8], cout: 8, k: 1, bias: true, biasBatches: 1, residual: true },
  { name: 'K = 576', x: [1, 64, 8, 8], cout: 32, k: 3, bias: true },
];

function outShape(c: Case): number[] {
  const [n, , h, w] = c.x;
  const s = c.stride ?? 1,
    p = (c.k - 1) / 2;
  return [n, c.cout, Math.floor((h + 2 * p - c.k) / s) + 1, Math.floor((w + 2 * p - c.k) / s) + 1];
}

describe('conv2d forward vs float64 reference', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const [n, cin, h, w] = c.x;
      const xa = randomArray(n * cin * h * w, 11);
      const wa = randomArray(c.cout * cin * c.k * c.k, 12, 1 / Math.sqrt(cin * c.k * c.k));
      const ba = c.bias ? randomArray(c.cout, 13) : null;
      const ys = outShape(c);
      const ra = c.residual
        ? randomArray(
            ys.reduce((a, b) => a * b),
            14,
          )
        : undefined;
      const ref = conv2dRef(xa, c.x, wa, [c.cout, cin, c.k, c.k], ba, {
        stride: c.stride,
        biasBatches: c.biasBatches,
        residual: ra,
      });
      expect(ref.shape).toEqual(ys);
      const x = e.upload(xa, c.x),
        wt = e.upload(wa, [c.cout, cin, c.k, c.k]);
      const b = ba ? e.upload(ba, [c.cout]) : null;
      const r = ra ? e.upload(new Float32Array(ra), ys) : undefined;
      await eachVariant(e, 'conv2d', async (variant) => {
        const y = conv2d(e, x, wt, b, { stride: c.stride, biasBatches: c.biasBatches, residual: r, variant });
        expect(y.shape).toEqual(ys);
        const err = relMaxErr(await e.read(y), ref.y);
        expect(err, `${variant}: rel err ${err}`).toBeLessThan(TOL);
        e.release(y);
      });
      e.release(x, wt, b, r);
    });
  }
});

describe('conv2dBackwardInput (VJP) vs float64 transposed conv and the adjoint identity', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const [n, cin, h, w] = c.x;
      const ys = outShape(c);
      const xa = randomArray(n * cin * h * w, 21);
      const wa = randomArray(c.cout * cin * c.k * c.k, 22, 1 / Math.sqrt(cin * c.k * c.k));
      const ga = randomArray(
        ys.reduce((a, b) => a * b),
        23,
      );
      const ra = c.residual ? randomArray(xa.length, 24) : undefined;
      const ref = conv2dBackwardInputRef(ga, wa, [c.cout, cin, c.k, c.k], c.x, { stride: c.stride, residual: ra });
      const x = e.upload(xa, c.x),
        wt = e.upload(wa, [c.cout, cin, c.k, c.k]),
        gy = e.upload(ga, ys);
      const r = ra ? e.upload(new Float32Array(ra), c.x) : undefined;
      await eachVariant(e, 'conv2d', async (variant) => {
        const gx = conv2dBackwardInput(e, gy, wt, c.x, { stride: c.stride, residual: r, variant });
        expect(gx.shape).toEqual(c.x);
        const gxa = await e.read(gx);
        const err = relMaxErr(gxa, ref);
        expect(err, `${variant}: rel err ${err}`).toBeLessThan(TOL);
        if (!r) {
          // <conv(x), gy> = <x, convᵀ(gy)>, both sides from GPU results, summed in float64
          const y = conv2d(e, x, wt, null, { stride: c.stride, variant });
          const lhs = dot64(await e.read(y), ga);
          const rhs = dot64(xa, gxa);
          const scale = Math.sqrt(dot64(ga, ga) * dot64(xa, xa));
          expect(Math.abs(lhs - rhs) / scale, `${variant}: adjoint ${lhs} vs ${rhs}`).toBeLessThan(TOL);
          e.release(y);
        }
        e.release(gx);
      });
      e.release(x, wt, gy, r);
    });
  }
});

describe('split-K factor of the portable conv', () => {
  it('splits small grids with long K to >= 256 workgroups, keeping >= 4 K-steps per split', () => {
    expect(splitK(32, 512 * 9)).toBe(8); // FFHQ 8x8 level: 2 pixel tiles x 16 channel tiles
    expect(splitK(128, 256 * 9)).toBe(2); // FFHQ 16x16 level
    expect(splitK(32, 512)).toBe(8); // 1x1 attention projection at 8x8
    expect(splitK(1, 576)).toBe(8); // ksteps 36: 16 splits would leave 2 steps each
    expect(splitK(8192, 128 * 9)).toBe(1);
    expect(splitK(32, 27)).toBe(1); // input conv: K too short
  });
});

describe('float64 reference VJP vs central finite differences', () => {
  it('d<gy, conv(x + h v)>/dh = <convᵀ(gy), v> (stride 1 and 2)', () => {
    for (const stride of [1, 2]) {
      const xs = [2, 3, 6, 5],
        ws = [4, 3, 3, 3];
      const xa = randomArray(180, 31),
        wa = randomArray(108, 32),
        v = randomArray(180, 33);
      const ys = conv2dRef(xa, xs, wa, ws, null, { stride }).shape;
      const ga = randomArray(
        ys.reduce((a, b) => a * b),
        34,
      );
      const f = (t: number) =>
        dot64(
          conv2dRef(
            Float64Array.from(xa, (xi, i) => xi + t * v[i]),
            xs,
            wa,
            ws,
            null,
            { stride },
          ).y,
          ga,
        );
      const hstep = 1e-3;
      const fd = (f(hstep) - f(-hstep)) / (2 * hstep);
      const an = dot64(conv2dBackwardInputRef(ga, wa, ws, xs, { stride }), v);
      expect(Math.abs(fd - an)).toBeLessThan(1e-9 * Math.max(1, Math.abs(an)));
    }
  });
});

describe('conv2d input checks', () => {
  it('names the problem', () => {
    const x = e.tensor([1, 4, 8, 8]),
      w = e.tensor([8, 3, 3, 3]),
      w5 = e.tensor([8, 4, 5, 5]);
    expect(() => conv2d(e, x, w, null)).toThrow(/4 channels but the weight \[8,3,3,3\] expects 3/);
    expect(() => conv2d(e, x, w5, null)).toThrow(/1x1 or 3x3/);
    const w4 = e.tensor([8, 4, 3, 3]);
    expect(() => conv2d(e, x, w4, e.tensor([7]))).toThrow(/bias: expected shape \[8\]/);
    expect(() => conv2d(e, x, w4, null, { residual: e.tensor([1, 8, 4, 4]) })).toThrow(/residual/);
    expect(() => conv2dBackwardInput(e, e.tensor([1, 8, 8, 8]), w4, [1, 4, 8, 8], { stride: 2 })).toThrow(
      /gy must be \[1,8,4,4\]/,
    );
    if (e.adapter.variants('conv2d').includes('simd'))
      expect(() => conv2d(e, e.tensor([1, 4, 7, 5]), w4, null, { variant: 'simd' })).toThrow(/does not cover/);
    else expect(() => conv2d(e, x, w4, null, { variant: 'simd' })).toThrow(/needs a CPU SIMD adapter/);
  });
});
