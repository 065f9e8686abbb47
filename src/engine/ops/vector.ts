// Level-1 vector math on GPU tensors (shaders/vector.wgsl, vector2.wgsl). All functions record work
// on the engine and return at once; results are read with engine.read().
import { f32, uniforms, type Engine } from '../executor.js';
import type { Tensor } from '../tensor.js';

/** 1-D grid of 256-lane workgroups, folded into 2-D when it exceeds the per-dimension limit. */
export function grid1d(engine: Engine, n: number): [number, number] {
  const wgs = Math.ceil(n / 256);
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  if (wgs <= max) return [wgs, 1];
  const y = Math.ceil(wgs / max);
  return [Math.ceil(wgs / y), y];
}

function checkSize(a: Tensor, b: Tensor, what: string) {
  if (a.size !== b.size) throw new Error(`${what}: size mismatch ${a.size} ([${a.shape}]) vs ${b.size} ([${b.shape}])`);
}

/** out ← a·x + b·out (in place). */
export function axpby(e: Engine, a: number, x: Tensor, b: number, out: Tensor): Tensor {
  checkSize(x, out, 'axpby');
  const n = out.size;
  e.run({
    kernel: { family: 'vector', entry: 'axpby' },
    bindings: [x, out],
    uniforms: uniforms(n, 0, f32(a), f32(b), f32(0), f32(0)),
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
    kernel: { family: 'vector2', entry: 'lincomb' },
    bindings: [x, y, o],
    uniforms: uniforms(n, 0, f32(a), f32(b)),
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
    kernel: { family: 'vector', entry: 'affine_clamp' },
    bindings: [x, o],
    uniforms: uniforms(n, 0, f32(a), f32(b), f32(Math.max(lo, -big)), f32(Math.min(hi, big))),
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
    kernel: { family: 'vector', entry: 'copy' },
    bindings: [x, o],
    uniforms: uniforms(n, 0, f32(0), f32(0), f32(0), f32(0)),
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
    kernel: { family: 'vector', entry: 'mul' },
    bindings: [x, out],
    uniforms: uniforms(n, 0, f32(0), f32(0), f32(0), f32(0)),
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
    kernel: { family: 'vector', entry: 'row_sumsq' },
    bindings: [x, o],
    uniforms: uniforms(per, rows, f32(0), f32(0), f32(0), f32(0)),
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
    kernel: { family: 'vector2', entry: 'row_dot' },
    bindings: [x, y, o],
    uniforms: uniforms(per, rows, f32(0), f32(0)),
    grid: [rows],
    flops: 2 * x.size,
    bytes: 8 * x.size,
  });
  return o;
}
