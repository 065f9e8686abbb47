// Inpainting: y = x ⊙ m with one mask m ∈ {0, 1}^{h×w} (1 = observed) shared by every channel and image,
// as DPS (its mask is [1, 1, h, w], broadcast), or one per channel, m ∈ {0, 1}^{C×h×w} (e.g. "90 % of all
// pixels across the RGB channels"), shared by every image. A is an orthogonal projection: Aᵀ = A⁺ = A.
// SVD (DDRM's Inpainting H_functions): U = I on the kept entries, Σ = I, V a permutation listing the
// kept entries first, channel-minor (index pixel·C + c), then the missing ones.
//
// Mask generators follow DPS's util/img_utils.py mask_generator with a Philox stream for numpy's RNG:
//   box:    an h_b×w_b hole at top ∈ [margin, h − margin − h_b), left likewise (numpy randint bounds);
//           DPS: 128×128 with 16 px margins on 256² images — the defaults scale with the image size.
//   random: exactly ⌊h·w·p⌋ pixels dropped, chosen without replacement (numpy choice(replace=False)).
import { PNG } from 'pngjs';
import { PhiloxStream } from '../engine/ops/random.js';
import type { Engine } from '../engine/executor.js';
import type { Tensor } from '../engine/tensor.js';
import type { MeasurementOperator, SvdView } from './operator.js';
import { gather, inverseIndex, MASK } from './svd.js';
import { expectShape, imageShape, runFlat, type Shape4 } from './util.js';

export interface BoxMaskOptions {
  /** hole size [h, w] (or one number for a square); default round(h/2) × round(w/2) (DPS: 128 on 256) */
  size?: number | readonly [number, number];
  /** fixed top-left corner; default random (seeded) */
  top?: number;
  left?: number;
  /** margins kept free of the hole when placing it at random; default round(16/256 · size) */
  margin?: number | readonly [number, number];
  seed?: number;
}

const pair = (v: number | readonly [number, number]): [number, number] =>
  typeof v === 'number' ? [v, v] : [v[0], v[1]];

/** 1 outside a box, 0 inside ([h·w], row-major). Also returns where the box went. */
export function boxMask(
  h: number,
  w: number,
  o: BoxMaskOptions = {},
): { mask: Float32Array; top: number; left: number; size: [number, number] } {
  const [bh, bw] = pair(o.size ?? [Math.round(h / 2), Math.round(w / 2)]);
  if (!(Number.isInteger(bh) && Number.isInteger(bw) && bh > 0 && bw > 0 && bh <= h && bw <= w)) {
    throw new Error(`box mask: size ${bh}×${bw} must be positive integers within the ${h}×${w} image`);
  }
  const [mh, mw] = pair(o.margin ?? [Math.round((16 / 256) * h), Math.round((16 / 256) * w)]);
  const rng = new PhiloxStream(o.seed ?? 0, 0x626f78); // "box"
  // numpy randint(margin, size − margin − box): upper bound exclusive; an empty range centres the box
  const place = (len: number, box: number, margin: number) =>
    len - margin - box > margin ? rng.int(margin, len - margin - box) : Math.floor((len - box) / 2);
  const top = o.top ?? place(h, bh, mh);
  const left = o.left ?? place(w, bw, mw);
  if (top < 0 || left < 0 || top + bh > h || left + bw > w) {
    throw new Error(`box mask: box ${bh}×${bw} at (${top}, ${left}) leaves the ${h}×${w} image`);
  }
  const mask = new Float32Array(h * w).fill(1);
  for (let i = top; i < top + bh; i++) mask.fill(0, i * w + left, i * w + left + bw);
  return { mask, top, left, size: [bh, bw] };
}

export interface RandomMaskOptions {
  /** fraction of pixels dropped (DPS paper: 0.92); default 0.92 */
  p?: number;
  /** draw p ~ U(lo, hi) first, as DPS's config (mask_prob_range (0.3, 0.7)) */
  pRange?: readonly [number, number];
  seed?: number;
}

/** Random pixel mask: ⌊h·w·p⌋ pixels set to 0, the same on every channel. */
export function randomMask(h: number, w: number, o: RandomMaskOptions = {}): { mask: Float32Array; p: number } {
  const rng = new PhiloxStream(o.seed ?? 0, 0x726e64); // "rnd"
  const p = o.pRange ? rng.range(o.pRange[0], o.pRange[1]) : (o.p ?? 0.92);
  if (!(p >= 0 && p <= 1)) throw new Error(`random mask: drop fraction must be in [0, 1], got ${p}`);
  const n = h * w,
    drop = Math.floor(n * p);
  const idx = new Uint32Array(n).map((_, i) => i);
  for (let i = 0; i < drop; i++) {
    const j = rng.int(i, n);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  const mask = new Float32Array(n).fill(1);
  for (let i = 0; i < drop; i++) mask[idx[i]] = 0;
  return { mask, p };
}

/**
 * A user mask from PNG bytes: white (≥ threshold of the 8-bit luma) = observed, black = missing (`invert`
 * swaps). The PNG must have the image's size.
 */
export function maskFromPng(
  bytes: Uint8Array,
  h: number,
  w: number,
  o: { threshold?: number; invert?: boolean; label?: string } = {},
): Float32Array {
  const label = o.label ?? 'mask PNG';
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new Error(`${label}: not a readable PNG (${(err as Error).message})`);
  }
  if (png.height !== h || png.width !== w)
    throw new Error(`${label}: mask is ${png.width}×${png.height}, the image is ${w}×${h}`);
  const t = o.threshold ?? 128;
  const mask = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) {
    const d = png.data;
    const luma = 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2];
    mask[i] = luma >= t !== !!o.invert ? 1 : 0;
  }
  return mask;
}

function checkMask(mask: Float32Array, c: number, h: number, w: number) {
  if (mask.length !== h * w && mask.length !== c * h * w)
    throw new Error(
      `inpainting: mask has ${mask.length} values, expected the image plane ${h}×${w} = ${h * w} or one per channel ${c}×${h}×${w} = ${c * h * w}`,
    );
  for (const v of mask) if (v !== 0 && v !== 1) throw new Error(`inpainting: mask values must be 0 or 1, found ${v}`);
}

export class InpaintOperator implements MeasurementOperator {
  readonly name: string;
  readonly inputShape: Shape4;
  readonly outputShape: Shape4;
  readonly linear = true;
  /** the mask as a tensor [1, 1, h, w], or [1, C, h, w] for a per-channel mask */
  readonly maskTensor: Tensor;
  private svdView: MaskSvd | null = null;

  constructor(
    readonly engine: Engine,
    inputShape: readonly number[],
    readonly mask: Float32Array,
    name = 'inpaint',
  ) {
    this.inputShape = imageShape(inputShape, 'inpainting');
    this.outputShape = this.inputShape;
    const [, C, H, W] = this.inputShape;
    checkMask(mask, C, H, W);
    this.name = name;
    this.maskTensor = engine.upload(mask, [1, mask.length / (H * W), H, W], 'mask');
  }

  forward(x: Tensor): Tensor {
    expectShape(x, this.inputShape, `${this.name}.forward`);
    const out = this.engine.tensor(this.outputShape, `${this.name}_y`);
    // the mask repeats every mask.length elements: each image plane (shared) or each image (per channel)
    runFlat(
      this.engine,
      MASK.apply_mask,
      { src: x, mask: this.maskTensor, dst: out },
      { total: x.size, per_out: this.mask.length },
      x.size,
      {
        flops: x.size,
        bytes: 8 * x.size,
      },
    );
    return out;
  }

  adjoint(y: Tensor): Tensor {
    return this.forward(y.reshape(this.inputShape));
  }

  vjp(_x: Tensor, u: Tensor): Tensor {
    return this.adjoint(u);
  }

  /** exact: A is an orthogonal projection */
  pinv(y: Tensor): Tensor {
    return this.adjoint(y);
  }

  get svd(): SvdView {
    this.svdView ??= this.engine.alongside(this.maskTensor, () => new MaskSvd(this.engine, this.inputShape, this.mask));
    return this.svdView;
  }

  /** Frees the mask and SVD index buffers. */
  destroy(): void {
    this.engine.release(this.maskTensor);
    this.svdView?.destroy();
    this.svdView = null;
  }
}

/** DDRM Inpainting layout: V lists kept entries (pixel·C + c order) first, then missing ones; U = I on the kept. */
export class MaskSvd implements SvdView {
  readonly rank: number;
  readonly singulars: Tensor;
  private vIdx: Tensor;
  private vInv: Tensor;
  private uIdx: Tensor;
  private uInv: Tensor;

  constructor(
    private e: Engine,
    readonly shape: Shape4,
    mask: Float32Array,
  ) {
    const [, C, H, W] = shape;
    const kept: number[] = [],
      missing: number[] = [];
    const perChannel = mask.length === C * H * W;
    for (let p = 0; p < H * W; p++)
      for (let c = 0; c < C; c++) (mask[perChannel ? c * H * W + p : p] ? kept : missing).push(c * H * W + p);
    this.rank = kept.length;
    if (this.rank === 0) throw new Error('inpainting: the mask keeps no pixel');
    this.singulars = e.upload(new Float32Array(this.rank).fill(1), [this.rank], 'mask_singulars');
    const v = Uint32Array.from([...kept, ...missing]);
    const u = Uint32Array.from(kept);
    this.vIdx = e.upload(v, [v.length], 'mask_v_idx');
    this.vInv = e.upload(inverseIndex(v, C * H * W), [C * H * W], 'mask_v_inv');
    this.uIdx = e.upload(u, [u.length], 'mask_u_idx');
    this.uInv = e.upload(inverseIndex(u, C * H * W), [C * H * W], 'mask_u_inv');
  }

  destroy(): void {
    this.e.release(this.singulars, this.vIdx, this.vInv, this.uIdx, this.uInv);
  }

  private get D() {
    return this.shape[1] * this.shape[2] * this.shape[3];
  }

  vt(x: Tensor): Tensor {
    expectShape(x, this.shape, 'mask svd.vt');
    return gather(this.e, x, this.vIdx, this.shape[0], this.D, [this.shape[0], this.D]);
  }
  v(z: Tensor): Tensor {
    expectShape(z, [this.shape[0], this.D], 'mask svd.v');
    return gather(this.e, z, this.vInv, this.shape[0], this.D, this.shape);
  }
  ut(y: Tensor): Tensor {
    expectShape(y, this.shape, 'mask svd.ut');
    return gather(this.e, y, this.uIdx, this.shape[0], this.D, [this.shape[0], this.rank]);
  }
  u(z: Tensor): Tensor {
    expectShape(z, [this.shape[0], this.rank], 'mask svd.u');
    return gather(this.e, z, this.uInv, this.shape[0], this.rank, this.shape);
  }
}
