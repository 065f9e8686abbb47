// Resampling and channel bookkeeping for NCHW tensors (shaders/resample.wgsl, channels.wgsl,
// channels-split.wgsl). All linear, so they apply unchanged to forward-mode stacks [K*N, ...].
import type { Engine } from '../executor.js';
import { defineKernels } from '../kernel.js';
import type { Tensor } from '../tensor.js';
import { grid1d } from './vector.js';

const XO = { x: 'read', out: 'read_write' } as const;
export const RESAMPLE = defineKernels('resample', {
  // planes: N*C; h, w: input size of the forward op
  uniforms: { planes: 'u32', h: 'u32', w: 'u32' },
  entries: {
    upsample2x: { bindings: XO },
    upsample2x_adjoint: { bindings: XO },
    avgpool2x: { bindings: XO },
    avgpool2x_adjoint: { bindings: XO },
  },
});
export const CHANNELS = defineKernels('channels', {
  uniforms: {
    batch: 'u32', // images in the stack (K*N for forward-mode stacks)
    ca: 'u32', // channels of the first part (add_channel_bias: of x)
    cb: 'u32', // channels of the second part
    hw: 'u32', // H*W
    primal: 'u32', // add_channel_bias: only images n < primal get the bias (tangents do not)
  },
  entries: {
    concat: { uniforms: ['batch', 'ca', 'cb', 'hw'], bindings: { a: 'read', b: 'read', out: 'read_write' } },
    add_channel_bias: {
      uniforms: ['batch', 'ca', 'hw', 'primal'],
      bindings: { a: 'read', b: 'read', out: 'read_write' },
    },
  },
});
export const CHANNELS_SPLIT = defineKernels('channels-split', {
  // channels [c0, c0+cn) of x [batch, ctot, hw]
  uniforms: { batch: 'u32', ctot: 'u32', c0: 'u32', cn: 'u32', hw: 'u32' },
  entries: { main: { bindings: XO } },
});

function nchw(t: Tensor, what: string): [number, number, number, number] {
  if (t.shape.length !== 4) throw new Error(`${what}: expected an NCHW tensor, got shape [${t.shape}]`);
  return t.shape as unknown as [number, number, number, number];
}

function resample(
  e: Engine,
  entry: keyof typeof RESAMPLE,
  x: Tensor,
  outShape: number[],
  h: number,
  w: number,
): Tensor {
  const out = e.tensor(outShape, entry);
  const [n, c] = outShape;
  e.run({
    kernel: RESAMPLE[entry],
    buffers: { x, out },
    params: { planes: n * c, h, w },
    grid: grid1d(e, out.size),
    bytes: 4 * (x.size + out.size),
  });
  return out;
}

/** F.interpolate(x, scale_factor=2, mode='nearest') */
export function upsample2x(e: Engine, x: Tensor): Tensor {
  const [n, c, h, w] = nchw(x, 'upsample2x');
  return resample(e, 'upsample2x', x, [n, c, 2 * h, 2 * w], h, w);
}
export function upsample2xAdjoint(e: Engine, g: Tensor): Tensor {
  const [n, c, h2, w2] = nchw(g, 'upsample2xAdjoint');
  return resample(e, 'upsample2x_adjoint', g, [n, c, h2 / 2, w2 / 2], h2 / 2, w2 / 2);
}
/** F.avg_pool2d(x, kernel_size=2, stride=2) */
export function avgPool2x(e: Engine, x: Tensor): Tensor {
  const [n, c, h, w] = nchw(x, 'avgPool2x');
  if (h % 2 || w % 2) throw new Error(`avgPool2x: spatial size ${h}x${w} is not even`);
  return resample(e, 'avgpool2x', x, [n, c, h / 2, w / 2], h, w);
}
export function avgPool2xAdjoint(e: Engine, g: Tensor): Tensor {
  const [n, c, h, w] = nchw(g, 'avgPool2xAdjoint');
  return resample(e, 'avgpool2x_adjoint', g, [n, c, 2 * h, 2 * w], 2 * h, 2 * w);
}

/** torch.cat([a, b], dim=1) */
export function concatChannels(e: Engine, a: Tensor, b: Tensor): Tensor {
  const [n, ca, h, w] = nchw(a, 'concatChannels');
  const [nb, cb, hb, wb] = nchw(b, 'concatChannels');
  if (n !== nb || h !== hb || w !== wb)
    throw new Error(`concatChannels: [${a.shape}] and [${b.shape}] differ outside the channel axis`);
  const out = e.tensor([n, ca + cb, h, w], 'concat');
  e.run({
    kernel: CHANNELS.concat,
    buffers: { a, b, out },
    params: { batch: n, ca, cb, hw: h * w },
    grid: grid1d(e, out.size),
    bytes: 8 * out.size,
  });
  return out;
}

/** channels [c0, c0+cn) of x — the adjoint of concatenation */
export function sliceChannels(e: Engine, x: Tensor, c0: number, cn: number): Tensor {
  const [n, c, h, w] = nchw(x, 'sliceChannels');
  if (c0 < 0 || c0 + cn > c) throw new Error(`sliceChannels: [${c0}, ${c0 + cn}) outside ${c} channels`);
  const out = e.tensor([n, cn, h, w], 'slice');
  e.run({
    kernel: CHANNELS_SPLIT.main,
    buffers: { x, out },
    params: { batch: n, ctot: c, c0, cn, hw: h * w },
    grid: grid1d(e, out.size),
    bytes: 8 * out.size,
  });
  return out;
}

/** out = x + bias[n, c] for the first `primal` images of the stack (x: [K*N, C, H, W], bias: [N, C]). */
export function addChannelBias(e: Engine, x: Tensor, bias: Tensor, primal: number): Tensor {
  const [n, c, h, w] = nchw(x, 'addChannelBias');
  if (bias.size !== primal * c) throw new Error(`addChannelBias: bias [${bias.shape}] is not [${primal}, ${c}]`);
  const out = e.tensor(x.shape, 'add_bias');
  e.run({
    kernel: CHANNELS.add_channel_bias,
    buffers: { a: x, b: bias, out },
    params: { batch: n, ca: c, hw: h * w, primal },
    grid: grid1d(e, out.size),
    bytes: 8 * out.size,
  });
  return out;
}
