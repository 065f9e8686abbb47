// ΠGDM (Song, Vahdat, Mardani, Kautz, ICLR 2023) on a DDIM(η) base; guidance and weighting in ../pigdm.ts.
import { axpby } from '../../engine/ops/vector.js';
import { scale } from '../../engine/ops/vector.js';
import { pigdmGuidance, pigdmWeight } from '../pigdm.js';
import { rowSumSq } from '../rows.js';
import { DDIM } from '../updates.js';
import type { Protocol, SamplerMethod } from './method.js';

/**
 * NVlabs' ΠGDM configuration (RED-diff `_configs/algo/pgdm.yaml`): `eta: 0.0`, `grad_term_weight: 1`
 * (our ζ), `awd: True` (the 'reference' weighting), and the README's `num_steps=100` (the ΠGDM paper's 100
 * NFEs). The raw Tweedie x̂₀ (no clip_denoised): RED-diff's pgdm.py uses the model's x0_pred as is.
 */
export const PIGDM_PROTOCOL = { steps: 100, eta: 0, zeta: 1, clip: false } as const;

export const pigdm: SamplerMethod = {
  name: 'pigdm',
  summary: 'ΠGDM (Song et al. 2023): DDIM + pseudo-inverse guidance (NVlabs weighting)',
  update: DDIM,
  needsMeasurement: true,
  cmi: true,
  protocolSteps: PIGDM_PROTOCOL.steps,
  stepsSource: 'RED-diff README num_steps=100 (ΠGDM paper: 100 NFEs)',
  defaults: (): Protocol => ({ zeta: PIGDM_PROTOCOL.zeta, eta: PIGDM_PROTOCOL.eta, clip: PIGDM_PROTOCOL.clip }),
  guidance: (ctx, k, ev, x0, s) => pigdmGuidance(ctx, k, ev, x0, s.cg),
  apply: (ctx, st, grad, s) => {
    axpby(ctx.e, s.zeta * pigdmWeight(ctx, st.k, s.eta, s.pigdmWeighting), grad, 1, st.next);
    return st.next;
  },
  moveSumSq: (ctx, st, grad, s) => {
    if (!grad) return undefined;
    const w = s.zeta * pigdmWeight(ctx, st.k, s.eta, s.pigdmWeighting);
    const gss = rowSumSq(ctx.e, grad, ctx.shape[0]);
    const out = scale(ctx.e, gss, w * w);
    ctx.e.release(gss);
    return out;
  },
};
