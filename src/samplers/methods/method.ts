// What one posterior-sampling method is, as the driver (../sampler.ts) sees it: a record naming its base
// update (DDPM, DDIM or DDRM), its published defaults per task and step count, and the optional pieces
// of a step it adds — the guidance gradient, how that gradient enters x_{t−1}, and a projection after the
// step. The driver composes these; it never branches on a method's name. Adding a method is one file in
// this folder and one line in ./index.ts (docs/samplers.md).
import type { Tensor } from '../../engine/tensor.js';
import type { Evaluated, SamplerContext } from '../context.js';
import type { CgOptions } from '../linalg.js';
import type { PigdmWeighting } from '../pigdm.js';
import type { BaseUpdate } from '../updates.js';

/** The tasks defaults are published for (src/cli/measure-file.ts samplerTask maps the CLI's tasks here). */
export type TaskKind = 'inpainting' | 'super-resolution' | 'deblur' | 'phase-retrieval' | 'other';

/** "inpainting", "box-inpainting", "super-resolution", "sr", "gaussian-deblur", … → a TaskKind. */
export function taskKind(task: string | undefined): TaskKind {
  const t = (task ?? '').toLowerCase();
  if (t.includes('inpaint')) return 'inpainting';
  if (t.includes('phase')) return 'phase-retrieval';
  if (t.includes('super') || t === 'sr' || t.startsWith('sr')) return 'super-resolution';
  if (t.includes('blur')) return 'deblur';
  return 'other';
}

/** A method's published settings for one task and step count (absent fields: not used by the method). */
export interface Protocol {
  /** guidance step size ζ (DPS, MCG) or weight multiplier (ΠGDM) */
  zeta?: number;
  /** DDIM η (DDIM-based methods), DDRM's η */
  eta?: number;
  /** DDRM's η_b */
  etaB?: number;
  /** DSG guidance rate γ and guidance interval */
  rate?: number;
  interval?: number;
  /** clip_denoised: the method's own choice; undefined = the checkpoint's diffusion setting */
  clip?: boolean;
}

/** Everything a step needs, resolved once per run (user options over the protocol over the checkpoint). */
export interface Settings {
  zeta: number;
  eta: number;
  etaB: number;
  rate: number;
  interval: number;
  clip: boolean;
  pigdmWeighting: PigdmWeighting;
  cg: CgOptions;
}

/** One step's state as the guidance and hooks see it. */
export interface StepState {
  /** loop index (0 = noisiest) and respaced index k = steps − 1 − i */
  i: number;
  k: number;
  /** xₜ */
  x: Tensor;
  /** x'_{t−1}: the base update's sample (hooks and guidance update or replace it) */
  next: Tensor;
  /** the DDIM mean (DDIM bases), else null */
  mean: Tensor | null;
  /** the step's noise std σₜ (DDIM bases; 0 at the last step) */
  sigma: number;
}

export interface Guidance {
  /** the gradient the method steps along, [N, C, H, W] */
  grad: Tensor;
  /** ‖y − A x̂₀‖ per image (Poisson DPS: weighted), [N] */
  dist: Tensor;
  /** ‖y − A x̂₀‖² per image, [N] */
  ss: Tensor;
}

export interface SamplerMethod {
  /** the CLI/library name (lower case) */
  readonly name: string;
  /** one line for --help and docs: paper and reference code */
  readonly summary: string;
  readonly update: BaseUpdate;
  /** needs an operator and a measurement y */
  readonly needsMeasurement: boolean;
  /** the CMI term (a step hook) applies: the method has a guidance step it can be scaled against */
  readonly cmi: boolean;
  /** the step count of the method's published protocol (its default) */
  readonly protocolSteps: number;
  /** where protocolSteps comes from */
  readonly stepsSource: string;
  /** published settings for a task and a step count */
  defaults(task: TaskKind, steps: number): Protocol;
  /** does respaced step k take a guidance step (default: every step, when `guidance` exists) */
  guides?(k: number, s: Settings): boolean;
  /** the guidance gradient at xₜ (consumes ev's reverse pass) */
  guidance?(ctx: SamplerContext, k: number, ev: Evaluated, x0: Tensor, s: Settings): Guidance | Promise<Guidance>;
  /** x_{t−1} from x' and the gradient; may consume st.next and return a new tensor (does not release grad) */
  apply?(ctx: SamplerContext, st: StepState, grad: Tensor, s: Settings): Tensor;
  /** per-image squared length of the move `apply` makes ([N]), for hooks that scale against it */
  moveSumSq?(ctx: SamplerContext, st: StepState, grad: Tensor | null, s: Settings): Tensor | undefined;
  /** after the guided update (MCG's projection): consumes x, returns x_{t−1} */
  after?(ctx: SamplerContext, st: StepState, x: Tensor): Tensor;
}

/** A per-step plug-in (the CMI term): runs after the base update and before the guidance enters x'. */
export interface StepHook {
  readonly name: string;
  run(
    ctx: SamplerContext,
    st: StepState,
    g: {
      guidance: Guidance | null;
      /** ‖y − A x̂₀‖² per image at this step (null without a measurement) */
      residualSs: Tensor | null;
      /** the method's move length² per image ([N], caller releases), undefined where it makes none */
      moveSumSq: () => Tensor | undefined;
    },
  ): Promise<void> | void;
}

/** Nearest published step count to `steps` (log scale; ties to the smaller count). */
export function nearestSteps(steps: number, published: readonly number[]): number {
  let best = published[0];
  for (const p of published) {
    const d = Math.abs(Math.log(steps / p)),
      bd = Math.abs(Math.log(steps / best));
    if (d < bd - 1e-12 || (Math.abs(d - bd) <= 1e-12 && p < best)) best = p;
  }
  return best;
}
