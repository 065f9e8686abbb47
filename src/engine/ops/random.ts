// Seeded, counter-based random tensors (shaders/random.wgsl): Philox4x32-10 + Box–Muller.
// Element i of a draw depends only on (seed, offset, i) — not on the shape, the GPU or the order of
// dispatches — so `randn(e, shape, seed, step)` gives every sampler step its own reproducible stream.
// The CPU functions below compute the same numbers (bit-exact integers; floats to f32 rounding).
import type { Engine } from '../executor.js';
import { defineKernels } from '../kernel.js';
import { shapeSize, type Tensor } from '../tensor.js';
import { grid1d } from './vector.js';

const TWO32 = 2 ** 32;

export const RANDOM = defineKernels('random', {
  uniforms: {
    n: 'u32', // elements to write
    seed_lo: 'u32',
    seed_hi: 'u32',
    off_lo: 'u32',
    off_hi: 'u32',
    a: 'f32', // randn: scale; uniform: lo; rademacher: scale; poisson_dps: rate
    b: 'f32', // randn: mean;  uniform: hi
  },
  entries: {
    randn: { bindings: { out: 'read_write' } },
    rand_uniform: { bindings: { out: 'read_write' } },
    rademacher: { uniforms: ['n', 'seed_lo', 'seed_hi', 'off_lo', 'off_hi', 'a'], bindings: { out: 'read_write' } },
    poisson_dps: {
      uniforms: ['n', 'seed_lo', 'seed_hi', 'off_lo', 'off_hi', 'a'],
      bindings: { out: 'read_write', src: 'read' },
    },
  },
});

function split64(v: number, what: string): [number, number] {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${what} must be a non-negative safe integer, got ${v}`);
  return [(v % TWO32) >>> 0, Math.floor(v / TWO32) >>> 0];
}

function draw(
  e: Engine,
  entry: 'randn' | 'rand_uniform' | 'rademacher',
  shape: readonly number[],
  seed: number,
  offset: number,
  a: number,
  b: number,
  label: string,
): Tensor {
  const n = shapeSize(shape);
  const [s0, s1] = split64(seed, 'seed');
  const [o0, o1] = split64(offset, 'offset');
  const out = e.tensor(shape, label);
  const blocks = Math.ceil(n / 4);
  e.run({
    kernel: RANDOM[entry],
    buffers: { out },
    params: { n, seed_lo: s0, seed_hi: s1, off_lo: o0, off_hi: o1, a, ...(entry === 'rademacher' ? {} : { b }) },
    grid: grid1d(e, blocks),
    flops: 150 * blocks,
    bytes: 4 * n,
    label,
  });
  return out;
}

/** N(mean, std²) samples; `offset` selects an independent stream for the same seed (e.g. the step index). */
export function randn(e: Engine, shape: readonly number[], seed: number, offset = 0, std = 1, mean = 0): Tensor {
  return draw(e, 'randn', shape, seed, offset, std, mean, 'randn');
}

/** Uniform samples in (lo, hi). */
export function randUniform(e: Engine, shape: readonly number[], seed: number, offset = 0, lo = 0, hi = 1): Tensor {
  return draw(e, 'rand_uniform', shape, seed, offset, lo, hi, 'rand_uniform');
}

/** ±scale with probability 1/2 each (Hutchinson probes). */
export function randRademacher(e: Engine, shape: readonly number[], seed: number, offset = 0, scale = 1): Tensor {
  return draw(e, 'rademacher', shape, seed, offset, scale, 0, 'rand_rademacher');
}

// ------------------------------------------------------------------------------------------ CPU

function mulhilo(a: number, b: number): [number, number] {
  const a0 = a & 0xffff,
    a1 = a >>> 16,
    b0 = b & 0xffff,
    b1 = b >>> 16;
  const p00 = a0 * b0,
    p01 = a0 * b1,
    p10 = a1 * b0,
    p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
  return [hi, Math.imul(a, b) >>> 0];
}

/** Philox4x32-10 on one 128-bit counter (four u32 words) with a 64-bit key (two u32 words). */
export function philox4x32(ctr: readonly number[], key: readonly number[]): [number, number, number, number] {
  let [c0, c1, c2, c3] = ctr.map((v) => v >>> 0);
  let [k0, k1] = key.map((v) => v >>> 0);
  for (let r = 0; r < 10; r++) {
    const [h0, l0] = mulhilo(0xd2511f53, c0);
    const [h1, l1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(h1 ^ c1 ^ k0) >>> 0, l1, (h0 ^ c3 ^ k1) >>> 0, l0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** The four raw words of block g of stream (seed, offset), as the GPU computes them. */
export function philoxBlock(seed: number, offset: number, g: number): [number, number, number, number] {
  const [s0, s1] = split64(seed, 'seed');
  const [o0, o1] = split64(offset, 'offset');
  return philox4x32([g >>> 0, Math.floor(g / TWO32) >>> 0, o0, o1], [s0, s1]);
}

/** u32 → (0, 1) exactly as the GPU: (top 23 bits + 0.5) / 2^23. */
export const unitFromBits = (u: number) => ((u >>> 9) + 0.5) / 8388608;

/** CPU copy of randUniform(shape, seed, offset) in (0, 1) (exact: same floats as the GPU). */
export function cpuUniform(n: number, seed: number, offset = 0): Float64Array {
  const out = new Float64Array(n);
  for (let g = 0; g * 4 < n; g++) {
    const w = philoxBlock(seed, offset, g);
    for (let j = 0; j < 4 && g * 4 + j < n; j++) out[g * 4 + j] = unitFromBits(w[j]);
  }
  return out;
}

/** CPU copy of randn(shape, seed, offset) in float64 (the GPU differs by f32 log/cos/sin rounding). */
export function cpuRandn(n: number, seed: number, offset = 0): Float64Array {
  const u = cpuUniform(Math.ceil(n / 4) * 4, seed, offset);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u[i]));
    const t = 2 * Math.PI * u[i + 1];
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** CPU copy of randRademacher (exact). */
export function cpuRademacher(n: number, seed: number, offset = 0): Float64Array {
  const out = new Float64Array(n);
  for (let g = 0; g * 4 < n; g++) {
    const w = philoxBlock(seed, offset, g);
    for (let j = 0; j < 4 && g * 4 + j < n; j++) out[g * 4 + j] = w[j] >>> 31 ? -1 : 1;
  }
  return out;
}

/**
 * A sequential CPU stream of uniforms in (0, 1) from Philox blocks 0, 1, 2, … of (seed, offset), for
 * CPU-side random algorithms (mask positions, motion-blur paths) that need a reproducible draw sequence.
 */
export class PhiloxStream {
  private block = 0;
  private words: number[] = [];
  constructor(
    readonly seed: number,
    readonly offset = 0,
  ) {
    split64(seed, 'seed');
    split64(offset, 'offset');
  }
  nextU32(): number {
    if (!this.words.length) this.words = philoxBlock(this.seed, this.offset, this.block++);
    return this.words.shift()!;
  }
  /** uniform in (0, 1) with 53 random bits */
  uniform(): number {
    const hi = this.nextU32() >>> 5,
      lo = this.nextU32() >>> 6; // 27 + 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }
  /** uniform in [lo, hi) */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }
  /** integer in [lo, hi) (like numpy.random.randint) */
  int(lo: number, hi: number): number {
    if (!(hi > lo)) throw new Error(`PhiloxStream.int: empty range [${lo}, ${hi})`);
    return lo + Math.min(hi - lo - 1, Math.floor(this.uniform() * (hi - lo)));
  }
  /** standard normal (Box–Muller, one value per call) */
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }
}
