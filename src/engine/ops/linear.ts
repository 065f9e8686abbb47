// Linear layers of the ADM UNet (time embedding, ResBlock emb_layers): y = act(x) Wᵀ + b, and the input
// gradient gx = gy W. shaders/linear-sg.wgsl on CPU SIMD adapters (lavapipe), shaders/linear.wgsl elsewhere.
import type { Variant } from '../adapter.js';
import type { Engine } from '../executor.js';
import { defineKernels } from '../kernel.js';
import { Tensor, assertShape } from '../tensor.js';

// n rows of x, cin: the reduced dimension, cout: output features; bias is added to rows n < bias_batches
// when given (override BIAS)
const LINEAR_UNIFORMS = { n: 'u32', cin: 'u32', cout: 'u32', bias_batches: 'u32' } as const;
const BIAS = { optional: 'BIAS' } as const;
export const LINEAR = defineKernels('linear', {
  uniforms: LINEAR_UNIFORMS,
  entries: { main: { bindings: { x: 'read', w: { wgsl: 'wt' }, bias: BIAS, y: 'read_write' } } },
});
const W4 = { type: 'vec4f', wgsl: 'w4' } as const;
export const LINEAR_SG = defineKernels('linear-sg', {
  uniforms: LINEAR_UNIFORMS,
  entries: {
    fwd: { bindings: { x: { type: 'vec4f', wgsl: 'x4' }, w: W4, bias: BIAS, y: 'read_write' } },
    trans: {
      uniforms: ['n', 'cin', 'cout'],
      bindings: { x: { wgsl: 'x1' }, w: W4, y: { access: 'read_write', type: 'vec4f', wgsl: 'y4' } },
    },
  },
});

export interface LinearOptions {
  /** bias is added only to rows n < biasBatches (default N) */
  biasBatches?: number;
  /** apply SiLU to x on load: ADM's emb_layers = SiLU then Linear */
  siluInput?: boolean;
  /** force a kernel variant for this call (default: the engine's adapter decides) */
  variant?: Variant;
}

function dispatch(
  e: Engine,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  n: number,
  cin: number,
  cout: number,
  trans: boolean,
  bb: number,
  silu: boolean,
  variant: Variant | undefined,
  what: string,
): Tensor {
  // the subgroup kernels load weights as vec4 along the contiguous axis: Cin of W
  const fits = trans ? cout % 4 === 0 : cin % 4 === 0;
  const simd = e.adapter.pick('linear', fits, what, `weight Cin ${trans ? cout : cin} is not a multiple of 4`, variant);
  const y = e.tensor([n, cout], what);
  const flops = 2 * n * cin * cout + (silu ? 4 * n * cin : 0);
  const bytes = 4 * (x.size + w.size + y.size);
  const label = `${what} [${x.shape}]x[${w.shape}]`;
  if (simd === 'simd') {
    // rows per workgroup: the weight vec4s are reused across NB rows
    const nb = n >= 8 ? 8 : n >= 4 ? 4 : n >= 2 ? 2 : 1;
    const constants = { SILU: silu ? 1 : 0, SG8: e.adapter.sg8 ? 1 : 0, NB: nb };
    e.run({
      kernel: trans ? LINEAR_SG.trans : LINEAR_SG.fwd,
      constants,
      buffers: trans ? { x, w, y } : { x, w, bias, y },
      params: trans ? { n, cin, cout } : { n, cin, cout, bias_batches: bb },
      grid: [trans ? Math.ceil(cout / 32) : Math.ceil(cout / 8), Math.ceil(n / nb)],
      flops,
      bytes,
      label,
    });
    return y;
  }
  e.run({
    kernel: LINEAR.main,
    constants: { TRANS: trans ? 1 : 0, SILU: silu ? 1 : 0 },
    buffers: { x, w, bias, y },
    params: { n, cin, cout, bias_batches: bb },
    grid: [Math.ceil(cout / 64), n],
    flops,
    bytes,
    label,
  });
  return y;
}

/** y = act(x) Wᵀ + bias (rows n < biasBatches). x [N, Cin], w [Cout, Cin] (PyTorch layout). */
export function linear(e: Engine, x: Tensor, w: Tensor, bias: Tensor | null, opts: LinearOptions = {}): Tensor {
  const what = 'linear';
  if (w.shape.length !== 2) throw new Error(`${what}: weight must be [Cout, Cin], got [${w.shape}]`);
  const [cout, cin] = w.shape;
  if (x.shape.length !== 2 || x.shape[1] !== cin)
    throw new Error(`${what}: input must be [N, ${cin}] for weight [${w.shape}], got [${x.shape}]`);
  if (bias) assertShape(bias, [cout], `${what} bias`);
  const n = x.shape[0];
  const bb = opts.biasBatches ?? n;
  if (!Number.isInteger(bb) || bb < 0 || bb > n)
    throw new Error(`${what}: biasBatches must be in [0, ${n}], got ${bb}`);
  return dispatch(e, x, w, bias, n, cin, cout, false, bb, opts.siluInput ?? false, opts.variant, what);
}

/** gx = gy W: gradient of linear (without SiLU) w.r.t. its input. gy [N, Cout], w [Cout, Cin] -> [N, Cin]. */
export function linearBackwardInput(e: Engine, gy: Tensor, w: Tensor, opts: { variant?: Variant } = {}): Tensor {
  const what = 'linearBackwardInput';
  if (w.shape.length !== 2) throw new Error(`${what}: weight must be [Cout, Cin], got [${w.shape}]`);
  const [cout, cin] = w.shape;
  if (gy.shape.length !== 2 || gy.shape[1] !== cout)
    throw new Error(`${what}: gy must be [N, ${cout}] for weight [${w.shape}], got [${gy.shape}]`);
  return dispatch(e, gy, w, null, gy.shape[0], cout, cin, true, 0, false, opts.variant, what);
}
