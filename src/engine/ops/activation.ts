// SiLU for K stacked forward-mode components (1 plain, 2 dual, 4 hyper-dual) and its VJP
// (shaders/activation.wgsl). Inside ResBlocks SiLU is fused into groupNorm; this one serves the
// time-embedding MLP and emb_layers.
import type { Engine } from '../executor.js';
import { defineKernels } from '../kernel.js';
import { type Tensor, assertShape } from '../tensor.js';
import { grid1d } from './vector.js';

const K4 = { type: 'vec4f', wgsl: 'x4' } as const;
export const ACTIVATION = defineKernels('activation', {
  uniforms: { M: 'u32' }, // elements (or vec4s) per component
  entries: {
    silu: { bindings: { x: 'read', out: 'read_write' } },
    silu_backward: { bindings: { x: 'read', gy: 'read', gx: 'read_write' } },
    silu4: { bindings: { x: K4, out: { access: 'read_write', type: 'vec4f', wgsl: 'out4' } } },
    silu_backward4: {
      bindings: {
        x: K4,
        gy: { type: 'vec4f', wgsl: 'gy4' },
        gx: { access: 'read_write', type: 'vec4f', wgsl: 'gx4' },
      },
    },
  },
});

export function silu(e: Engine, x: Tensor, K: 1 | 2 | 4 = 1): Tensor {
  if (![1, 2, 4].includes(K)) throw new Error(`silu: K must be 1, 2 or 4, got ${K}`);
  if (!x.shape.length || x.shape[0] % K) throw new Error(`silu: batch of x [${x.shape}] is not a multiple of K=${K}`);
  const M = x.size / K;
  const out = e.tensor(x.shape, 'silu');
  // vec4 path when every component block splits into vec4s (bindings are 256-byte aligned)
  const v = M % 4 === 0 ? 4 : 1;
  e.run({
    kernel: v === 4 ? ACTIVATION.silu4 : ACTIVATION.silu,
    constants: { K },
    buffers: { x, out },
    params: { M: M / v },
    grid: grid1d(e, M / v),
    flops: 8 * K * x.size,
    bytes: 8 * x.size,
    label: 'silu',
  });
  return out;
}

export function siluBackward(e: Engine, x: Tensor, gy: Tensor): Tensor {
  assertShape(gy, x.shape, 'siluBackward: gy');
  const gx = e.tensor(x.shape, 'silu_grad');
  const v = x.size % 4 === 0 ? 4 : 1;
  e.run({
    kernel: v === 4 ? ACTIVATION.silu_backward4 : ACTIVATION.silu_backward,
    buffers: { x, gy, gx },
    params: { M: x.size / v },
    grid: grid1d(e, x.size / v),
    flops: 8 * x.size,
    bytes: 12 * x.size,
    label: 'silu_backward',
  });
  return gx;
}
