// Small computations the browser test runs in the page and repeats on Node (test/browser.test.ts): the same
// src/ code on both sides, so any difference comes from the WebGPU implementation underneath (Chromium's
// Dawn on SwiftShader vs Node's Dawn on lavapipe), never from a second implementation.
import type { Engine } from '../src/engine/index.ts';
import type { UNet } from '../src/unet/index.ts';
import { randn, randRademacher, randUniform } from '../src/engine/ops/random.ts';
import { affineClamp, lincomb, rowDot, rowSumSq } from '../src/engine/ops/vector.ts';

export interface VectorProbeInput {
  x: number[];
  y: number[];
  rows: number;
  a: number;
  b: number;
  seed: number;
}

export interface VectorProbeOutput {
  lincomb: number[];
  clamp: number[];
  sumsq: number[];
  dot: number[];
  randn: number[];
  uniform: number[];
  rademacher: number[];
}

/** lincomb, affine clamp, per-row reductions and seeded normal draws on `engine`. */
export async function vectorProbe(e: Engine, p: VectorProbeInput): Promise<VectorProbeOutput> {
  if (p.x.length !== p.y.length || p.x.length % p.rows)
    throw new Error(`vectorProbe: x, y must have equal length divisible by rows`);
  const shape = [p.rows, p.x.length / p.rows];
  const x = e.upload(Float32Array.from(p.x), shape, 'probe.x');
  const y = e.upload(Float32Array.from(p.y), shape, 'probe.y');
  const lc = lincomb(e, p.a, x, p.b, y);
  const cl = affineClamp(e, x, p.a, p.b, -0.5, 0.5);
  const ss = rowSumSq(e, x, p.rows);
  const dt = rowDot(e, x, y, p.rows);
  const rn = randn(e, shape, p.seed, 3);
  const ru = randUniform(e, shape, p.seed, 4, -2, 2);
  const rr = randRademacher(e, shape, p.seed, 5);
  const out: VectorProbeOutput = {
    lincomb: Array.from(await e.read(lc)),
    clamp: Array.from(await e.read(cl)),
    sumsq: Array.from(await e.read(ss)),
    dot: Array.from(await e.read(dt)),
    randn: Array.from(await e.read(rn)),
    uniform: Array.from(await e.read(ru)),
    rademacher: Array.from(await e.read(rr)),
  };
  e.release(x, y, lc, cl, ss, dt, rn, ru, rr);
  return out;
}

/** One UNet forward pass f(x, t) → flat output ([N, outChannels, H, W]). */
export async function unetProbe(e: Engine, model: UNet, x: number[], t: number[]): Promise<number[]> {
  const [C, H, W] = model.imageShape;
  const N = t.length;
  if (x.length !== N * C * H * W) throw new Error(`unetProbe: x has ${x.length} values, expected ${N}×${C}×${H}×${W}`);
  const xt = e.upload(Float32Array.from(x), [N, C, H, W], 'probe.x');
  const out = model.forward(xt, t);
  const data = Array.from(await e.read(out));
  e.release(xt, out);
  return data;
}

/** Seeded N(0, 1) draws of `n` values from Philox streams (seed, offset) — what a sampler run on this device draws. */
export async function noiseDraws(e: Engine, n: number, seed: number, offsets: number[]): Promise<number[][]> {
  const out: number[][] = [];
  for (const off of offsets) {
    const t = randn(e, [n], seed, off);
    out.push(Array.from(await e.read(t)));
    e.release(t);
  }
  return out;
}
