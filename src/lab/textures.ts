// Small synthetic textures for tests and examples (no image files needed): a few oriented sinusoids plus
// smoothed noise, scaled to about [−1, 1]. Deterministic in `seed`.
import { Rng64 } from './rng64.js';

/** [C, H, W] float64 texture; channels get correlated but distinct patterns (so colour ADSN is non-trivial). */
export function syntheticTexture(C: number, H: number, W: number, seed = 1): Float64Array {
  const rng = new Rng64(seed);
  const hw = H * W;
  const out = new Float64Array(C * hw);
  const waves = Array.from({ length: 3 }, () => ({
    fy: Math.floor(rng.uniform() * (H / 2)) + 1,
    fx: Math.floor(rng.uniform() * (W / 2)),
    ph: rng.uniform() * 2 * Math.PI,
    amp: 0.2 + 0.3 * rng.uniform(),
  }));
  const noise = rng.normals(hw);
  // 3×3 circular box smoothing of the noise
  const smooth = new Float64Array(hw);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) s += noise[((y + dy + H) % H) * W + ((x + dx + W) % W)];
      smooth[y * W + x] = s / 9;
    }
  for (let c = 0; c < C; c++) {
    const tint = 0.6 + 0.4 * rng.uniform();
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let v = 0.1 * (c - 1) + 0.5 * smooth[y * W + x] * (c === 1 ? -1 : 1);
        waves.forEach((wv, k) => {
          const a = k === c % 3 ? wv.amp : wv.amp * tint;
          v += a * Math.cos((2 * Math.PI * wv.fy * y) / H + (2 * Math.PI * wv.fx * x) / W + wv.ph);
        });
        out[c * hw + y * W + x] = Math.max(-1, Math.min(1, v));
      }
  }
  return out;
}
