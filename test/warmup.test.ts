// Engine.warmup / PipelineCache.prepare: the kernels of a run's first step are discovered without running
// anything and compiled with createComputePipelineAsync before the run; the run then compiles nothing new
// for that step, and computes exactly what it computes without a warm-up.
import { describe, expect, it } from 'vitest';
import { Engine, createOperator, loadModel, measure, sample } from '../src/index.js';

describe('warm-up: asynchronous pipeline compilation before a run', () => {
  it('compiles the first step’s kernels ahead; the run adds none for it and is unchanged', async () => {
    // a fresh engine, so no kernel is cached yet
    const e = await Engine.create();
    try {
      const model = await loadModel(e);
      const shape = [1, ...model.imageShape];
      const truth = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i / 7));
      const x = e.upload(truth, shape);
      const operator = createOperator('sr4', {}, e, shape);
      const noise = { kind: 'gaussian', level: 0.05 } as const;
      const { y } = measure(e, operator, x, noise, 3);
      const opts = { model, operator, noise, y, method: 'dps', steps: 3, seed: 3, task: 'sr4' };

      const before = e.pipelines.size;
      const dispatches = e.dispatchCount;
      const w = await e.warmup(() => sample({ ...opts, stopAt: 1 }));
      // nothing ran while the kernels were discovered
      expect(e.dispatchCount).toBe(dispatches);
      // DPS's first step: UNet forward + VJP, guidance, DDPM update — dozens of kernels
      expect(w.kernels).toBeGreaterThan(20);
      expect(e.pipelines.size).toBe(before + w.kernels);

      const first = await sample({ ...opts, stopAt: 1 });
      expect(e.pipelines.size, 'the first step found every pipeline compiled').toBe(before + w.kernels);
      const a = await e.read(first.x0);
      expect(a.every(Number.isFinite)).toBe(true);
      // the same step on another fresh engine without a warm-up (pipelines compiled on first use): bit-identical
      const e2 = await Engine.create();
      try {
        const model2 = await loadModel(e2);
        const op2 = createOperator('sr4', {}, e2, shape);
        const y2 = measure(e2, op2, e2.upload(truth, shape), noise, 3).y;
        const cold = await sample({ ...opts, model: model2, operator: op2, y: y2, stopAt: 1 });
        expect(Array.from(await e2.read(cold.x0))).toEqual(Array.from(a));
      } finally {
        e2.destroy();
      }
      // warm-up of the same work again: nothing left to compile
      expect((await e.warmup(() => sample({ ...opts, stopAt: 1 }))).kernels).toBe(0);
    } finally {
      e.destroy();
    }
  });

  it('reports a kernel that fails to compile, naming it', async () => {
    const e = await Engine.create();
    try {
      await expect(e.pipelines.prepare([{ family: 'vector', entry: 'no_such_entry_point' }])).rejects.toThrow(
        /kernel 'vector:no_such_entry_point' failed to compile/,
      );
    } finally {
      e.destroy();
    }
  });
});
