// Image conversions for the page, DOM-free so Node tests can check them: a decoded picture (RGBA pixels of
// any size, colour or gray) to a model input in [−1, 1], and model tensors back to RGBA for a canvas. The
// pixel conversion and the fit to the model's size are src/io/pixels.ts — the same as the CLI's PNG reader.
import { fitImage, rgbaToImage, type FitKind } from '../src/io/pixels.ts';

export interface ModelImage {
  /** [C, H, W] in [−1, 1] */
  data: Float32Array;
  shape: [number, number, number];
}

/**
 * RGBA bytes (row-major, as ImageData) of a w×h picture → [C, size, size] in [−1, 1] (u/127.5 − 1): gray
 * models take the BT.601 luma; a picture of another size is centre-cropped and resized (28×28 meets a
 * 32×32 model padded by 2 px, as Fashion-MNIST was trained). `fit` says which.
 */
export function rgbaToModel(
  rgba: Uint8ClampedArray | Uint8Array,
  w: number,
  h: number,
  channels: number,
  size: number,
): ModelImage & { fit: FitKind } {
  if (rgba.length !== w * h * 4)
    throw new Error(`image: ${rgba.length} bytes for ${w}×${h} RGBA (expected ${w * h * 4})`);
  if (channels !== 1 && channels !== 3)
    throw new Error(`image: the model has ${channels} channels; only 1 (gray) and 3 (RGB) are supported`);
  return fitImage(rgbaToImage(rgba, w, h, channels), [channels, h, w], size);
}

/** [C, H, W] (C = 1 or 3) in [−1, 1] → RGBA bytes; values outside [−1, 1] are clipped. */
export function modelToRgba(
  data: ArrayLike<number>,
  shape: readonly number[],
): { rgba: Uint8ClampedArray<ArrayBuffer>; width: number; height: number } {
  const [C, H, W] = shape.length === 4 ? shape.slice(1) : shape;
  if (data.length < C * H * W) throw new Error(`modelToRgba: ${data.length} values for [${shape}]`);
  const rgba = new Uint8ClampedArray(H * W * 4);
  for (let i = 0; i < H * W; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[(C === 3 ? c : 0) * H * W + i];
      rgba[4 * i + c] = Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5);
    }
    rgba[4 * i + 3] = 255;
  }
  return { rgba, width: W, height: H };
}

/** Seconds as m:ss (ETA and elapsed time on the page). */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–:––';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
