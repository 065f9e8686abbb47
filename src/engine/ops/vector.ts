// Level-1 vector math on GPU tensors (shaders/vector.wgsl, vector2.wgsl). All functions record work
// on the engine and return at once; results are read with engine.read().
import type { Engine } from '../executor.js';
import { defineKernels } from '../kernel.js';
import type { Tensor } from '../tensor.js';

/** 1-D grid of 256-lane workgroups, folded into 2-D when it exceeds the per-dimension limit. */
export function grid1d(engine: Engine, n: number): [number, number] {
  const wgs = Math.ceil(n / 256);
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  if (wgs <= max) return [wgs, 1];
  const y = Math.ceil(wgs / max);
  return [Math.ceil(wgs / y), y];
}

const XO = { x: 'read', out: 'read_write' } as const;
export const VECTOR = defineKernels('vector', {
  uniforms: { n: 'u32', a: 'f32', b: 'f32', c: 'f32', d: 'f32' }, // n: elements (row_sumsq: per row)
  entries: {
    axpby: { uniforms: ['n', 'a', 'b'], bindings: XO },
    affine_clamp: { bindings: XO },
    mul: { uniforms: ['n'], bindings: XO },
    copy: { uniforms: ['n'], bindings: XO },
    row_sumsq: { uniforms: ['n'], bindings: XO },
  },
});
const XYO = { x: 'read', y: 'read', out: 'read_write' } as const;
export const VECTOR2 = defineKernels('vector2', {
  uniforms: { n: 'u32', a: 'f32', b: 'f32' }, // n: elements (row_dot: per row)
  entries: {
    lincomb: { bindings: XYO },
    row_dot: { uniforms: ['n'], bindings: XYO },
  },
});

function checkSize(a: Tensor, b: Tensor, what: string) {
  if (a.size !== b.size) throw new Error(`${what}: size mismatch ${a.size} ([${a.shape}]) vs ${b.size} ([${b.shape}])`);
}

/** out ← a·x + b·out (in place). */
export function axpby(e: Engine, a: number, x: Tensor, b: number, out: Tensor): Tensor {
  checkSize(x, out, 'axpby');
  const n = out.size;
  e.run({
    kernel: VECTOR.axpby,
    buffers: { x, out },
    params: { n, a, b },
    grid: grid1d(e, n),
    flops: 3 * n,
    bytes: 12 * n,
  });
  return out;
}

/** New tensor a·x + b·y. */
export function lincomb(e: Engine, a: number, x: Tensor, b: number, y: Tensor, out?: Tensor): Tensor {
  checkSize(x, y, 'lincomb');
  const o = out ?? e.tensor(x.shape, 'lincomb');
  const n = x.size;
  e.run({
    kernel: VECTOR2.lincomb,
    buffers: { x, y, out: o },
    params: { n, a, b },
    grid: grid1d(e, n),
    flops: 3 * n,
    bytes: 12 * n,
  });
  return o;
}

/** New tensor clamp(a·x + b, lo, hi). */
export function affineClamp(
  e: Engine,
  x: Tensor,
  a: number,
  b: number,
  lo = -Infinity,
  hi = Infinity,
  out?: Tensor,
): Tensor {
  const o = out ?? e.tensor(x.shape, 'affine');
  const n = x.size;
  const big = 3.4e38;
  e.run({
    kernel: VECTOR.affine_clamp,
    buffers: { x, out: o },
    params: { n, a, b, c: Math.max(lo, -big), d: Math.min(hi, big) },
    grid: grid1d(e, n),
    flops: 2 * n,
    bytes: 8 * n,
  });
  return o;
}

export function scale(e: Engine, x: Tensor, a: number, out?: Tensor): Tensor {
  return affineClamp(e, x, a, 0, -Infinity, Infinity, out);
}

export function copy(e: Engine, x: Tensor, out?: Tensor): Tensor {
  const o = out ?? e.tensor(x.shape, x.label);
  checkSize(x, o, 'copy');
  const n = x.size;
  e.run({
    kernel: VECTOR.copy,
    buffers: { x, out: o },
    params: { n },
    grid: grid1d(e, n),
    bytes: 8 * n,
  });
  return o;
}

/** out ← out ⊙ x (in place). */
export function mulInPlace(e: Engine, out: Tensor, x: Tensor): Tensor {
  checkSize(x, out, 'mul');
  const n = out.size;
  e.run({
    kernel: VECTOR.mul,
    buffers: { x, out },
    params: { n },
    grid: grid1d(e, n),
    flops: n,
    bytes: 12 * n,
  });
  return out;
}

/** Per-row (first axis) sum of squares → tensor [rows]. */
export function rowSumSq(e: Engine, x: Tensor, rows = x.shape[0]): Tensor {
  const per = x.size / rows;
  const o = e.tensor([rows], 'row_sumsq');
  e.run({
    kernel: VECTOR.row_sumsq,
    buffers: { x, out: o },
    params: { n: per },
    grid: [rows],
    flops: 2 * x.size,
    bytes: 4 * x.size,
  });
  return o;
}

/** Per-row (first axis) dot product → tensor [rows]. */
export function rowDot(e: Engine, x: Tensor, y: Tensor, rows = x.shape[0]): Tensor {
  checkSize(x, y, 'rowDot');
  const per = x.size / rows;
  const o = e.tensor([rows], 'row_dot');
  e.run({
    kernel: VECTOR2.row_dot,
    buffers: { x, y, out: o },
    params: { n: per },
    grid: [rows],
    flops: 2 * x.size,
    bytes: 8 * x.size,
  });
  return o;
}
