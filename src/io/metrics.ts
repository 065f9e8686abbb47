// Image quality metrics, in float64, on images stored in the models' [−1, 1] range.
//
// Convention (both metrics): values are clamped to [−1, 1] and mapped to [0, 1] by (v + 1) / 2, then
//   PSNR = 10 log10(1 / MSE)           (data range 1; +Infinity for identical images)
//   SSIM = Wang et al. 2004 with an 11-tap Gaussian window (σ 1.5), K1 = 0.01, K2 = 0.03, data range 1,
//          population (biased) variances, the mean of the SSIM map over the pixels whose window lies fully
//          inside the image; colour images: the mean over channels.
// This reproduces skimage.metrics.structural_similarity(a, b, data_range=1, gaussian_weights=True,
// sigma=1.5, use_sample_covariance=False[, channel_axis=0]) — skimage filters the whole image and then
// crops a 5-px border, which leaves exactly the windows computed here.

export const SSIM_SIGMA = 1.5;
export const SSIM_RADIUS = 5; // int(3.5 σ + 0.5), scipy's truncation of the Gaussian as used by skimage
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;

const unit = (v: number) => (Math.min(1, Math.max(-1, v)) + 1) / 2;

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: images have ${a.length} and ${b.length} values`);
  if (a.length === 0) throw new Error(`${what}: empty images`);
}

/** PSNR in dB of `x` against the reference `ref` (any shape, same length), see the convention above. */
export function psnr(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  checkPair(x, ref, 'psnr');
  let se = 0;
  for (let i = 0; i < x.length; i++) {
    const d = unit(x[i]) - unit(ref[i]);
    se += d * d;
  }
  const mse = se / x.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

/** Normalised 1-D Gaussian taps w[-r..r], as scipy.ndimage.gaussian_filter builds them. */
export function gaussianTaps(sigma = SSIM_SIGMA, radius = SSIM_RADIUS): Float64Array {
  const w = new Float64Array(2 * radius + 1);
  let s = 0;
  for (let k = -radius; k <= radius; k++) s += w[k + radius] = Math.exp((-0.5 * k * k) / (sigma * sigma));
  for (let k = 0; k < w.length; k++) w[k] /= s;
  return w;
}

/**
 * SSIM of `x` against `ref`, shape [C, H, W] (or [H, W], or [1, C, H, W]); H, W ≥ 11.
 * Mean over channels for C > 1.
 */
export function ssim(x: ArrayLike<number>, ref: ArrayLike<number>, shape: readonly number[]): number {
  const dims = shape.length === 2 ? [1, ...shape] : shape.length === 4 && shape[0] === 1 ? shape.slice(1) : shape;
  if (dims.length !== 3) throw new Error(`ssim: shape ${JSON.stringify(shape)} is not [H,W], [C,H,W] or [1,C,H,W]`);
  const [C, H, W] = dims;
  checkPair(x, ref, 'ssim');
  if (x.length !== C * H * W)
    throw new Error(`ssim: shape ${JSON.stringify(shape)} needs ${C * H * W} values, got ${x.length}`);
  const win = 2 * SSIM_RADIUS + 1;
  if (H < win || W < win) throw new Error(`ssim: image ${H}×${W} is smaller than the ${win}×${win} window`);
  let total = 0;
  for (let c = 0; c < C; c++) total += ssimPlane(x, ref, c * H * W, H, W);
  return total / C;
}

function ssimPlane(xa: ArrayLike<number>, ya: ArrayLike<number>, off: number, H: number, W: number): number {
  const r = SSIM_RADIUS;
  const taps = gaussianTaps();
  const C1 = SSIM_K1 ** 2;
  const C2 = SSIM_K2 ** 2;
  const n = H * W;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = unit(xa[off + i]);
    y[i] = unit(ya[off + i]);
  }
  // Separable filtering of the five moment images, rows first (only the columns that stay valid).
  const Wv = W - 2 * r;
  const Hv = H - 2 * r;
  const src = [x, y, mul(x, x), mul(y, y), mul(x, y)];
  const rows = src.map((img) => {
    const out = new Float64Array(H * Wv);
    for (let i = 0; i < H; i++)
      for (let j = 0; j < Wv; j++) {
        let s = 0;
        for (let k = 0; k < taps.length; k++) s += taps[k] * img[i * W + j + k];
        out[i * Wv + j] = s;
      }
    return out;
  });
  let sum = 0;
  for (let i = 0; i < Hv; i++)
    for (let j = 0; j < Wv; j++) {
      const m = rows.map((img) => {
        let s = 0;
        for (let k = 0; k < taps.length; k++) s += taps[k] * img[(i + k) * Wv + j];
        return s;
      });
      const [mx, my, mxx, myy, mxy] = m;
      const vx = mxx - mx * mx;
      const vy = myy - my * my;
      const cxy = mxy - mx * my;
      sum += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
    }
  return sum / (Hv * Wv);
}

function mul(a: Float64Array, b: Float64Array): Float64Array {
  const o = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = a[i] * b[i];
  return o;
}

/** Per-image metric over a batch [N, C, H, W]. */
export function perImage(
  metric: 'psnr' | 'ssim',
  x: ArrayLike<number>,
  ref: ArrayLike<number>,
  shape: readonly number[],
): number[] {
  if (shape.length !== 4) throw new Error(`perImage: shape ${JSON.stringify(shape)} is not [N,C,H,W]`);
  const [N, C, H, W] = shape;
  const size = C * H * W;
  checkPair(x, ref, metric);
  if (x.length !== N * size)
    throw new Error(`perImage: shape ${JSON.stringify(shape)} needs ${N * size} values, got ${x.length}`);
  const view = (a: ArrayLike<number>, k: number) => Array.prototype.slice.call(a, k * size, (k + 1) * size) as number[];
  return Array.from({ length: N }, (_, k) =>
    metric === 'psnr' ? psnr(view(x, k), view(ref, k)) : ssim(view(x, k), view(ref, k), [C, H, W]),
  );
}

/** Mean and population standard deviation (numpy's default, ddof 0) — the "mean ± std" of result tables. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, std };
}
