// guided-diffusion QKVAttentionLegacy: forward for K stacked forward-mode components (1 plain, 2 dual,
// 4 hyper-dual) and the K = 1 VJP. Kernels: shaders/attention-sg.wgsl on CPU SIMD adapters (lavapipe;
// streaming softmax, keys shared by subgroup shuffles, FlashAttention-2-style VJP), else the portable
// shaders/attention.wgsl, shaders/attention-backward.wgsl. Math: docs/autodiff.md.
import type { Variant } from '../adapter.js';
import type { Engine } from '../executor.js';
import { defineKernels } from '../kernel.js';
import { type Tensor, assertShape, shapeSize } from '../tensor.js';
import { grid1d } from './vector.js';

const STRIDES = {
  inStride: 'u32', // component stride of qkv: N*3*H*ch*T
  outStride: 'u32', // component stride of the output: N*H*ch*T
} as const;
export const ATTENTION = defineKernels('attention', {
  uniforms: {
    T: 'u32',
    ch: 'u32', // channels per head
    H: 'u32', // heads
    NB: 'u32', // N * H: (image, head) pairs per component
    ...STRIDES,
    scale2: 'f32', // 1/sqrt(ch): PyTorch's two ch^(-1/4) factors
  },
  entries: { attention: { bindings: { qkv: 'read', out: 'read_write' } } },
});
const RW = 'read_write';
export const ATTENTION_BACKWARD = defineKernels('attention-backward', {
  uniforms: { T: 'u32', ch: 'u32', H: 'u32', NB: 'u32', scale2: 'f32' },
  // gy = ga [N, H*ch, T]; W, G [N*H, T, T]: softmax weights and logit gradients
  entries: {
    attnb_rows: { bindings: { qkv: 'read', gy: 'read', gqkv: RW, W: RW, G: RW } },
    attnb_kv: { bindings: { qkv: 'read', gy: 'read', gqkv: RW, W: RW, G: RW } },
  },
});
// qkv4: the same buffer as vec4s; gy = ga [N, H*ch, T] (attnb_kv reads it as vec4s); row statistics
// st [N*H, 3, T]: (m | 1/Z | D)
const QKV = { qkv: 'read', qkv4: { type: 'vec4f', view: 'qkv' } } as const;
export const ATTENTION_SG = defineKernels('attention-sg', {
  uniforms: { T: 'u32', ...STRIDES, scale2: 'f32' }, // scale2 = 1/sqrt(ch): PyTorch's two ch^(-1/4) factors
  entries: {
    attention: { bindings: { ...QKV, out: RW } },
    attnb_stats: { bindings: { ...QKV, gy: 'read', st: { access: RW, wgsl: 'st_out' } } },
    attnb_q: { bindings: { ...QKV, gy: 'read', st: 'read', gqkv: RW } },
    attnb_kv: {
      bindings: { ...QKV, gy: { type: 'vec4f', wgsl: 'gy4' }, st: { type: 'vec4f', wgsl: 'st4' }, gqkv: RW },
    },
  },
});

/** Longest sequence supported (the portable kernels keep the logits of a row block in workgroup memory). */
export const MAX_ATTENTION_T = 1024;

/** Most channels per head the CPU-SIMD kernels keep in registers (MAXCH in shaders/attention-sg.wgsl). */
export const SG_MAX_HEAD_CHANNELS = 64;

/**
 * The subgroup kernels (attention-sg.wgsl) are the 'simd' variant for CPU SIMD adapters (lavapipe), where
 * they are 10-100x faster (bench/nonlinear.bench.ts); GPUs, adapters without subgroups, ch > 64 and
 * T % 4 != 0 use the portable kernels.
 */
function useSubgroupKernels(e: Engine, s: AttnShape, what: string, variant: Variant | undefined): boolean {
  const fits = s.ch <= SG_MAX_HEAD_CHANNELS && s.T % 4 === 0;
  return e.adapter.pick('attention', fits, what, `${s.ch} channels per head, T = ${s.T}`, variant) === 'simd';
}

interface AttnShape {
  N: number;
  H: number;
  ch: number;
  C: number;
  T: number;
  outShape: number[];
}

function attnShape(qkv: Tensor, heads: number, K: number, what: string): AttnShape {
  if (![1, 2, 4].includes(K)) throw new Error(`${what}: K must be 1, 2 or 4, got ${K}`);
  if (qkv.shape.length < 3) throw new Error(`${what}: qkv must be [K*N, 3*C, T], got [${qkv.shape}]`);
  const [KN, width] = qkv.shape;
  if (KN % K) throw new Error(`${what}: batch ${KN} of qkv [${qkv.shape}] is not a multiple of K=${K}`);
  if (!Number.isInteger(heads) || heads < 1 || width % (3 * heads)) {
    throw new Error(`${what}: qkv width ${width} is not divisible by 3 * heads (heads = ${heads})`);
  }
  const T = shapeSize(qkv.shape.slice(2));
  if (T > MAX_ATTENTION_T)
    throw new Error(`${what}: sequence length T = ${T} exceeds the supported ${MAX_ATTENTION_T}`);
  const ch = width / (3 * heads);
  return { N: KN / K, H: heads, ch, C: heads * ch, T, outShape: [KN, heads * ch, ...qkv.shape.slice(2)] };
}

/** Query rows per workgroup: a power of two ≤ 16 whose logits (+ 4 KiB reduction space) fit. */
function rowBlock(e: Engine, T: number, K: number, what: string): { BQ: number; TS: number; PSIZE: number } {
  const budget = e.limits.maxComputeWorkgroupStorageSize - 256 * 16;
  const TS = T + 1;
  let BQ = 16;
  while (BQ > 1 && (BQ >= 2 * T || K * BQ * TS * 4 > budget)) BQ /= 2;
  if (K * BQ * TS * 4 > budget) {
    throw new Error(
      `${what}: T = ${T} with K = ${K} needs ${K * TS * 4 + 4096} bytes of workgroup memory; ` +
        `this device allows ${e.limits.maxComputeWorkgroupStorageSize}`,
    );
  }
  return { BQ, TS, PSIZE: K * BQ * TS };
}

/** guided-diffusion QKVAttentionLegacy: qkv [K*N, 3*C, T] with heads H, ch = C/H: reshape to [K*N*H, 3*ch, T], split q,k,v (each [.., ch, T]); scale = 1/sqrt(sqrt(ch)); w = softmax_s((q*scale)ᵀ(k*scale)) over s; a[c,t] = Σ_s w[t,s] v[c,s]; output [K*N, C, T] */
export function attention(e: Engine, qkv: Tensor, heads: number, K: 1 | 2 | 4 = 1, variant?: Variant): Tensor {
  const s = attnShape(qkv, heads, K, 'attention');
  const NB = s.N * s.H;
  const flops = 4 * K * K * NB * s.T * s.T * s.ch;
  if (useSubgroupKernels(e, s, 'attention', variant)) {
    // two query rows per lane share the shuffled keys: 15-40 % faster for K <= 2; with K = 4 the
    // doubled registers spill and it is 10-15 % slower
    const r2 = K <= 2;
    const out = e.tensor(s.outShape, 'attention');
    e.run({
      kernel: ATTENTION_SG.attention,
      constants: { K, CH: s.ch, R2: r2 ? 1 : 0 },
      buffers: { qkv, out },
      params: { T: s.T, inStride: s.N * 3 * s.C * s.T, outStride: s.N * s.C * s.T, scale2: 1 / Math.sqrt(s.ch) },
      grid: [Math.ceil(s.T / (r2 ? 16 : 8)), NB],
      flops,
      bytes: 4 * (qkv.size + out.size),
      label: 'attention',
    });
    return out;
  }
  const { BQ, TS, PSIZE } = rowBlock(e, s.T, K, 'attention');
  const out = e.tensor(s.outShape, 'attention');
  e.run({
    kernel: ATTENTION.attention,
    constants: { K, BQ, TS, PSIZE },
    buffers: { qkv, out },
    params: {
      T: s.T,
      ch: s.ch,
      H: s.H,
      NB,
      inStride: s.N * 3 * s.C * s.T,
      outStride: s.N * s.C * s.T,
      scale2: 1 / Math.sqrt(s.ch),
    },
    grid: [Math.ceil(s.T / BQ), NB],
    flops,
    bytes: 4 * (qkv.size + out.size),
    label: 'attention',
  });
  return out;
}

export function attentionBackward(
  e: Engine,
  qkv: Tensor,
  heads: number,
  gy: Tensor,
  variant?: Variant,
): Tensor /*gqkv [N,3C,T]*/ {
  const s = attnShape(qkv, heads, 1, 'attentionBackward');
  assertShape(gy, s.outShape, 'attentionBackward: gy');
  const NB = s.N * s.H;
  if (useSubgroupKernels(e, s, 'attentionBackward', variant)) return attentionBackwardSg(e, qkv, gy, s);
  const { BQ, TS, PSIZE } = rowBlock(e, s.T, 1, 'attentionBackward');
  const u = { T: s.T, ch: s.ch, H: s.H, NB, scale2: 1 / Math.sqrt(s.ch) };
  // softmax weights and logit gradients of every head: [N*H, T, T] each
  const W = e.tensor([NB, s.T, s.T], 'attnb_w');
  const G = e.tensor([NB, s.T, s.T], 'attnb_g');
  const gqkv = e.tensor(qkv.shape, 'attention_grad');
  const constants = { BQ, TS, PSIZE };
  e.run({
    kernel: ATTENTION_BACKWARD.attnb_rows,
    constants,
    buffers: { qkv, gy, gqkv, W, G },
    params: u,
    grid: [Math.ceil(s.T / BQ), NB],
    flops: 6 * NB * s.T * s.T * s.ch,
    bytes: 4 * (qkv.size + gy.size) + 12 * NB * s.T * s.T,
    label: 'attnb_rows',
  });
  e.run({
    kernel: ATTENTION_BACKWARD.attnb_kv,
    buffers: { qkv, gy, gqkv, W, G },
    params: u,
    grid: grid1d(e, NB * s.ch * s.T),
    flops: 4 * NB * s.T * s.T * s.ch,
    bytes: 8 * NB * s.T * s.T,
    label: 'attnb_kv',
  });
  e.release(W, G);
  return gqkv;
}

/** The VJP on CPU SIMD adapters: row statistics, then gq (lanes = query rows), then gk, gv (lanes = keys). */
function attentionBackwardSg(e: Engine, qkv: Tensor, gy: Tensor, s: AttnShape): Tensor {
  const NB = s.N * s.H;
  const u = { T: s.T, inStride: s.N * 3 * s.C * s.T, outStride: s.N * s.C * s.T, scale2: 1 / Math.sqrt(s.ch) };
  const constants = { K: 1, CH: s.ch, R2: 1 };
  const grid: [number, number] = [Math.ceil(s.T / 16), NB];
  const tt = NB * s.T * s.T * s.ch;
  const st = e.tensor([NB, 3, s.T], 'attnb_stats');
  e.run({
    kernel: ATTENTION_SG.attnb_stats,
    constants,
    buffers: { qkv, gy, st },
    params: u,
    grid,
    flops: 4 * tt,
    bytes: 4 * (qkv.size + gy.size),
    label: 'attnb_stats',
  });
  const gqkv = e.tensor(qkv.shape, 'attention_grad');
  // gq (query rows), then gk and gv (keys): both read qkv, gy and the row statistics
  for (const [entry, flopsPerPair] of [
    ['attnb_q', 6],
    ['attnb_kv', 8],
  ] as const)
    e.run({
      kernel: ATTENTION_SG[entry],
      constants,
      buffers: { qkv, gy, st, gqkv },
      params: u,
      grid,
      flops: flopsPerPair * tt,
      bytes: 4 * (qkv.size + gy.size),
      label: entry,
    });
  e.release(st);
  return gqkv;
}
