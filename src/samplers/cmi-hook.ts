// The CMI term as a step hook (any method whose registry record says `cmi: true` accepts it):
// x'_{t−1} ← x'_{t−1} + ηₜ ∇ₓₜ I, with the gradient and the η schedules of ./cmi.ts.
import type { Tensor } from '../engine/tensor.js';
import { applyCmi, cmiGradient, type CmiOptions } from './cmi.js';
import type { StepHook } from './methods/method.js';

export function cmiHook(o: CmiOptions): StepHook {
  return {
    name: 'cmi',
    async run(ctx, st, g) {
      const gI = await cmiGradient(ctx, st.k, st.i, st.x, o);
      let stepSs: Tensor | undefined;
      // 'relative' scales ∇I against the base method's own move; the others need no move
      if (o.eta.kind === 'relative') stepSs = g.moveSumSq();
      applyCmi(ctx, st.next, gI.grad, o.eta, g.residualSs ?? undefined, stepSs);
      ctx.e.release(gI.grad, gI.guarded, stepSs);
    },
  };
}
