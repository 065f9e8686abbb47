// SiLU for K stacked forward-mode components (1 plain, 2 dual, 4 hyper-dual) and its VJP
// (shaders/activation.wgsl). Inside ResBlocks SiLU is fused into groupNorm; this one serves the
// time-embedding MLP and emb_layers.
import { uniforms, type Engine } from '../executor.js';
import { type Tensor, assertShape } from '../tensor.js';
import { grid1d } from './vector.js';

export function silu(e: Engine, x: Tensor, K: 1 | 2 | 4 = 1): Tensor {
  if (![1, 2, 4].includes(K)) throw new Error(`silu: K must be 1, 2 or 4, got ${K}`);
  if (!x.shape.length || x.shape[0] % K) throw new Error(`silu: batch of x [${x.shape}] is not a multiple of K=${K}`);
  const M = x.size / K;
  const out = e.tensor(x.shape, 'silu');
  // vec4 path when every component block splits into vec4s (bindings are 256-byte aligned)
  const v = M % 4 === 0 ? 4 : 1;
  e.run({
    kernel: { family: 'activation', entry: v === 4 ? 'silu4' : 'silu', constants: { K } },
    bindings: [x, out],
    uniforms: uniforms(M / v),
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
    kernel: { family: 'activation', entry: v === 4 ? 'silu_backward4' : 'silu_backward' },
    bindings: [x, gy, gx],
    uniforms: uniforms(x.size / v),
    grid: grid1d(e, x.size / v),
    flops: 8 * x.size,
    bytes: 12 * x.size,
    label: 'silu_backward',
  });
  return gx;
}
