// What a sampler knows about a diffusion prior: the network output and its derivatives in x, with the
// timestep t held fixed. The UNet (src/unet) and the analytic priors of the validation lab both implement
// this, so samplers never import a model family directly.
//
// Conventions: images are NCHW GPU tensors; `t` holds one integer diffusion timestep per image (0..T-1 of
// the *original* 1000-step schedule; respaced samplers map their indices first). The output has `outChannels`
// channels: the ε-prediction in the first C, and for learned-range models the variance interpolation value
// v in the next C (guided-diffusion's `model_var_type = learned_range`). Derivatives are of that whole output.
// Every returned tensor is new and owned by the caller (release it with engine.release).
import type { Engine, Tensor } from '../engine/index.js';
import type { DiffusionSettings } from './diffusion-config.js';

export interface ScoreModel {
  readonly engine: Engine;
  /** [C, H, W] of one image */
  readonly imageShape: readonly [number, number, number];
  /** C (ε only) or 2C (ε and learned-range v) */
  readonly outChannels: number;
  readonly learnSigma: boolean;
  /**
   * The diffusion the model was trained with (schedule, T, variance type, clip_denoised), from its weight
   * file's metadata; samplers use guided-diffusion's defaults when absent.
   */
  diffusion?: DiffusionSettings;

  /** f(x, t): [N, outChannels, H, W] */
  forward(x: Tensor, t: readonly number[]): Tensor;
  /** f(x) and uᵀ ∂f/∂x (u shaped like f's output) — reverse mode */
  vjp(x: Tensor, t: readonly number[], u: Tensor): { out: Tensor; grad: Tensor };
  /** f(x) and ∂f/∂x · v — forward mode (dual numbers) */
  jvp(x: Tensor, t: readonly number[], v: Tensor): { out: Tensor; tangent: Tensor };
  /** f(x), Df[w], Df[v] and the mixed second derivative D²f(x)[w, v] — one hyper-dual pass */
  d2(x: Tensor, t: readonly number[], w: Tensor, v: Tensor): { out: Tensor; dw: Tensor; dv: Tensor; d2: Tensor };

  /**
   * Optional: an output that takes GPU readbacks to compute (the validation lab's exact-covariance guidance
   * solves by CG with convergence checks). Samplers await it, for steps without gradient guidance, in place
   * of forward().
   */
  forwardAsync?(x: Tensor, t: readonly number[]): Promise<Tensor>;

  /**
   * Optional: f(x) now and reverse mode later, for a cotangent that is computed from f(x) itself (DPS,
   * ΠGDM, MCG, DSG guidance): one forward pass instead of forward + vjp's own forward. `backward(u)` returns
   * uᵀ ∂f/∂x and may be called at most once; `release()` frees what the forward kept and must be called
   * either way (after backward, or instead of it). Samplers fall back to forward() + vjp() without it.
   */
  forwardWithVjp?(x: Tensor, t: readonly number[]): { out: Tensor; backward(u: Tensor): Tensor; release(): void };
}
