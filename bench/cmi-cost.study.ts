// What does the CMI term cost per sampling step? DPS and DPS+CMI (r = 1, 4, 16; isotropic and exact Σ⁻¹)
// on the embedded prior, with the r probes stacked on the batch axis of one network pass (the default) and
// one probe per pass (`stack` = N), side by side in one process: configurations interleaved over rounds,
// the median seconds per step reported with its ratio to the base step.
//   npx tsx bench/cmi-cost.study.ts [--images 1] [--rounds 3] [--steps-per-run 3] [--task sr4]
//        [--r 1,4,16] [--exact-r 1,4]
import { Engine } from '../src/engine/index.js';
import { loadTestImages } from '../src/io/fmnist.js';
import { createOperator, measure, type Task } from '../src/operators/index.js';
import type { CmiOptions } from '../src/samplers/cmi.js';
import { sample } from '../src/samplers/sampler.js';
import { DEFAULT_WEIGHTS, loadScoreModel } from '../src/cli/model-file.js';
import { samplerTask } from '../src/cli/measure-file.js';

const args = process.argv.slice(2);
const arg = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const N = Number(arg('--images', '1'));
const rounds = Number(arg('--rounds', '3'));
const perRun = Number(arg('--steps-per-run', '3'));
const task = arg('--task', 'sr4') as Task;

const e = await Engine.create();
const model = loadScoreModel(e, DEFAULT_WEIGHTS);
const [C, H, W] = model.imageShape;
const shape = [N, C, H, W];
const op = createOperator(task, { seed: 0 }, e, shape);
const x = e.upload(loadTestImages(N).x, shape);
const noise = { kind: 'gaussian' as const, level: 0.05 };
const { y } = measure(e, op, x, noise, 1);

type Config = { label: string; cmi?: CmiOptions };
const eta = { kind: 'relative' as const, eta: 0.2 };
const configs: Config[] = [{ label: 'dps' }];
const rs = { isotropic: arg('--r', '1,4,16'), exact: arg('--exact-r', '1,4') };
for (const sigmaInv of ['isotropic', 'exact'] as const)
  for (const r of rs[sigmaInv].split(',').filter(Boolean).map(Number)) {
    configs.push({ label: `+cmi ${sigmaInv} r=${r} stacked`, cmi: { r, eta, sigmaInv } });
    if (r > 1) configs.push({ label: `+cmi ${sigmaInv} r=${r} one per pass`, cmi: { r, eta, sigmaInv, stack: N } });
  }

const times = new Map<string, number[]>(configs.map((c) => [c.label, []]));
console.log(`${task}, ${N} image(s), ${rounds} rounds × ${perRun} steps per configuration (${e.gpu.description})`);
for (let round = 0; round < rounds; round++)
  for (const c of configs) {
    const ms: number[] = [];
    const res = await sample({
      model,
      operator: op,
      noise,
      y,
      method: c.cmi ? 'dps+cmi' : 'dps',
      steps: 1000,
      stopAt: perRun + 1,
      seed: 0,
      task: samplerTask(task),
      cmi: c.cmi,
      onStep: (s) => {
        if (s.i > 0) ms.push(s.ms); // step 0 also compiles pipelines
      },
    });
    e.release(res.x0);
    times.get(c.label)!.push(...ms.map((v) => v / 1000));
    console.log(`round ${round}: ${c.label} ${ms.map((v) => (v / 1000).toFixed(2)).join(' ')} s`);
  }
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};
const base = median(times.get('dps')!);
console.log('| configuration | s / step (median) | × base step |');
console.log('|---|---|---|');
for (const c of configs) {
  const m = median(times.get(c.label)!);
  console.log(`| ${c.label} | ${m.toFixed(2)} | ${(m / base).toFixed(2)} |`);
}
e.destroy();
