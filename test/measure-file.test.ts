// Measurement masks: the layouts a measurement file may store them in (ours [1, 1, H, W], the DPS
// repository's [N, C, H, W]) and per-channel masks, through the inpainting operator and its SVD.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { maskPlane } from '../src/cli/measure-file.ts';
import { InpaintOperator } from '../src/operators/masks.js';
import { getTestEngine, randomArray } from './helpers.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

const [C, H, W] = [3, 4, 5];
const plane = Float32Array.from({ length: H * W }, (_, i) => (i % 3 === 0 ? 0 : 1));
const perChannel = Float32Array.from({ length: C * H * W }, (_, i) => ((i * 7) % 11 < 4 ? 0 : 1));
const t = (shape: number[], data: Float32Array) => ({ shape, data });

describe('maskPlane', () => {
  it('accepts [H, W], [1, 1, H, W] and the DPS layout [N, C, H, W] with equal channels as one plane', () => {
    expect(maskPlane('m', t([H, W], plane), [C, H, W])).toEqual(plane);
    expect(maskPlane('m', t([1, 1, H, W], plane), [C, H, W])).toEqual(plane);
    const nchw = new Float32Array(2 * C * H * W);
    for (let k = 0; k < 2 * C; k++) nchw.set(plane, k * H * W);
    expect(maskPlane('m', t([2, C, H, W], nchw), [C, H, W])).toEqual(plane);
  });

  it('keeps a per-channel mask whole, and refuses what one operator cannot apply', () => {
    expect(maskPlane('m', t([1, C, H, W], perChannel), [C, H, W])).toEqual(perChannel);
    const two = new Float32Array(2 * C * H * W);
    two.set(perChannel);
    two.set(
      perChannel.map((v) => 1 - v),
      C * H * W,
    );
    expect(() => maskPlane('m.st', t([2, C, H, W], two), [C, H, W])).toThrow(/^m\.st: the mask differs between images/);
    expect(() => maskPlane('m.st', t([1, 1, H, W + 1], new Float32Array(H * (W + 1))), [C, H, W])).toThrow(
      /4×6, the model's images are 4×5/,
    );
    expect(() => maskPlane('m.st', t([1, 2, H, W], new Float32Array(2 * H * W)), [C, H, W])).toThrow(/2 channels/);
    expect(() => maskPlane('m.st', t([H * W], plane), [C, H, W])).toThrow(/expected \[H, W\]/);
  });
});

describe('a per-channel mask in the inpainting operator', () => {
  it('multiplies each channel by its own mask (every image); the SVD keeps exactly the observed entries', async () => {
    const N = 2;
    const op = new InpaintOperator(e, [N, C, H, W], perChannel);
    const x = randomArray(N * C * H * W, 5);
    const xt = e.upload(x, [N, C, H, W]);
    const y = await e.read(op.forward(xt));
    for (let i = 0; i < y.length; i++) expect(y[i]).toBe(x[i] * perChannel[i % (C * H * W)]);
    const svd = op.svd;
    expect(svd.rank).toBe(perChannel.reduce((a, b) => a + b, 0));
    // V Vᵀ = I, and Uᵀ(A x) is Vᵀx's first `rank` (observed) entries
    const vt = await e.read(svd.vt(xt));
    const back = await e.read(svd.v(e.upload(vt, [N, C * H * W])));
    expect(Array.from(back)).toEqual(Array.from(x));
    const uty = await e.read(svd.ut(op.forward(xt)));
    for (let n = 0; n < N; n++)
      for (let j = 0; j < svd.rank; j++) expect(uty[n * svd.rank + j]).toBe(vt[n * C * H * W + j]);
    op.destroy();
  });
});
