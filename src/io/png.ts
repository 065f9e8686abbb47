// PNG <-> float32 NCHW images in [-1, 1], the models' convention: v = u / (2^depth - 1) * 2 - 1 on read and
// u = round((clamp(v, -1, 1) + 1) * 127.5) on write (8-bit), so an 8-bit PNG round-trips exactly.
// Gray PNGs (color types 0, 4) give 1 channel, colour ones (2, 3, 6) give 3; alpha is dropped (no dataset
// here has any). All bit depths pngjs parses (1, 2, 4, 8, 16) are read at full precision.
import { readFileBytes } from '../engine/safetensors-node.ts';
import { writeFileAtomic } from './atomic.ts';
import { PNG } from 'pngjs';
import { rgbaToImage } from './pixels.ts';

export interface Image {
  /** NCHW with N = 1, values in [-1, 1] */
  data: Float32Array;
  shape: [1, number, number, number];
}

export interface DecodeOptions {
  /** convert to this many channels: 1 (luma, ITU-R BT.601 weights) or 3 (gray replicated) */
  channels?: 1 | 3;
  /** refuse images of another size, e.g. the model's [32, 32] ([height, width]) */
  size?: readonly [number, number];
  /** name used in error messages (the file path) */
  label?: string;
}

// A PNG's IHDR may claim any size: a 600-byte file declaring 60000×60000 made pngjs allocate 7 GB. The size is
// checked before decoding (2^26 pixels: 8192×8192, far above any diffusion model's images).
const MAX_PNG_PIXELS = 2 ** 26;

export function decodePng(bytes: Uint8Array, opts: DecodeOptions = {}): Image {
  const label = opts.label ?? 'PNG data';
  if (bytes.length >= 24 && bytes[12] === 0x49 && bytes[13] === 0x48 && bytes[14] === 0x44 && bytes[15] === 0x52) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const w = dv.getUint32(16, false);
    const h = dv.getUint32(20, false);
    if (w * h > MAX_PNG_PIXELS)
      throw new Error(
        `${label}: the PNG declares ${w}×${h} pixels, more than the ${MAX_PNG_PIXELS} this reader accepts`,
      );
  }
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    // skipRescale keeps 1/2/4/16-bit samples as stored (pngjs would otherwise round them to 8 bits).
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (e) {
    throw new Error(`${label}: not a readable PNG (${(e as Error).message})`);
  }
  const { width: W, height: H } = png;
  if (opts.size && (H !== opts.size[0] || W !== opts.size[1])) {
    throw new Error(
      `${label}: image is ${W}×${H} (width×height) but ${opts.size[1]}×${opts.size[0]} is needed; resize or crop it first`,
    );
  }
  // Palette entries are 8-bit colours whatever the index depth; other samples have `depth` bits.
  const max = png.palette ? 255 : 2 ** png.depth - 1;
  const src = png.data as unknown as ArrayLike<number>; // RGBA: Uint8Array, or Uint16Array for 16-bit
  const srcChannels = png.color ? 3 : 1;
  const C = opts.channels ?? srcChannels;
  if (C !== 1 && C !== 3) throw new Error(`${label}: channels must be 1 or 3 (got ${C})`);
  const data = rgbaToImage(src, W, H, C, max);
  return { data, shape: [1, C, H, W] };
}

export function readPng(path: string, opts: Omit<DecodeOptions, 'label'> = {}): Image {
  return decodePng(readFileBytes(path, 2 ** 30), { ...opts, label: path });
}

/** [-1, 1] -> 0..255, clamped and rounded to nearest. */
export function toByte(v: number): number {
  if (!(v > -1)) return 0; // also maps NaN to 0 rather than writing garbage
  if (v >= 1) return 255;
  return Math.round((v + 1) * 127.5);
}

/**
 * Encode one image, [C, H, W] or [1, C, H, W] with C = 1 (gray PNG) or 3 (RGB PNG), values in [-1, 1].
 * A batch must be split (or composed with grid.ts) first.
 */
export function encodePng(data: ArrayLike<number>, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 4 ? shape : shape.length === 3 ? [1, ...shape] : undefined;
  if (!dims) throw new Error(`encodePng: shape ${JSON.stringify(shape)} is not [C,H,W] or [1,C,H,W]`);
  const [N, C, H, W] = dims;
  if (N !== 1)
    throw new Error(
      `encodePng: shape ${JSON.stringify(shape)} holds ${N} images; write them one at a time or as a grid`,
    );
  if (C !== 1 && C !== 3) throw new Error(`encodePng: ${C} channels; only 1 (gray) and 3 (RGB) are supported`);
  if (!(H > 0 && W > 0)) throw new Error(`encodePng: empty image ${JSON.stringify(shape)}`);
  const plane = H * W;
  if (data.length !== C * plane)
    throw new Error(`encodePng: shape ${JSON.stringify(shape)} needs ${C * plane} values, got ${data.length}`);
  const bytes = Buffer.alloc(C * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < C; c++) bytes[C * i + c] = toByte(data[c * plane + i]);
  }
  return encodeBytes(bytes, W, H, C);
}

/** Encode interleaved 8-bit gray (C = 1) or RGB (C = 3) pixels. */
export function encodeBytes(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Uint8Array {
  const png = new PNG({
    width,
    height,
    colorType: channels === 1 ? 0 : 2,
    inputColorType: channels === 1 ? 0 : 2,
    inputHasAlpha: false,
  });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const type = channels === 1 ? 0 : 2;
  return new Uint8Array(PNG.sync.write(png, { colorType: type, inputColorType: type, inputHasAlpha: false }));
}

/** Writes atomically (src/io/atomic.ts): a killed run leaves the previous file or the complete new one. */
export function writePng(path: string, data: ArrayLike<number>, shape: readonly number[]): void {
  writeFileAtomic(path, encodePng(data, shape));
}

/** Nearest-neighbour integer upscaling (for showing 8×8 measurements beside 32×32 images). */
export function upscaleNearest(
  data: ArrayLike<number>,
  shape: readonly [number, number, number],
  factor: number,
): { data: Float32Array; shape: [number, number, number] } {
  const [C, H, W] = shape;
  if (!Number.isInteger(factor) || factor < 1)
    throw new Error(`upscaleNearest: factor must be a positive integer (got ${factor})`);
  const out = new Float32Array(C * H * factor * W * factor);
  const Wo = W * factor;
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H * factor; y++)
      for (let x = 0; x < Wo; x++)
        out[(c * H * factor + y) * Wo + x] = data[(c * H + Math.floor(y / factor)) * W + Math.floor(x / factor)];
  return { data: out, shape: [C, H * factor, Wo] };
}
