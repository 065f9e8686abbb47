// Float64 algebra of stationary (circulant) covariances. In the 2-D DFT basis Σ is block diagonal: one C×C
// Hermitian block S(ξ) per frequency. The lab keeps S(ξ) rank-one or scalar:
//   gray (C = 1):     S(ξ) = λ(ξ) ≥ 0;
//   colour (C = 3):   S(ξ) = λ(ξ) u(ξ)u(ξ)*, |u| = 1 (ADSN: u = ĥ/|ĥ|, λ = |ĥ|²), u = 0 where λ = 0.
// Every function of S then has the closed form g(S) = g(0)(I − uu*) + g(λ) uu*, and so do the diffusion
// quantities (Σₜ = aₜ²Σ + σₜ²I, Cov[x₀|xₜ], deblurring posteriors with a channel-shared blur), which is
// what makes the lab's posteriors exact. DFT convention as fft64.ts: Σx = F⁻¹ S F x with unnormalised F.
import { fft2InPlace } from './fft64.js';

export interface CirculantSpectrum {
  channels: 1 | 3;
  height: number;
  width: number;
  /** [H·W] nonzero eigenvalue of each block */
  lambda: Float64Array;
  /** colour only: unit direction u(ξ), [H·W·3] real and imaginary parts (zero where λ = 0) */
  dirRe?: Float64Array;
  dirIm?: Float64Array;
}

/** A complex per-frequency multiplier (e.g. a blur's transfer function), [H·W] each. */
export interface FreqMultiplier {
  re: Float64Array;
  im: Float64Array;
}

/** g(S(ξ))·m(ξ) as a float32 table [H, W, C, C, 2] for SpectralFilter. */
export function spectralTable(
  spec: CirculantSpectrum,
  g: (s: number, i: number) => number,
  mult?: FreqMultiplier,
): Float32Array {
  return Float32Array.from(spectralBlocks(spec, g, mult));
}

/** g(S(ξ))·m(ξ) per frequency, float64 [H·W, C, C, 2] (re, im): the eigen-blocks of g(Σ)·M. */
export function spectralBlocks(
  spec: CirculantSpectrum,
  g: (s: number, i: number) => number,
  mult?: FreqMultiplier,
): Float64Array {
  const { channels: C, height: H, width: W } = spec;
  const hw = H * W;
  const out = new Float64Array(hw * C * C * 2);
  for (let i = 0; i < hw; i++) {
    const mr = mult ? mult.re[i] : 1,
      mi = mult ? mult.im[i] : 0;
    const base = i * C * C * 2;
    if (C === 1) {
      const v = g(spec.lambda[i], i);
      out[base] = v * mr;
      out[base + 1] = v * mi;
      continue;
    }
    const g0 = g(0, i),
      gl = g(spec.lambda[i], i);
    for (let c = 0; c < C; c++) {
      for (let d = 0; d < C; d++) {
        // (gl − g0)·u_c·conj(u_d) + g0·δ_cd
        const ur = spec.dirRe![i * C + c],
          ui = spec.dirIm![i * C + c];
        const vr = spec.dirRe![i * C + d],
          vi = -spec.dirIm![i * C + d];
        let re = (gl - g0) * (ur * vr - ui * vi),
          im = (gl - g0) * (ur * vi + ui * vr);
        if (c === d) re += g0;
        out[base + (c * C + d) * 2] = re * mr - im * mi;
        out[base + (c * C + d) * 2 + 1] = re * mi + im * mr;
      }
    }
  }
  return out;
}

/** Per-channel forward DFT of a [C, H, W] image. */
export function fftChannels(
  x: ArrayLike<number>,
  C: number,
  H: number,
  W: number,
): { re: Float64Array; im: Float64Array } {
  const hw = H * W;
  if (x.length !== C * hw) throw new Error(`fftChannels: ${x.length} values for [${C}, ${H}, ${W}]`);
  const re = Float64Array.from(x as ArrayLike<number>),
    im = new Float64Array(C * hw);
  for (let c = 0; c < C; c++) fft2InPlace(re.subarray(c * hw, (c + 1) * hw), im.subarray(c * hw, (c + 1) * hw), H, W);
  return { re, im };
}

/** Per-channel inverse DFT, real part. */
export function ifftChannels(re: Float64Array, im: Float64Array, C: number, H: number, W: number): Float64Array {
  const hw = H * W;
  const r = Float64Array.from(re),
    i = Float64Array.from(im);
  for (let c = 0; c < C; c++)
    fft2InPlace(r.subarray(c * hw, (c + 1) * hw), i.subarray(c * hw, (c + 1) * hw), H, W, true);
  return r;
}

/** In the Fourier domain: X(ξ) ← g(S(ξ))·m(ξ)·X(ξ), on per-channel spectra [C·H·W]. */
export function applySpectralFreq(
  spec: CirculantSpectrum,
  re: Float64Array,
  im: Float64Array,
  g: (s: number, i: number) => number,
  mult?: FreqMultiplier,
): void {
  const { channels: C, height: H, width: W } = spec;
  const hw = H * W;
  for (let i = 0; i < hw; i++) {
    const mr = mult ? mult.re[i] : 1,
      mi = mult ? mult.im[i] : 0;
    if (C === 1) {
      const v = g(spec.lambda[i], i);
      const ar = re[i],
        ai = im[i];
      re[i] = v * (ar * mr - ai * mi);
      im[i] = v * (ar * mi + ai * mr);
      continue;
    }
    const g0 = g(0, i),
      gl = g(spec.lambda[i], i);
    // p = u* X
    let pr = 0,
      pi = 0;
    for (let c = 0; c < C; c++) {
      const ur = spec.dirRe![i * C + c],
        ui = spec.dirIm![i * C + c];
      const xr = re[c * hw + i],
        xi = im[c * hw + i];
      pr += ur * xr + ui * xi;
      pi += ur * xi - ui * xr;
    }
    for (let c = 0; c < C; c++) {
      const ur = spec.dirRe![i * C + c],
        ui = spec.dirIm![i * C + c];
      const yr = g0 * re[c * hw + i] + (gl - g0) * (ur * pr - ui * pi);
      const yi = g0 * im[c * hw + i] + (gl - g0) * (ur * pi + ui * pr);
      re[c * hw + i] = yr * mr - yi * mi;
      im[c * hw + i] = yr * mi + yi * mr;
    }
  }
}

/** F⁻¹ g(S) m F x for a real [C, H, W] image (m must be Hermitian-symmetric for a real result). */
export function applySpectral64(
  spec: CirculantSpectrum,
  x: ArrayLike<number>,
  g: (s: number, i: number) => number,
  mult?: FreqMultiplier,
): Float64Array {
  const { channels: C, height: H, width: W } = spec;
  const { re, im } = fftChannels(x, C, H, W);
  applySpectralFreq(spec, re, im, g, mult);
  return ifftChannels(re, im, C, H, W);
}

/** Σ_ξ of a per-block spectral quantity: Σ_ξ [g(λ) + (C−1)·g(0)] = Σ_ξ tr g(S(ξ)). */
export function spectralTrace(spec: CirculantSpectrum, g: (s: number, i: number) => number): number {
  let t = 0;
  for (let i = 0; i < spec.lambda.length; i++) t += g(spec.lambda[i], i) + (spec.channels - 1) * g(0, i);
  return t;
}

/** xᵀ g(Σ) x for a real image, computed in Fourier: (1/HW) Σ_ξ X* g(S) X. */
export function spectralQuadForm(
  spec: CirculantSpectrum,
  x: ArrayLike<number>,
  g: (s: number, i: number) => number,
): number {
  const { channels: C, height: H, width: W } = spec;
  const { re, im } = fftChannels(x, C, H, W);
  const gr = Float64Array.from(re),
    gi = Float64Array.from(im);
  applySpectralFreq(spec, gr, gi, g);
  let q = 0;
  for (let k = 0; k < re.length; k++) q += re[k] * gr[k] + im[k] * gi[k];
  return q / (H * W);
}

/** The dense covariance matrix g(Σ) ([D, D], D = C·H·W), for small-image references. */
export function spectralDense(spec: CirculantSpectrum, g: (s: number, i: number) => number = (s) => s): Float64Array {
  const D = spec.channels * spec.height * spec.width;
  const m = new Float64Array(D * D);
  const e = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    e.fill(0);
    e[j] = 1;
    const col = applySpectral64(spec, e, g);
    for (let i = 0; i < D; i++) m[i * D + j] = col[i];
  }
  return m;
}

/** Applies per-frequency C×C complex blocks ([H·W, C, C, 2], e.g. CirculantBlocks.blocks) to a [C, H, W] image. */
export function applyBlocks64(
  blocks: Float64Array,
  x: ArrayLike<number>,
  C: number,
  H: number,
  W: number,
): Float64Array {
  const hw = H * W;
  if (blocks.length !== hw * C * C * 2)
    throw new Error(`applyBlocks64: ${blocks.length} values for [${hw}, ${C}, ${C}, 2]`);
  const { re, im } = fftChannels(x, C, H, W);
  const or = new Float64Array(C * hw),
    oi = new Float64Array(C * hw);
  for (let f = 0; f < hw; f++)
    for (let c = 0; c < C; c++)
      for (let d = 0; d < C; d++) {
        const o = (f * C * C + c * C + d) * 2;
        const br = blocks[o],
          bi = blocks[o + 1],
          xr = re[d * hw + f],
          xi = im[d * hw + f];
        or[c * hw + f] += br * xr - bi * xi;
        oi[c * hw + f] += br * xi + bi * xr;
      }
  return ifftChannels(or, oi, C, H, W);
}
