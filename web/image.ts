// Image conversions for the page, DOM-free so Node tests can check them: RGBA pixels (from a decoded PNG)
// to a model input in [−1, 1], and model tensors back to RGBA for a canvas.

export interface ModelImage {
  /** [C, H, W] in [−1, 1] */
  data: Float32Array;
  shape: [number, number, number];
}

/**
 * RGBA bytes (row-major, as ImageData) of a w×h image → [C, size, size] in [−1, 1] (u/127.5 − 1).
 * Gray models take the mean of R, G, B. A 28×28 image meets a 32×32 model the way Fashion-MNIST was
 * trained: padded by 2 px of −1. Any other size mismatch is an error naming both sizes (the page resizes
 * on request before calling this).
 */
export function rgbaToModel(
  rgba: Uint8ClampedArray | Uint8Array,
  w: number,
  h: number,
  channels: number,
  size: number,
): ModelImage {
  if (rgba.length !== w * h * 4)
    throw new Error(`image: ${rgba.length} bytes for ${w}×${h} RGBA (expected ${w * h * 4})`);
  if (channels !== 1 && channels !== 3)
    throw new Error(`image: the model has ${channels} channels; only 1 (gray) and 3 (RGB) are supported`);
  const pad = (size - w) / 2;
  const padded = w === h && Number.isInteger(pad) && pad > 0 && w === 28;
  if (!(w === size && h === size) && !padded) {
    throw new Error(
      `image is ${w}×${h}, the model takes ${size}×${size}${size === 32 ? ' (or 28×28, padded like Fashion-MNIST)' : ''}`,
    );
  }
  const off = padded ? pad : 0;
  const out = new Float32Array(channels * size * size).fill(-1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = 4 * (y * w + x);
      const o = (y + off) * size + x + off;
      if (channels === 1) {
        const r = rgba[p],
          g = rgba[p + 1],
          b = rgba[p + 2];
        // a gray PNG decodes to r = g = b: keep it exact (the mean would round the same, but say why)
        const u = r === g && g === b ? r : (r + g + b) / 3;
        out[o] = u / 127.5 - 1;
      } else {
        for (let c = 0; c < 3; c++) out[c * size * size + o] = rgba[p + c] / 127.5 - 1;
      }
    }
  }
  return { data: out, shape: [channels, size, size] };
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
