// Resampling and channel bookkeeping for NCHW tensors (shaders/resample.wgsl, channels.wgsl,
// channels-split.wgsl). All linear, so they apply unchanged to forward-mode stacks [K*N, ...].
import { uniforms, type Engine } from '../executor.js';
import type { Tensor } from '../tensor.js';
import { grid1d } from './vector.js';

function nchw(t: Tensor, what: string): [number, number, number, number] {
  if (t.shape.length !== 4) throw new Error(`${what}: expected an NCHW tensor, got shape [${t.shape}]`);
  return t.shape as unknown as [number, number, number, number];
}

function resample(e: Engine, entry: string, x: Tensor, outShape: number[], h: number, w: number): Tensor {
  const out = e.tensor(outShape, entry);
  const [n, c] = outShape;
  e.run({
    kernel: { family: 'resample', entry },
    bindings: [x, out],
    uniforms: uniforms(n * c, h, w, 0),
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
    kernel: { family: 'channels', entry: 'concat' },
    bindings: [a, b, out],
    uniforms: uniforms(n, ca, cb, h * w, 0, 0, 0, 0),
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
    kernel: { family: 'channels-split' },
    bindings: [x, out],
    uniforms: uniforms(n, c, c0, cn, h * w, 0, 0, 0),
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
    kernel: { family: 'channels', entry: 'add_channel_bias' },
    bindings: [x, bias, out],
    uniforms: uniforms(n, c, 0, h * w, primal, 0, 0, 0),
    grid: grid1d(e, out.size),
    bytes: 8 * out.size,
  });
  return out;
}
