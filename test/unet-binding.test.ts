// Any size within the binding limit: with the storage binding limit forced below the size of an output
// block's torch.cat([h, skip]), the hyper-dual pass still runs, because the UNet feeds h and skip to the
// block separately (UNet.concatFree), and it agrees with the pass that materializes the concatenation.
// (adm-tiny, with both kinds of output blocks, is checked against PyTorch in unet.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/index.js';
import { UNet, parseModelConfig, randomUNetWeights } from '../src/unet/index.js';
import { getTestEngine, randomArray, relMaxErr } from './helpers.js';

// A small UNet shaped like the FFHQ-256 one at its top level (there the 256x256 concat of 128 + 128 channels
// is twice any other activation): 16x16, 32 channels at both levels, attention at 8x8, scale-shift norm,
// ResBlock up/down, random weights. At batch 2, K = 4 the 16x16 concat is [8, 64, 16, 16] = 512 KiB, every
// other activation at most [8, 32, 16, 16] = 256 KiB.
const config = parseModelConfig({
  image_size: 16,
  num_channels: 32,
  num_res_blocks: 1,
  channel_mult: '1,1',
  learn_sigma: true,
  attention_resolutions: '8',
  num_heads: 2,
  use_scale_shift_norm: true,
  resblock_updown: true,
});
const LIMIT = 384 * 1024;

let big: Engine, small: Engine;
let netBig: UNet, netSmall: UNet;
beforeAll(async () => {
  big = await getTestEngine();
  small = await Engine.create({ gpu: big.gpu, maxStorageBinding: LIMIT });
  netBig = new UNet(big, randomUNetWeights(big, config, 7));
  netSmall = new UNet(small, randomUNetWeights(small, config, 7));
});
afterAll(async () => {
  await small.sync().catch(() => {});
  // the device is shared with the test engine, which destroys it
});

describe('UNet under a low storage binding limit', () => {
  it('the hyper-dual pass needs the concat-free output blocks, and matches the materialized concatenation', async () => {
    const shape = [2, 3, 16, 16];
    const n = 2 * 3 * 16 * 16;
    const [x, w, v] = [1, 2, 3].map((s) => randomArray(n, s));
    const t = [400, 900];
    const ref = netBig;
    ref.concatFree = false;
    const r = ref.d2(big.upload(x, shape), t, big.upload(w, shape), big.upload(v, shape));
    const want = await Promise.all([r.out, r.dw, r.dv, r.d2].map((a) => big.read(a)));

    const up = (a: Float32Array) => small.upload(a, shape);
    netSmall.concatFree = false;
    expect(() => netSmall.d2(up(x), t, up(w), up(v))).toThrow(/buffer limit exceeded/);
    netSmall.concatFree = true;
    small.pool.resetPeak();
    const base = small.pool.bytesInUse;
    const s = netSmall.d2(up(x), t, up(w), up(v));
    const got = await Promise.all([s.out, s.dw, s.dv, s.d2].map((a) => small.read(a)));
    const errs = got.map((g, k) => relMaxErr(g, want[k]));
    console.log(
      `d2 concat-free under a ${LIMIT / 2 ** 20} MiB binding limit vs materialized concat: rel err ${errs.map((e) => e.toExponential(1)).join(' ')}, ` +
        `peak ${((small.pool.peakBytesInUse - base) / 2 ** 20).toFixed(1)} MiB`,
    );
    // the split sums each conv in two parts (f32 rounding in another order): measured <= 1.6e-6; 1e-5
    // leaves a 6x margin and still catches any indexing error (those are O(1))
    for (const e of errs) expect(e).toBeLessThan(1e-5);
  });

  it('VJP: concat-free equals the materialized concatenation', async () => {
    const shape = [2, 3, 16, 16];
    const x = randomArray(2 * 3 * 16 * 16, 4),
      u = randomArray(2 * 6 * 16 * 16, 5);
    netBig.concatFree = false;
    const a = netBig.vjp(big.upload(x, shape), [10, 700], big.upload(u, [2, 6, 16, 16]));
    netBig.concatFree = true;
    const b = netBig.vjp(big.upload(x, shape), [10, 700], big.upload(u, [2, 6, 16, 16]));
    expect(relMaxErr(await big.read(b.out), await big.read(a.out))).toBeLessThan(1e-5);
    expect(relMaxErr(await big.read(b.grad), await big.read(a.grad))).toBeLessThan(1e-5);
  });
});
