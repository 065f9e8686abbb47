// 2-D convolution (NCHW activations, OIHW weights, f32) and its input gradient, for the ADM UNet:
// 3x3 pad 1 (stride 1 or 2) and 1x1 convs. Two kernel families, picked per call:
//  - shaders/conv2d-sg.wgsl: for CPU SIMD adapters (lavapipe: subgroups of 8 lanes). There every
//    storage or workgroup-memory load is a per-lane loop with a bounds check (~10-14 x86 instructions
//    per lane and element, uniform address or not: GALLIVM_DEBUG=asm), FMAs are not fused and
//    loop-carried values are blended with the loop mask, so the kernel loads each element once and
//    shares it with subgroup shuffles (one vpermd each). 3x3: 18-20 GFLOP/s on lavapipe (2 cores, wall
//    time on a busy machine; 25-30 GFLOP/s per CPU-time), 1x1: 10-13 GFLOP/s.
//  - shaders/conv2d.wgsl: tiled implicit GEMM (8x8 invocations x 4x4 outputs, 32x32x16 workgroup-memory
//    tiles), any shape/stride/padding: the path for GPUs (subgroups of 32/64) and for shapes the first
//    family does not cover (odd widths, stride-2 input gradients). 0.5-1.5 GFLOP/s on lavapipe.
//  A direct conv with 8 output channels x 4 pixels per invocation in 64-lane workgroups measured
//  2-3.4 GFLOP/s on lavapipe. Tiles use 4 KiB of workgroup memory and 64 invocations (within the
//  WebGPU minimum limits), so no limit query is needed.
import type { Variant } from '../adapter.js';
import type { Engine } from '../executor.js';
import { defineKernels } from '../kernel.js';
import { Tensor, assertShape, sameShape } from '../tensor.js';

export interface Conv2dOptions {
  stride?: 1 | 2;
  /** default (k - 1) / 2 */
  pad?: number;
  /**
   * bias is added only to images n < biasBatches (default N): forward-mode passes stack tangent
   * components along the batch axis and the bias belongs to the primal only
   */
  biasBatches?: number;
  /** fused residual: out += residual (same shape as out) */
  residual?: Tensor;
  /** force a kernel variant for this call (default: the engine's adapter decides, src/engine/adapter.ts) */
  variant?: Variant;
}

export interface Conv2dBackwardOptions {
  stride?: 1 | 2;
  pad?: number;
  /** gx += residual */
  residual?: Tensor;
  variant?: Variant;
}

function outSize(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

interface Geometry {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  ho: number;
  wo: number;
  k: number;
  stride: number;
  pad: number;
}

// The bias (images n < bias_batches) and the residual are optional: overrides BIAS and RES say whether
// they were given.
const CONV_OPTIONAL = { bias: { optional: 'BIAS' }, res: { optional: 'RES' } } as const;
const CONV_BINDINGS = { x: 'read', w: { wgsl: 'wt' }, ...CONV_OPTIONAL, y: 'read_write' } as const;
export const CONV2D = defineKernels('conv2d', {
  uniforms: {
    n: 'u32',
    cin: 'u32', // channels of the GEMM input (x, or gy for TRANS)
    h: 'u32', // its spatial size
    w: 'u32',
    cout: 'u32', // output channels
    ho: 'u32', // output size
    wo: 'u32',
    pad: 'u32',
    pp: 'u32', // ho * wo
    npix: 'u32', // n * pp
    kdim: 'u32', // cin * KS * KS
    bias_batches: 'u32',
  },
  entries: {
    tiled: { bindings: CONV_BINDINGS },
    // split-K epilogue: x = the partial GEMMs; w is not read (bound so both entries share one interface)
    splitk_reduce: { bindings: CONV_BINDINGS },
  },
});
const CONV_SG_BINDINGS = {
  x: { type: 'vec4f', wgsl: 'x4' },
  x1: { view: 'x' }, // the same buffer as f32 (halo loads)
  w: { wgsl: 'wt' },
  bias: CONV_OPTIONAL.bias,
  res: { ...CONV_OPTIONAL.res, type: 'vec4f', wgsl: 'res4' },
  y: { access: 'read_write', type: 'vec4f', wgsl: 'y4' },
} as const;
export const CONV2D_SG = defineKernels('conv2d-sg', {
  uniforms: {
    n: 'u32', // images
    cin: 'u32', // input channels of this conv
    h: 'u32', // input size
    w: 'u32',
    cout: 'u32', // output channels
    ho: 'u32', // output size
    wo: 'u32',
    pp: 'u32', // ho * wo
    npix: 'u32', // n * pp
    bias_batches: 'u32', // bias is added to images n < bias_batches
  },
  entries: { conv3: { bindings: CONV_SG_BINDINGS }, conv1: { bindings: CONV_SG_BINDINGS } },
});

/** Can conv2d-sg.wgsl run this conv (forward, or the input gradient of a stride-1 conv when trans)? */
function subgroupFits(g: Geometry, trans: boolean): boolean {
  if (g.k === 3) {
    if (g.pad !== 1 || g.wo % 4 !== 0) return false;
    if (g.stride === 1) return g.w === g.wo;
    return !trans && g.w % 8 === 0 && g.wo * 2 === g.w;
  }
  return g.pad === 0 && g.stride === 1 && (g.ho * g.wo) % 4 === 0 && g.h * g.w === g.ho * g.wo;
}

/**
 * Records the conv GEMM `y[n, o] = sum_{c,ky,kx} W(o, c, ky, kx) * x[n, c, ...] (+ bias, + residual)`:
 * forward (trans = false) or the transposed conv that is the input gradient (trans = true, x = gy).
 */
function run(
  e: Engine,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  g: Geometry,
  trans: boolean,
  biasBatches: number,
  residual: Tensor | undefined,
  variant: Variant | undefined,
  what: string,
): Tensor {
  const y = e.tensor([g.n, g.cout, g.ho, g.wo], what);
  const pp = g.ho * g.wo;
  const npix = g.n * pp;
  const flops = 2 * npix * g.cout * g.cin * g.k * g.k + (residual ? npix * g.cout : 0);
  const bytes = 4 * (x.size + w.size + y.size + (residual ? y.size : 0));
  const label = `${what} [${x.shape}]x[${w.shape}]${g.stride > 1 ? ' s2' : ''}`;
  const { n, cin, h, w: wd, cout, ho, wo } = g;
  const shape = { n, cin, h, w: wd, cout, ho, wo, pp, npix, bias_batches: biasBatches };
  const detail = `k=${g.k}, stride ${g.stride}, pad ${g.pad}, output width ${g.wo}${trans ? ', input gradient' : ''}`;
  if (e.adapter.pick('conv2d', subgroupFits(g, trans), what, detail, variant) === 'simd') {
    const cmb = g.cout > 8 ? 2 : 1;
    e.run({
      kernel: g.k === 3 ? CONV2D_SG.conv3 : CONV2D_SG.conv1,
      constants: {
        STRIDE: g.stride,
        CMB: cmb,
        HALO: g.k === 3 && 32 % g.wo !== 0 ? 1 : 0,
        TRANS: trans ? 1 : 0,
        SG8: e.adapter.sg8 ? 1 : 0,
      },
      buffers: { x, w, bias, res: residual, y },
      params: shape,
      grid: [Math.ceil(npix / 32), Math.ceil(g.cout / (8 * cmb))],
      flops,
      bytes,
      label,
    });
  } else {
    const kdim = g.cin * g.k * g.k;
    const workgroups = Math.ceil(npix / 32) * Math.ceil(g.cout / 32);
    const split = splitK(workgroups, kdim);
    const part = split > 1 ? e.tensor([split * y.size], `${what} split-K partials`) : y;
    const params = {
      n: g.n,
      cin: g.cin,
      h: g.h,
      w: g.w,
      cout: g.cout,
      ho: g.ho,
      wo: g.wo,
      pad: g.pad,
      pp,
      npix,
      kdim,
      bias_batches: biasBatches,
    };
    const constants = { KS: g.k, STRIDE: g.stride, TRANS: trans ? 1 : 0, SPLITK: split };
    e.run({
      kernel: CONV2D.tiled,
      constants,
      // the split passes write partial GEMMs: bias and residual come in the reduce
      buffers: split > 1 ? { x, w, bias: null, res: null, y: part } : { x, w, bias, res: residual, y },
      params,
      grid: [Math.ceil(npix / 32), Math.ceil(g.cout / 32), split],
      flops,
      bytes: split > 1 ? 4 * (x.size + w.size + part.size) : bytes,
      label: split > 1 ? `${label} split-K ${split}` : label,
    });
    if (split > 1) {
      e.run({
        kernel: CONV2D.splitk_reduce,
        constants,
        buffers: { x: part, w, bias, res: residual, y },
        params,
        grid: grid64(e, y.size),
        flops: split * y.size,
        bytes: 4 * (part.size + y.size + (residual ? y.size : 0)),
        label: `${what} split-K reduce`,
      });
      e.release(part);
    }
  }
  return y;
}

/** 64-invocation workgroups over n elements: x up to the per-dimension limit, then y. */
function grid64(e: Engine, n: number): [number, number] {
  const wgs = Math.ceil(n / 64);
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.ceil(wgs / max);
  return [Math.ceil(wgs / y), y];
}

/**
 * Split-K factor of the tiled GEMM: the smallest power of two that gives >= 256 workgroups (a large GPU has
 * 100-150 compute units: the H100 132 SMs; ORT's im2col matmul picks its tile for >= 128 workgroups),
 * keeping >= 4 K-steps of 16 per split. The 8x8 and 16x16 levels of a 256² UNet (32-128 output tiles,
 * K up to 9216) get 2-8 splits; every larger conv none.
 */
export function splitK(workgroups: number, kdim: number): number {
  const ksteps = Math.ceil(kdim / 16);
  let s = 1;
  while (workgroups * s < 256 && s < 16 && ksteps >= 4 * (2 * s)) s *= 2;
  return s;
}

function checkKernel(w: Tensor, what: string): { cout: number; cin: number; k: number } {
  if (w.shape.length !== 4) throw new Error(`${what}: weight must be [Cout, Cin, k, k], got [${w.shape}]`);
  const [cout, cin, kh, kw] = w.shape;
  if (kh !== kw || (kh !== 1 && kh !== 3)) throw new Error(`${what}: kernel must be 1x1 or 3x3, got ${kh}x${kw}`);
  return { cout, cin, k: kh };
}

function checkStridePad(stride: number, pad: number, k: number, what: string) {
  if (stride !== 1 && stride !== 2) throw new Error(`${what}: stride must be 1 or 2, got ${stride}`);
  if (!Number.isInteger(pad) || pad < 0 || pad >= k)
    throw new Error(`${what}: padding must be an integer in [0, ${k - 1}], got ${pad}`);
}

/** y = conv(x, w) + bias (images n < biasBatches) + residual. x [N, Cin, H, W], w [Cout, Cin, k, k], k in {1, 3}. */
export function conv2d(e: Engine, x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const what = 'conv2d';
  const { cout, cin, k } = checkKernel(w, what);
  if (x.shape.length !== 4) throw new Error(`${what}: input must be [N, C, H, W], got [${x.shape}]`);
  const [n, xc, h, wd] = x.shape;
  if (xc !== cin) throw new Error(`${what}: input has ${xc} channels but the weight [${w.shape}] expects ${cin}`);
  const stride = opts.stride ?? 1;
  const pad = opts.pad ?? (k - 1) / 2;
  checkStridePad(stride, pad, k, what);
  if (bias) assertShape(bias, [cout], `${what} bias`);
  const ho = outSize(h, k, stride, pad);
  const wo = outSize(wd, k, stride, pad);
  if (ho < 1 || wo < 1) throw new Error(`${what}: input ${h}x${wd} is too small for k=${k}, pad ${pad}`);
  if (opts.residual) assertShape(opts.residual, [n, cout, ho, wo], `${what} residual`);
  const bb = opts.biasBatches ?? n;
  if (!Number.isInteger(bb) || bb < 0 || bb > n)
    throw new Error(`${what}: biasBatches must be in [0, ${n}], got ${bb}`);
  const g: Geometry = { n, cin, h, w: wd, cout, ho, wo, k, stride, pad };
  return run(e, x, w, bias, g, false, bb, opts.residual, opts.variant, what);
}

/**
 * Gradient w.r.t. the input of conv2d (its VJP), as a transposed implicit GEMM: gx = convᵀ(gy).
 * gy [N, Cout, Ho, Wo], w [Cout, Cin, k, k], inputShape = [N, Cin, H, W] of the forward input
 * (needed because a stride-2 conv maps two input sizes to the same output size).
 */
export function conv2dBackwardInput(
  e: Engine,
  gy: Tensor,
  w: Tensor,
  inputShape: readonly number[],
  opts: Conv2dBackwardOptions = {},
): Tensor {
  const what = 'conv2dBackwardInput';
  const { cout, cin, k } = checkKernel(w, what);
  if (inputShape.length !== 4) throw new Error(`${what}: inputShape must be [N, C, H, W], got [${inputShape}]`);
  const [n, xc, h, wd] = inputShape;
  if (xc !== cin) throw new Error(`${what}: inputShape has ${xc} channels but the weight [${w.shape}] expects ${cin}`);
  const stride = opts.stride ?? 1;
  const pad = opts.pad ?? (k - 1) / 2;
  checkStridePad(stride, pad, k, what);
  const ho = outSize(h, k, stride, pad);
  const wo = outSize(wd, k, stride, pad);
  if (!sameShape(gy.shape, [n, cout, ho, wo])) {
    throw new Error(`${what}: gy must be [${[n, cout, ho, wo]}] for input [${inputShape}], got [${gy.shape}]`);
  }
  if (opts.residual) assertShape(opts.residual, inputShape, `${what} residual`);
  // The transposed conv runs from gy (cout channels, ho x wo) to gx (cin channels, h x w).
  const g: Geometry = { n, cin: cout, h: ho, w: wo, cout: cin, ho: h, wo: wd, k, stride, pad };
  // The subgroup kernel computes it as a stride-1 conv with flipped weights: same geometry test
  // with the gx size as output size.
  return run(e, gy, w, null, g, true, 0, opts.residual, opts.variant, what);
}
