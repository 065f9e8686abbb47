// GroupNorm (guided-diffusion GroupNorm32) with ADM's scale-shift and fused SiLU, forward for K stacked
// forward-mode components (1 plain, 2 dual, 4 hyper-dual) and the K = 1 VJP.
// Kernels: shaders/groupnorm.wgsl (gn_group: one dispatch on CPU SIMD adapters; else stats / finalize /
// apply), shaders/groupnorm-backward.wgsl (gnb_group, else reduce / finalize / apply).
// Math and derivations: docs/autodiff.md.
import type { Variant } from '../adapter.js';
import type { Engine } from '../executor.js';
import { defineKernels } from '../kernel.js';
import { type Tensor, assertShape, shapeSize } from '../tensor.js';
import { grid1d } from './vector.js';

// Layout: cs = N*C*S, groups contiguous, L elements each. The scale-shift ss [N, 2C] is optional (override SS).
const GN_UNIFORMS = {
  N: 'u32', // images (per component)
  C: 'u32',
  S: 'u32', // spatial elements per channel
  G: 'u32', // groups
  L: 'u32', // elements per group = (C/G)*S
  nChunks: 'u32', // ceil(L / CHUNK)
  cs: 'u32', // component stride N*C*S
  eps: 'f32',
} as const;
const SS = { optional: 'SS' } as const;
const V4 = { type: 'vec4f' } as const;
const RW4 = { access: 'read_write', type: 'vec4f' } as const;
// the inputs of the per-element entries: x with its statistics, the affine parameters, the scale-shift
const GN_IN = { x: 'read', stats: V4, gamma: 'read', beta: 'read', ss: SS } as const;
// the one-dispatch entries read x as vec4s, and again as f32 (xs: the shift)
const GN_IN4 = { x: { ...V4, wgsl: 'x4' }, xs: { view: 'x' }, gamma: 'read', beta: 'read', ss: SS } as const;
export const GROUPNORM = defineKernels('groupnorm', {
  uniforms: GN_UNIFORMS,
  entries: {
    gn_stats: { bindings: { x: 'read', part: RW4 } }, // part [N*G, nChunks, 2]: (m_j, Q_j)
    gn_finalize: { bindings: { part: { ...V4, wgsl: 'fin_part' }, stats: { ...RW4, wgsl: 'fin_stats' } } }, // stats [N*G, 2]: (mu, r)
    gn_apply: { bindings: { ...GN_IN, out: 'read_write' } },
    gn_group: { bindings: { ...GN_IN4, out: { ...RW4, wgsl: 'out4' } } },
  },
});
export const GROUPNORM_BACKWARD = defineKernels('groupnorm-backward', {
  uniforms: GN_UNIFORMS,
  entries: {
    // stats [N*G, 2]: (mu, r) in .x; part [N*G, nChunks]: (sum g, sum g xhat)
    gnb_reduce: { bindings: { ...GN_IN, gy: 'read', part: RW4 } },
    // sums [N*G]: (mean g, mean g xhat)
    gnb_finalize: { bindings: { part: { ...V4, wgsl: 'fin_part' }, sums: { ...RW4, wgsl: 'fin_sums' } } },
    gnb_apply: { bindings: { ...GN_IN, gy: 'read', sums: V4, gx: 'read_write' } },
    gnb_group: { bindings: { ...GN_IN4, gy: { ...V4, wgsl: 'gy4' }, gx: { ...RW4, wgsl: 'gx4' } } },
  },
});

export interface GroupNormOptions {
  /** default 32 (guided-diffusion normalization(ch) = GroupNorm32(32, ch)) */
  groups?: number;
  /** default 1e-5 */
  eps?: number;
  /** forward-mode components stacked on the batch axis: 1 plain, 2 dual, 4 hyper-dual */
  K?: 1 | 2 | 4;
  /** apply SiLU after the (scale-shifted) normalization */
  silu?: boolean;
  /**
   * ADM use_scale_shift_norm: out = GN(x)*(1+scale)+shift with [scale|shift] = ss[n, 0:C] | ss[n, C:2C];
   * ss is [N, 2C] (N = images, not K*N); constant in x: tangents get *(1+scale) only, shift on the
   * primal only
   */
  scaleShift?: Tensor;
  /** force a kernel variant for this call (default: the engine's adapter decides, src/engine/adapter.ts) */
  variant?: Variant;
}

/** Elements per chunk of the statistics pass; must equal CHUNK in shaders/groupnorm.wgsl. */
export const GN_CHUNK = 8192;

export interface GroupNormShape {
  K: number;
  /** images per component */
  N: number;
  C: number;
  /** spatial elements per channel (H*W, or T) */
  S: number;
  G: number;
  /** elements per group */
  L: number;
  nChunks: number;
}

export function groupNormShape(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  opts: GroupNormOptions,
  what = 'groupNorm',
): GroupNormShape {
  const K = opts.K ?? 1;
  const G = opts.groups ?? 32;
  if (![1, 2, 4].includes(K)) throw new Error(`${what}: K must be 1, 2 or 4, got ${K}`);
  if (x.shape.length < 2) throw new Error(`${what}: x must be [K*N, C, ...spatial], got [${x.shape}]`);
  const [KN, C] = x.shape;
  if (KN % K) throw new Error(`${what}: batch ${KN} of x [${x.shape}] is not a multiple of K=${K}`);
  if (!Number.isInteger(G) || G < 1 || C % G)
    throw new Error(`${what}: ${C} channels are not divisible into ${G} groups`);
  const N = KN / K;
  const S = shapeSize(x.shape.slice(2));
  assertShape(gamma, [C], `${what}: gamma`);
  assertShape(beta, [C], `${what}: beta`);
  if (opts.scaleShift) assertShape(opts.scaleShift, [N, 2 * C], `${what}: scaleShift (rows are images, not K*N)`);
  const L = (C / G) * S;
  const nChunks = Math.ceil(L / GN_CHUNK);
  if (nChunks > 65535) throw new Error(`${what}: group of ${L} elements is too large`);
  return { K, N, C, S, G, L, nChunks };
}

function params(s: GroupNormShape, eps: number) {
  return { N: s.N, C: s.C, S: s.S, G: s.G, L: s.L, nChunks: s.nChunks, cs: s.N * s.C * s.S, eps };
}

/**
 * Per (image, group) hyper-dual mean and r = (var + eps)^(-1/2) as a tensor [N*G, 2, 4]
 * (components beyond K are zero). Shared with the backward pass.
 */
export function groupNormStats(e: Engine, x: Tensor, s: GroupNormShape, eps: number): Tensor {
  const u = params(s, eps);
  const K = s.K;
  const NG = s.N * s.G;
  const part = e.tensor([NG * s.nChunks * 8], 'gn_part');
  e.run({
    kernel: GROUPNORM.gn_stats,
    constants: { K },
    buffers: { x, part },
    params: u,
    grid: [s.nChunks, NG],
    flops: 4 * K * K * x.size,
    bytes: 4 * x.size,
    label: 'gn_stats',
  });
  const stats = e.tensor([NG, 2, 4], 'gn_stats');
  e.run({
    kernel: GROUPNORM.gn_finalize,
    constants: { K },
    buffers: { part, stats },
    params: u,
    grid: grid1d(e, NG),
    flops: 20 * NG * s.nChunks,
    bytes: 32 * NG * s.nChunks,
    label: 'gn_finalize',
  });
  e.release(part);
  return stats;
}

/**
 * The one-dispatch kernels (gn_group, gnb_group: one 8-lane workgroup per group) are the 'simd' variant for
 * CPU SIMD adapters, where dispatches and barriers are expensive; GPUs keep the chunked three-dispatch
 * kernels. The simd ones need vec4 rows (S % 4 == 0) and a 1D grid of groups.
 */
function useGroupKernels(e: Engine, s: GroupNormShape, what: string, variant: Variant | undefined): boolean {
  const fits = s.S % 4 === 0 && s.N * s.G <= e.limits.maxComputeWorkgroupsPerDimension;
  return (
    e.adapter.pick('groupnorm', fits, what, `${s.S} elements per channel, ${s.N * s.G} groups`, variant) === 'simd'
  );
}

export function groupNorm(e: Engine, x: Tensor, gamma: Tensor, beta: Tensor, opts: GroupNormOptions = {}): Tensor {
  const s = groupNormShape(x, gamma, beta, opts);
  const eps = opts.eps ?? 1e-5;
  const n = s.N * s.C * s.S;
  const constants = { K: s.K, SILU: opts.silu ? 1 : 0 };
  const ss = opts.scaleShift;
  if (useGroupKernels(e, s, 'groupNorm', opts.variant)) {
    const out = e.tensor(x.shape, 'groupnorm');
    e.run({
      kernel: GROUPNORM.gn_group,
      constants,
      buffers: { x, gamma, beta, ss, out },
      params: params(s, eps),
      grid: [s.N * s.G],
      flops: (opts.silu ? 16 : 8) * s.K * s.K * n,
      bytes: 8 * s.K * n,
      label: 'gn_group',
    });
    return out;
  }
  const stats = groupNormStats(e, x, s, eps);
  const out = e.tensor(x.shape, 'groupnorm');
  e.run({
    kernel: GROUPNORM.gn_apply,
    constants,
    buffers: { x, stats, gamma, beta, ss, out },
    params: params(s, eps),
    grid: [Math.ceil(s.S / 256), s.N * s.C],
    flops: (opts.silu ? 12 : 4) * s.K * s.K * n,
    bytes: 8 * s.K * n,
    label: 'gn_apply',
  });
  e.release(stats);
  return out;
}

/** VJP of groupNorm (K = 1) incl. the fused SiLU and scale-shift: recompute what it needs from x */
export function groupNormBackward(
  e: Engine,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  gy: Tensor,
  opts: Omit<GroupNormOptions, 'K'> = {},
): Tensor {
  const s = groupNormShape(x, gamma, beta, { ...opts, K: 1 }, 'groupNormBackward');
  assertShape(gy, x.shape, 'groupNormBackward: gy');
  const eps = opts.eps ?? 1e-5;
  const u = params(s, eps);
  const NG = s.N * s.G;
  const constants = { SILU: opts.silu ? 1 : 0 };
  const ss = opts.scaleShift;
  if (useGroupKernels(e, s, 'groupNormBackward', opts.variant)) {
    const gx = e.tensor(x.shape, 'groupnorm_grad');
    e.run({
      kernel: GROUPNORM_BACKWARD.gnb_group,
      constants,
      buffers: { x, gamma, beta, ss, gy, gx },
      params: u,
      grid: [NG],
      flops: 40 * x.size,
      bytes: 20 * x.size,
      label: 'gnb_group',
    });
    return gx;
  }
  const stats = groupNormStats(e, x, s, eps);
  // Per group: mean(g) and mean(g * xhat), g = dL/dxhat; then gx = r (g - mean(g) - xhat mean(g xhat)).
  const part = e.tensor([NG * s.nChunks * 4], 'gnb_part');
  e.run({
    kernel: GROUPNORM_BACKWARD.gnb_reduce,
    constants,
    buffers: { x, stats, gamma, beta, ss, gy, part },
    params: u,
    grid: [s.nChunks, NG],
    flops: 16 * x.size,
    bytes: 8 * x.size,
    label: 'gnb_reduce',
  });
  const sums = e.tensor([NG, 4], 'gnb_sums');
  e.run({
    kernel: GROUPNORM_BACKWARD.gnb_finalize,
    buffers: { part, sums },
    params: u,
    grid: grid1d(e, NG),
    flops: 2 * NG * s.nChunks,
    bytes: 16 * NG * s.nChunks,
    label: 'gnb_finalize',
  });
  const gx = e.tensor(x.shape, 'groupnorm_grad');
  e.run({
    kernel: GROUPNORM_BACKWARD.gnb_apply,
    constants,
    buffers: { x, stats, gamma, beta, ss, gy, sums, gx },
    params: u,
    grid: [Math.ceil(s.S / 256), s.N * s.C],
    flops: 20 * x.size,
    bytes: 12 * x.size,
    label: 'gnb_apply',
  });
  e.release(part, sums, stats);
  return gx;
}
