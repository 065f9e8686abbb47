// `posterior demo`: the README's main command. Reconstructs a few Fashion-MNIST test images for the five
// benchmark tasks with the embedded prior, each task with its best few-step method at its own protocol (DSG,
// 100 steps) and DDRM (20 steps) beside it where competitive (src/samplers/methods/), optionally DPS at its
// 1000-step protocol on one task (the images batched); writes a PNG grid and a markdown summary.
import { join } from 'node:path';
import { Engine } from '../../engine/index.ts';
import { writeFilesAtomic } from '../../io/atomic.ts';
import { batchItem, encodeGrid, type GridImage } from '../../io/grid.ts';
import { checkOutputPaths, portablePath } from '../output-paths.ts';
import { meanStd } from '../../io/metrics.ts';
import { loadTestImages } from '../../io/fmnist.ts';
import type { Task } from '../../operators/index.ts';
import { parseMethod } from '../../samplers/index.ts';
import { UsageError } from '../args.ts';
import { defineCommand } from '../command.ts';
import { measurementImage, runExperiment, type ExperimentResult } from '../experiment.ts';
import { parseTask } from '../measure-file.ts';
import { DEFAULT_WEIGHTS, loadScoreModel, WEIGHTS_FLAG } from '../model-file.ts';
import { cmiOptions, resolveSteps, SAMPLING_FLAGS } from '../sampling-flags.ts';

const TASKS: Task[] = ['inpaint-box', 'inpaint-random', 'sr4', 'gaussian-blur', 'motion-blur'];

/**
 * Per task, the best few-step method at its protocol on this prior, and DDRM beside it where it is cheap and
 * competitive. Measured on the first 3 test images (σ_y 0.05, seed 0; mean PSNR, dB) — DSG 100 steps:
 * box 23.8, random 19.8, SR 21.7, Gaussian 21.3, motion 20.9; ΠGDM 100: 21.4, 15.7, 19.4, 18.3, 19.6;
 * DDRM 20: 16.9, 10.0, 18.0, 20.0, no SVD for motion blur. DSG is the best on every task; a DDRM run
 * (20 network passes, no gradients) costs about a tenth of a DSG run (100 steps, each a forward and a
 * reverse pass).
 */
export const DEMO_PLAN: Record<string, string[]> = {
  'inpaint-box': ['ddrm', 'dsg'],
  'inpaint-random': ['dsg'],
  sr4: ['ddrm', 'dsg'],
  'gaussian-blur': ['ddrm', 'dsg'],
  'motion-blur': ['dsg'],
};

export default defineCommand({
  name: 'demo',
  description:
    'Runs the embedded Fashion-MNIST prior (models/fmnist-unet.safetensors) on the first --n test images for box ' +
    'and random inpainting, ×4 super-resolution, Gaussian and motion deblurring (σ_y 0.05), each task with its ' +
    'best few-step methods at their published protocols (steps, ζ, η; docs/samplers.md), or --methods on every ' +
    'task; --dps-task adds DPS at its 1000-step protocol on one task (the images batched). Writes OUT/grid.png ' +
    '(truth | measurement | one column per method) and OUT/summary.md (PSNR/SSIM, seconds). --cmi adds each ' +
    "method's +CMI variant (slower; docs/cmi.md: no setting of it has been shown to help yet).",
  flags: {
    weights: WEIGHTS_FLAG,
    output: { type: 'string', default: 'out/demo', short: 'o', placeholder: 'DIR', help: 'output folder' },
    n: { type: 'int', default: 3, help: 'test images per task' },
    'sigma-y': { type: 'number', default: 0.05, help: 'measurement noise std' },
    tasks: { type: 'list', help: `subset of ${TASKS.join(', ')}` },
    methods: {
      type: 'list',
      check: parseMethod,
      help: 'methods to run on every task, at their protocols (default: dsg on every task, and ddrm beside it on box inpainting, SR and Gaussian deblurring)',
    },
    'dps-task': {
      type: 'string',
      default: 'none',
      help: "also run DPS at its 1000-step protocol on this task (the images batched; 2–3× the demo's time on lavapipe), or 'none'",
    },
    cmi: { type: 'boolean', help: "add each method's +cmi variant (where it applies)" },
    seed: SAMPLING_FLAGS.seed,
    steps: SAMPLING_FLAGS.steps,
    'cmi-r': SAMPLING_FLAGS['cmi-r'],
    'cmi-eta': SAMPLING_FLAGS['cmi-eta'],
    'cmi-sigma-inv': SAMPLING_FLAGS['cmi-sigma-inv'],
  },
  async run(f, ctx) {
    const tasks = (f.tasks?.length ? f.tasks : TASKS).map(parseTask);
    const chosen = f.methods.length ? f.methods.map((m) => parseMethod(m).method.name) : null;
    const dpsTask = f.dpsTask === 'none' ? null : parseTask(f.dpsTask);
    if (f.n < 1) throw new UsageError('--n must be positive');
    const withCmi = (ms: string[]) =>
      f.cmi ? ms.flatMap((m) => (parseMethod(m).method.cmi ? [m, `${m}+cmi`] : [m])) : ms;
    const plan = new Map<Task, string[]>(
      tasks.map((t) => [
        t,
        withCmi([
          // DDRM needs an SVD: not motion blur (its kernel is not separable)
          ...(chosen ?? DEMO_PLAN[t]).filter((m) => !(m === 'ddrm' && t === 'motion-blur')),
          ...(t === dpsTask && !(chosen ?? DEMO_PLAN[t]).includes('dps') ? ['dps'] : []),
        ]),
      ]),
    );
    const columns = [...new Set([...plan.values()].flat())];
    const imgs = loadTestImages(f.n);
    checkOutputPaths([{ path: f.output, directory: true, contents: ['grid.png', 'summary.md'] }], {
      inputs: [f.weights],
    });
    const e = await Engine.create();
    try {
      const model = loadScoreModel(e, f.weights ?? DEFAULT_WEIGHTS);
      const stepsOf = new Map(columns.map((m) => [m, resolveSteps(m, f.steps, model.diffusion)]));
      for (const w of new Set([...stepsOf.values()].map((s) => s.warning))) if (w) ctx.io.error(w);
      const total = [...plan.values()].flat().reduce((a, m) => a + stepsOf.get(m)!.count, 0);
      const bar = ctx.progress({ total, label: 'demo', unit: 'steps' });
      const results = new Map<string, ExperimentResult>();
      let done = 0;
      for (const task of tasks)
        for (const method of plan.get(task)!) {
          const r = await runExperiment({
            e,
            model,
            task,
            method,
            x: imgs.x,
            shape: imgs.shape,
            steps: stepsOf.get(method)!.steps,
            seed: f.seed,
            sigmaY: f.sigmaY,
            cmi: cmiOptions(f),
            onStep: (s) => bar.update(done + s.i + 1, { run: `${task} ${method}` }),
          });
          done += stepsOf.get(method)!.count;
          results.set(`${task}|${method}`, r);
        }
      bar.done();
      // grid: one row per (task, image); a method not run on a task leaves its cell empty
      const cells: (GridImage | null)[][] = [];
      const rows: string[] = [];
      const captions: (string | undefined)[][] = [];
      for (const task of tasks) {
        const first = results.get(`${task}|${plan.get(task)![0]}`)!;
        for (let n = 0; n < f.n; n++) {
          const rs = columns.map((m) => results.get(`${task}|${m}`));
          cells.push([
            batchItem(imgs.x, imgs.shape, n),
            measurementImage(task, first.y, first.yShape, n),
            ...rs.map((r) => (r ? batchItem(r.x0, imgs.shape, n) : null)),
          ]);
          captions.push([undefined, undefined, ...rs.map((r) => (r ? `${r.psnr[n].toFixed(1)} dB` : undefined))]);
          rows.push(n === 0 ? task : '');
        }
      }
      const label = (m: string) => `${m.toUpperCase()} ${stepsOf.get(m)!.count}`;
      const gridPath = join(f.output, 'grid.png');
      const grid = encodeGrid(cells, {
        columns: ['truth', 'measurement', ...columns.map(label)],
        rows,
        captions,
        title: `Fashion-MNIST, sigma_y ${f.sigmaY}, each method at its protocol (steps in the column title)`,
      });
      const lines = [
        `# Demo: posterior sampling on Fashion-MNIST, each method at its protocol`,
        '',
        `Embedded prior \`${portablePath(f.weights ?? 'models/fmnist-unet.safetensors')}\`, first ${f.n} test images, σ_y = ${f.sigmaY}, seed ${f.seed}; ` +
          `steps: ${columns.map((m) => `${m} ${stepsOf.get(m)!.count}`).join(', ')}` +
          (f.cmi ? `; CMI: r = ${f.cmiR}, η schedule ${f.cmiEta}, Σ⁻¹ ${f.cmiSigmaInv}` : '') +
          `. Device: ${e.gpu.description}.`,
        '',
        `| task | method | steps | PSNR (dB) | SSIM | s / image |`,
        `|---|---|---|---|---|---|`,
      ];
      for (const task of tasks) {
        const best = Math.max(...plan.get(task)!.map((m) => meanStd(results.get(`${task}|${m}`)!.psnr).mean));
        for (const method of plan.get(task)!) {
          const r = results.get(`${task}|${method}`)!;
          const p = meanStd(r.psnr),
            s = meanStd(r.ssim);
          const b = p.mean === best ? '**' : '';
          lines.push(
            `| ${task} | ${method} | ${stepsOf.get(method)!.count} | ${b}${p.mean.toFixed(2)} ± ${p.std.toFixed(2)}${b} | ${s.mean.toFixed(3)} ± ${s.std.toFixed(3)} | ${r.secondsPerImage.toFixed(1)} |`,
          );
        }
      }
      lines.push(
        '',
        `Bold: each task's best mean PSNR. Grid: \`grid.png\` (truth | measurement | ${columns.join(' | ')}; captions: PSNR). mean ± std over ${f.n} images (population std).`,
      );
      // grid and summary replace the previous ones together (src/io/atomic.ts)
      writeFilesAtomic([
        { path: gridPath, data: grid },
        { path: join(f.output, 'summary.md'), data: lines.join('\n') + '\n' },
      ]);
      ctx.io.log(lines.slice(4).join('\n'));
      ctx.io.log(`\nwrote ${gridPath} and ${join(f.output, 'summary.md')}`);
    } finally {
      e.destroy();
    }
  },
});
