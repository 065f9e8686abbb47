// Stationary Gaussian prior x₀ ~ N(μ, Σ) with Σ circulant, behind the ScoreModel interface.
//
// With aₜ = √ᾱₜ, σₜ² = 1 − ᾱₜ: xₜ ~ N(aₜμ, Σₜ), Σₜ = aₜ²Σ + σₜ²I, so
//   score sₜ(x) = −Σₜ⁻¹(x − aₜμ),   ε(x, t) = −σₜ sₜ = σₜ Σₜ⁻¹ (x − aₜμ),
//   ∂ε/∂x = σₜ Σₜ⁻¹ (symmetric: VJP = JVP), D²ε ≡ 0.
// On the GPU every call is one per-frequency filter (src/lab/spectral-filter.ts: direct separable DFTs in
// WGSL) whose table g(S(ξ)) = σₜ/(aₜ²S + σₜ²) and offset −aₜ g(Σ)μ are built in float64 on the host per
// timestep. The float64 host twins (eps64, score64, logDensity64, …) are the references of the tests and
// the closed forms of exact-posterior.ts.
//
// Built from an example image as the ADSN texture model (Galerne, Gousseau, Morel 2011): μ = per-channel
// mean, x = μ + h ⋆ w with w white noise and h = (u − ū)/√(HW), i.e. S(ξ) = ĥ(ξ)ĥ(ξ)* — rank one per
// frequency in colour, |ĥ|² in gray — or from a given power spectrum (gray).
import type { Engine, Tensor } from '../engine/index.js';
import type { ScoreModel } from '../samplers/score-model.js';
import {
  applySpectral64,
  applySpectralFreq,
  fftChannels,
  ifftChannels,
  spectralQuadForm,
  spectralTable,
  spectralTrace,
  type CirculantSpectrum,
  type FreqMultiplier,
} from './circulant.js';
import { noiseScales } from './schedule64.js';
import { SlotTables, SpectralFilter } from './spectral-filter.js';
import type { Rng64 } from './rng64.js';

export type SpectralFn = (s: number, i: number) => number;

export class GaussianCirculantPrior implements ScoreModel {
  readonly imageShape: readonly [number, number, number];
  readonly outChannels: number;
  readonly learnSigma = false;
  readonly filter: SpectralFilter;
  private tables: SlotTables;

  /**
   * @param spectrum per-frequency covariance blocks (see circulant.ts)
   * @param mean μ as a [C, H, W] image (float64)
   */
  constructor(
    readonly engine: Engine,
    readonly spectrum: CirculantSpectrum,
    readonly mean: Float64Array,
  ) {
    const { channels: C, height: H, width: W } = spectrum;
    if (mean.length !== C * H * W)
      throw new Error(`GaussianCirculantPrior: mean of ${mean.length} values for [${C}, ${H}, ${W}]`);
    if (spectrum.lambda.length !== H * W)
      throw new Error(`GaussianCirculantPrior: spectrum of ${spectrum.lambda.length} values for ${H}×${W}`);
    for (const l of spectrum.lambda)
      if (!(l >= 0))
        throw new Error(`GaussianCirculantPrior: negative or NaN eigenvalue ${l} (covariance must be PSD)`);
    this.imageShape = [C, H, W];
    this.outChannels = C;
    this.filter = new SpectralFilter(engine, C, H, W);
    this.tables = new SlotTables(engine, this.filter.slotSize, C * H * W);
  }

  /** ADSN prior of an example image [C, H, W] (C = 1 or 3), values in the model's scale (e.g. [−1, 1]). */
  static fromExample(engine: Engine, image: ArrayLike<number>, C: 1 | 3, H: number, W: number): GaussianCirculantPrior {
    const hw = H * W;
    if (image.length !== C * hw) throw new Error(`ADSN: image of ${image.length} values for [${C}, ${H}, ${W}]`);
    const mean = new Float64Array(C * hw);
    const centred = new Float64Array(C * hw);
    for (let c = 0; c < C; c++) {
      let m = 0;
      for (let i = 0; i < hw; i++) m += image[c * hw + i];
      m /= hw;
      for (let i = 0; i < hw; i++) {
        mean[c * hw + i] = m;
        centred[c * hw + i] = (image[c * hw + i] - m) / Math.sqrt(hw);
      }
    }
    const { re, im } = fftChannels(centred, C, H, W);
    const lambda = new Float64Array(hw);
    if (C === 1) {
      for (let i = 0; i < hw; i++) lambda[i] = re[i] * re[i] + im[i] * im[i];
      return new GaussianCirculantPrior(engine, { channels: 1, height: H, width: W, lambda }, mean);
    }
    const dirRe = new Float64Array(hw * 3),
      dirIm = new Float64Array(hw * 3);
    for (let i = 0; i < hw; i++) {
      let n2 = 0;
      for (let c = 0; c < 3; c++) n2 += re[c * hw + i] ** 2 + im[c * hw + i] ** 2;
      lambda[i] = n2;
      // below 1e-24 of the total energy the direction is rounding noise: treat the block as zero
      if (n2 > 0) {
        const inv = 1 / Math.sqrt(n2);
        for (let c = 0; c < 3; c++) {
          dirRe[i * 3 + c] = re[c * hw + i] * inv;
          dirIm[i * 3 + c] = im[c * hw + i] * inv;
        }
      }
    }
    return new GaussianCirculantPrior(engine, { channels: 3, height: H, width: W, lambda, dirRe, dirIm }, mean);
  }

  /** Gray prior from a power spectrum λ(ξ) = eigenvalues of Σ ([H·W], DFT index order, λ(ξ) = λ(−ξ)). */
  static fromPowerSpectrum(
    engine: Engine,
    lambda: ArrayLike<number>,
    mean: number | ArrayLike<number>,
    H: number,
    W: number,
  ): GaussianCirculantPrior {
    const l = Float64Array.from(lambda as ArrayLike<number>);
    const m =
      typeof mean === 'number' ? new Float64Array(H * W).fill(mean) : Float64Array.from(mean as ArrayLike<number>);
    return new GaussianCirculantPrior(engine, { channels: 1, height: H, width: W, lambda: l }, m);
  }

  get dim(): number {
    return this.spectrum.channels * this.spectrum.height * this.spectrum.width;
  }

  // ------------------------------------------------------------------ float64 host side

  /** F⁻¹ g(S) m F x on a [C, H, W] image */
  apply64(x: ArrayLike<number>, g: SpectralFn, mult?: FreqMultiplier): Float64Array {
    return applySpectral64(this.spectrum, x, g, mult);
  }

  /** ε(x, t) = σₜ Σₜ⁻¹ (x − aₜμ) for one [C, H, W] image */
  eps64(x: ArrayLike<number>, t: number): Float64Array {
    const { a, s } = noiseScales(t);
    const d = Float64Array.from(x as ArrayLike<number>, (v, i) => v - a * this.mean[i]);
    return this.apply64(d, (l) => s / (a * a * l + s * s));
  }

  /** ∇ log pₜ(x) = −Σₜ⁻¹ (x − aₜμ) */
  score64(x: ArrayLike<number>, t: number): Float64Array {
    const { s } = noiseScales(t);
    return this.eps64(x, t).map((v) => -v / s);
  }

  /** log pₜ(x) = log N(x; aₜμ, Σₜ) */
  logDensity64(x: ArrayLike<number>, t: number): number {
    const { a, s } = noiseScales(t);
    const d = Float64Array.from(x as ArrayLike<number>, (v, i) => v - a * this.mean[i]);
    const q = spectralQuadForm(this.spectrum, d, (l) => 1 / (a * a * l + s * s));
    const logdet = spectralTrace(this.spectrum, (l) => Math.log(a * a * l + s * s));
    return -0.5 * q - 0.5 * logdet - 0.5 * this.dim * Math.log(2 * Math.PI);
  }

  /** x̂₀ = E[x₀ | xₜ = x] = μ + aₜ Σ Σₜ⁻¹ (x − aₜμ) */
  denoise64(x: ArrayLike<number>, t: number): Float64Array {
    const { a, s } = noiseScales(t);
    const d = Float64Array.from(x as ArrayLike<number>, (v, i) => v - a * this.mean[i]);
    const r = this.apply64(d, (l) => (a * l) / (a * a * l + s * s));
    return r.map((v, i) => v + this.mean[i]);
  }

  /** Per-block function giving Cₜ = Cov[x₀ | xₜ] = σₜ² Σ Σₜ⁻¹ (independent of xₜ for a Gaussian prior). */
  static posteriorCovFn(t: number): SpectralFn {
    const { a, s } = noiseScales(t);
    return (l) => (s * s * l) / (a * a * l + s * s);
  }

  /** One prior draw x₀ = μ + Σ^{1/2} w. */
  sample64(rng: Rng64): Float64Array {
    const { channels: C, height: H, width: W } = this.spectrum;
    const w = rng.normals(C * H * W);
    return this.apply64(w, (l) => Math.sqrt(l)).map((v, i) => v + this.mean[i]);
  }

  /** Per-channel spectra of x, then back — exposed for exact-posterior.ts. */
  fft64(x: ArrayLike<number>) {
    const { channels: C, height: H, width: W } = this.spectrum;
    return fftChannels(x, C, H, W);
  }
  ifft64(re: Float64Array, im: Float64Array) {
    const { channels: C, height: H, width: W } = this.spectrum;
    return ifftChannels(re, im, C, H, W);
  }
  applyFreq64(re: Float64Array, im: Float64Array, g: SpectralFn, mult?: FreqMultiplier) {
    applySpectralFreq(this.spectrum, re, im, g, mult);
  }

  // ------------------------------------------------------------------ GPU side

  /**
   * out[n] = g_{t[n]}(Σ) m x[n] (+ offset_{t[n]}) on the GPU; `tag` names the family of functions so the
   * per-timestep tables are cached (g and offset must depend on (tag, t) only).
   */
  applyGpu(
    x: Tensor,
    t: readonly number[],
    tag: string,
    g: (t: number) => SpectralFn,
    opts: { mult?: FreqMultiplier; offset?: (t: number) => Float64Array } = {},
  ): Tensor {
    this.checkBatch(x, t);
    const entry = this.tables.get(t, tag, (tn) => ({
      table: spectralTable(this.spectrum, g(tn), opts.mult),
      offset: opts.offset ? Float32Array.from(opts.offset(tn)) : undefined,
    }));
    return this.filter.apply(x, entry.table, entry.slots, entry.offset);
  }

  private epsFn = (t: number): SpectralFn => {
    const { a, s } = noiseScales(t);
    return (l) => s / (a * a * l + s * s);
  };

  private epsOffset = (t: number): Float64Array => {
    const { a } = noiseScales(t);
    return this.apply64(this.mean, this.epsFn(t)).map((v) => -a * v);
  };

  forward(x: Tensor, t: readonly number[]): Tensor {
    return this.applyGpu(x, t, 'eps', this.epsFn, { offset: this.epsOffset });
  }

  /** ε now, uᵀ∂ε/∂x later: the Jacobian does not depend on x, so nothing is kept (saves the vjp's forward). */
  forwardWithVjp(x: Tensor, t: readonly number[]): { out: Tensor; backward(u: Tensor): Tensor; release(): void } {
    const ts = [...t];
    return {
      out: this.forward(x, ts),
      backward: (u: Tensor) => {
        this.checkBatch(u, ts);
        return this.applyGpu(u, ts, 'eps-lin', this.epsFn);
      },
      release: () => {},
    };
  }

  /** ∂ε/∂x = σₜΣₜ⁻¹ is symmetric, so the VJP is the JVP of u. */
  vjp(x: Tensor, t: readonly number[], u: Tensor): { out: Tensor; grad: Tensor } {
    this.checkBatch(u, t);
    return { out: this.forward(x, t), grad: this.applyGpu(u, t, 'eps-lin', this.epsFn) };
  }

  jvp(x: Tensor, t: readonly number[], v: Tensor): { out: Tensor; tangent: Tensor } {
    this.checkBatch(v, t);
    return { out: this.forward(x, t), tangent: this.applyGpu(v, t, 'eps-lin', this.epsFn) };
  }

  /** ε is affine in x: D²ε ≡ 0 exactly. */
  d2(x: Tensor, t: readonly number[], w: Tensor, v: Tensor): { out: Tensor; dw: Tensor; dv: Tensor; d2: Tensor } {
    this.checkBatch(w, t);
    this.checkBatch(v, t);
    const d2 = this.engine.upload(new Float32Array(x.size), x.shape, 'gauss-d2-zero');
    return {
      out: this.forward(x, t),
      dw: this.applyGpu(w, t, 'eps-lin', this.epsFn),
      dv: this.applyGpu(v, t, 'eps-lin', this.epsFn),
      d2,
    };
  }

  private checkBatch(x: Tensor, t: readonly number[]): void {
    const [C, H, W] = this.imageShape;
    if (x.shape.length !== 4 || x.shape[1] !== C || x.shape[2] !== H || x.shape[3] !== W || x.shape[0] !== t.length) {
      throw new Error(
        `GaussianCirculantPrior: tensor [${x.shape}] with ${t.length} timesteps, expected [${t.length}, ${C}, ${H}, ${W}]`,
      );
    }
  }

  destroy(): void {
    this.tables.clear();
    this.filter.destroy();
  }
}
