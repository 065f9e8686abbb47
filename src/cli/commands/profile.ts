// `posterior profile`: per-kernel GPU profile of one sampling step — a table and a Chrome trace.
import { Engine, chromeTrace, summarize } from '../../engine/index.ts';
import { loadTestImages } from '../../io/fmnist.ts';
import { measure } from '../../operators/index.ts';
import { parseMethod, sample } from '../../samplers/index.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import { checkOutputPaths } from '../output-paths.ts';
import { defineCommand } from '../command.ts';
import { operatorFor, parseTask, samplerTask } from '../measure-file.ts';
import { DEFAULT_WEIGHTS, loadScoreModel, WEIGHTS_FLAG } from '../model-file.ts';
import { cmiOptions, METHOD_HELP, SAMPLING_FLAGS } from '../sampling-flags.ts';

export default defineCommand({
  name: 'profile',
  description:
    'Runs two steps of the chosen sampler on Fashion-MNIST test images (the first compiles the pipelines) and ' +
    'profiles the second with GPU timestamps: prints calls, GPU ms, share of the step, GFLOP/s and GB/s per kernel and ' +
    'writes a Chrome trace JSON (open it in ui.perfetto.dev or chrome://tracing).',
  flags: {
    weights: WEIGHTS_FLAG,
    method: { type: 'string', default: 'dps', short: 'm', help: METHOD_HELP, check: parseMethod },
    task: {
      type: 'string',
      default: 'inpaint-box',
      choices: ['inpaint-box', 'inpaint-random', 'sr4', 'gaussian-blur', 'motion-blur', 'phase'],
      help: 'forward model',
    },
    batch: { type: 'int', default: 1, min: 1, max: 10000, help: 'images per step' },
    trace: {
      type: 'string',
      default: 'out/profile-trace.json',
      help: 'Chrome trace output (.json; missing directories are created)',
    },
    ...SAMPLING_FLAGS,
  },
  async run(f, ctx) {
    const method = parseMethod(f.method);
    const task = parseTask(f.task);
    checkOutputPaths([{ path: f.trace, flag: '--trace', extensions: ['.json'], createDirs: true }], {
      inputs: [f.weights],
    });
    const e = await Engine.create();
    try {
      const model = loadScoreModel(e, f.weights ?? DEFAULT_WEIGHTS);
      const imgs = loadTestImages(f.batch);
      const op = operatorFor(e, task, { seed: f.seed }, imgs.shape);
      const noise = { kind: 'gaussian' as const, level: 0.05 };
      const y = measure(e, op, e.upload(imgs.x, imgs.shape, 'x'), noise, f.seed).y;
      let records: Awaited<ReturnType<Engine['stopProfiling']>> = [];
      let wall = 0;
      await sample({
        model,
        operator: op,
        noise,
        y,
        method: f.method,
        steps: 2,
        seed: f.seed,
        zeta: f.zeta,
        task: samplerTask(task),
        cmi: method.cmi ? cmiOptions(f) : undefined,
        onStep: async (s) => {
          if (s.i === 0) {
            await e.sync();
            e.startProfiling(2048);
            wall = performance.now();
          } else {
            records = await e.stopProfiling();
            wall = performance.now() - wall;
          }
        },
      });
      const total = records.reduce((a, r) => a + r.ms, 0);
      const rows = summarize(records);
      ctx.io.log(
        `${f.method} on ${task}, batch ${f.batch}, one step: ${records.length} dispatches, ${total.toFixed(2)} ms GPU (${e.timingSource}), ${wall.toFixed(1)} ms wall (profiled: one pass per dispatch)`,
      );
      ctx.io.log(
        `${'kernel'.padEnd(52)} ${'calls'.padStart(6)} ${'GPU ms'.padStart(9)} ${'share'.padStart(6)} ${'GFLOP/s'.padStart(9)} ${'GB/s'.padStart(8)}`,
      );
      for (const r of rows) {
        const s = r.ms / 1000 || 1e-12;
        ctx.io.log(
          `${r.kernel.slice(0, 52).padEnd(52)} ${String(r.calls).padStart(6)} ${r.ms.toFixed(3).padStart(9)} ${((100 * r.ms) / (total || 1)).toFixed(1).padStart(5)}% ${(r.flops / s / 1e9).toFixed(2).padStart(9)} ${(r.bytes / s / 1e9).toFixed(2).padStart(8)}`,
        );
      }
      writeFileAtomic(f.trace, JSON.stringify(chromeTrace(records)));
      ctx.io.log(`\nwrote ${f.trace}`);
      op.destroy();
    } finally {
      e.destroy();
    }
  },
});
