// Pixels → model images, shared by the PNG reader of the CLI (src/io/png.ts) and the browser page, so both
// turn the same picture into the same tensor: gray is ITU-R BT.601 luma (as PIL's convert('L') and the
// DPS loaders' torchvision Grayscale), an image of another size is centre-cropped to a square and resampled.

/** ITU-R BT.601 luma weights of R, G, B. */
export const LUMA_BT601 = [0.299, 0.587, 0.114] as const;

/** Gray of an (r, g, b) sample: BT.601 luma; exactly r when r = g = b (a gray picture stays bit-exact). */
export function grayOf(r: number, g: number, b: number): number {
  return r === g && g === b ? r : LUMA_BT601[0] * r + LUMA_BT601[1] * g + LUMA_BT601[2] * b;
}

/**
 * Interleaved RGBA samples (as ImageData, or a decoded PNG) of a width×height picture → [C, H, W] in
 * [−1, 1]: v = u / max · 2 − 1. C = 1 takes the BT.601 gray, C = 3 the colour (a gray picture replicated).
 */
export function rgbaToImage(
  rgba: ArrayLike<number>,
  width: number,
  height: number,
  channels: 1 | 3,
  max = 255,
): Float32Array {
  const plane = width * height;
  if (rgba.length < 4 * plane) throw new Error(`image: ${rgba.length} samples for ${width}×${height} RGBA`);
  const out = new Float32Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    const r = rgba[4 * i] / max;
    const g = rgba[4 * i + 1] / max;
    const b = rgba[4 * i + 2] / max;
    if (channels === 1) out[i] = grayOf(r, g, b) * 2 - 1;
    else {
      out[i] = r * 2 - 1;
      out[plane + i] = g * 2 - 1;
      out[2 * plane + i] = b * 2 - 1;
    }
  }
  return out;
}

/** How fitImage met the model's size. */
export type FitKind = 'exact' | 'padded' | 'resized';

/**
 * An image [C, H, W] brought to [C, size, size]: unchanged at that size; a 28×28 image for a 32×32 model
 * padded by 2 px of −1 (how Fashion-MNIST models are trained); anything else centre-cropped to a square
 * and resampled — an area average when shrinking (no aliasing), bilinear (half-pixel centres, like
 * PyTorch's align_corners=False) when enlarging.
 */
export function fitImage(
  data: Float32Array,
  shape: readonly [number, number, number],
  size: number,
): { data: Float32Array; shape: [number, number, number]; fit: FitKind } {
  const [C, H, W] = shape;
  if (!(Number.isInteger(size) && size > 0)) throw new Error(`fitImage: size must be a positive integer (${size})`);
  if (data.length !== C * H * W) throw new Error(`fitImage: ${data.length} values for [${shape}]`);
  if (H === size && W === size) return { data, shape: [C, H, W], fit: 'exact' };
  if (H === 28 && W === 28 && size === 32) {
    const out = new Float32Array(C * size * size).fill(-1);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < 28; y++)
        for (let x = 0; x < 28; x++) out[(c * size + y + 2) * size + x + 2] = data[(c * H + y) * W + x];
    return { data: out, shape: [C, size, size], fit: 'padded' };
  }
  const m = Math.min(H, W);
  const top = Math.floor((H - m) / 2);
  const left = Math.floor((W - m) / 2);
  const wy = resampleWeights(m, size);
  const out = new Float32Array(C * size * size);
  const tmp = new Float64Array(m * size); // rows of the crop, resampled along x
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < m; y++)
      for (let x = 0; x < size; x++) {
        let s = 0;
        for (const [k, w] of wy[x]) s += w * data[(c * H + top + y) * W + left + k];
        tmp[y * size + x] = s;
      }
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        let s = 0;
        for (const [k, w] of wy[y]) s += w * tmp[k * size + x];
        out[(c * size + y) * size + x] = s;
      }
  }
  return { data: out, shape: [C, size, size], fit: 'resized' };
}

/** For each of n output samples over m input samples: (input index, weight) pairs summing to 1. */
export function resampleWeights(m: number, n: number): Array<Array<[number, number]>> {
  const rows: Array<Array<[number, number]>> = [];
  const r = m / n;
  for (let i = 0; i < n; i++) {
    const row: Array<[number, number]> = [];
    if (m >= n) {
      // area average: input pixel k covers [k, k+1), output pixel i covers [i·r, (i+1)·r)
      const a = i * r;
      const b = (i + 1) * r;
      for (let k = Math.floor(a); k < Math.min(m, Math.ceil(b)); k++) {
        const w = Math.min(b, k + 1) - Math.max(a, k);
        if (w > 0) row.push([k, w / r]);
      }
    } else {
      const c = Math.min(m - 1, Math.max(0, (i + 0.5) * r - 0.5));
      const k = Math.floor(c);
      const f = c - k;
      row.push([k, 1 - f]);
      if (f > 0) row.push([k + 1, f]);
    }
    rows.push(row);
  }
  return rows;
}
