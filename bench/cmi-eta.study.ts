// Which CMI step size ηₜ helps? Runs a base method and method+cmi over a grid of η schedules on box
// inpainting (σ_y = 0.05) and reports PSNR (mean ± std over images) against the ground truth.
//   npx tsx bench/cmi-eta.study.ts [--model gmm|fmnist] [--method dps] [--steps 100] [--images 8]
//        [--etas none,constant:0.01,relative:0.25,…] [--r 1] [--sigma-inv isotropic|exact] [--seed 0]
// Models: gmm — a 4-component Gaussian mixture on 1×8×8 (fast; its posterior is a known mixture);
// fmnist — the embedded Fashion-MNIST UNet (test/fixtures/prior-fmnist) on Fashion-MNIST test images.
import { readFileSync } from 'node:fs';
import { Engine } from '../src/engine/index.js';
import { randn } from '../src/engine/ops/random.js';
import { axpby } from '../src/engine/ops/vector.js';
import { serializeSafetensors } from '../src/engine/safetensors.js';
import { loadTestImages } from '../src/io/fmnist.js';
import { meanStd, psnr } from '../src/io/metrics.js';
import { GaussianMixturePrior, randomGmmSpec } from '../src/lab/gmm.js';
import { Rng64 } from '../src/lab/rng64.js';
import type { SigmaInvMode } from '../src/samplers/cmi.js';
import { parseEtaSchedule } from '../src/samplers/methods.js';
import { sample } from '../src/samplers/sampler.js';
import type { ScoreModel } from '../src/samplers/score-model.js';
import { boxInpainting } from './samplers.bench.js';

const args = process.argv.slice(2);
const arg = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const modelName = arg('--model', 'gmm');
const method = arg('--method', 'dps');
const steps = Number(arg('--steps', '100'));
const N = Number(arg('--images', '8'));
const r = Number(arg('--r', '1'));
const sigmaInv = arg('--sigma-inv', 'isotropic') as SigmaInvMode;
const seed = Number(arg('--seed', '0'));
const etas = arg(
  '--etas',
  'none,constant:0.001,constant:0.01,constant:0.1,residual:0.05,residual:0.5,relative:0.1,relative:0.3,relative:1',
).split(',');

const e = await Engine.create();
let model: ScoreModel;
let truth: Float32Array;
if (modelName === 'gmm') {
  const prior = GaussianMixturePrior.fromSpec(
    e,
    randomGmmSpec({ shape: [1, 8, 8], components: 4, rank: 3, seed: 3, spread: 0.6, scale: 0.03 }),
  );
  const rng = new Rng64(100 + seed);
  truth = Float32Array.from(Array.from({ length: N }, () => Array.from(prior.dense.sample(rng))).flat());
  model = prior;
} else if (modelName === 'fmnist') {
  const unet: any = await import('../src/unet/index.js');
  const { convertCheckpointBytes } = await import('../tools/convert-weights/convert.js');
  const cfg = JSON.parse(readFileSync(new URL('../test/fixtures/prior-fmnist/config.json', import.meta.url), 'utf8'));
  const conv = convertCheckpointBytes(
    new Uint8Array(readFileSync(new URL('../test/fixtures/prior-fmnist/model.pt', import.meta.url))),
    cfg,
  );
  model = unet.loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata));
  truth = loadTestImages(N).x;
} else throw new Error(`--model ${modelName}: expected gmm or fmnist`);

const shape = [N, ...model.imageShape] as [number, number, number, number];
const op = boxInpainting(e, shape);
const xt = e.upload(truth, shape);
const y = op.forward(xt);
const n = randn(e, shape, 77 + seed);
axpby(e, 0.05, n, 1, y);
const D = shape[1] * shape[2] * shape[3];
console.log(
  `${method}${r ? '' : ''} on ${modelName} (${shape.join('×')}), box inpainting, σ_y 0.05, ${steps} steps, r = ${r}, Σ⁻¹ ${sigmaInv}`,
);
for (const spec of etas) {
  const t0 = performance.now();
  const res = await sample({
    model,
    operator: op,
    noise: { kind: 'gaussian', level: 0.05 },
    y,
    method: spec === 'none' ? method : `${method}+cmi`,
    steps,
    seed: 1000 * seed,
    task: 'inpainting',
    cmi: spec === 'none' ? undefined : { r, eta: parseEtaSchedule(spec), sigmaInv },
  });
  const x = await e.read(res.x0);
  const ps = Array.from({ length: N }, (_, i) =>
    psnr(x.subarray(i * D, (i + 1) * D), truth.subarray(i * D, (i + 1) * D)),
  );
  const { mean, std } = meanStd(ps.filter(Number.isFinite));
  const nan = x.some((v) => !Number.isFinite(v)) ? '  (non-finite values!)' : '';
  console.log(
    `${spec.padEnd(18)} PSNR ${mean.toFixed(2)} ± ${std.toFixed(2)} dB   final ‖y−Ax̂₀‖ ${Array.from(res.distances.at(-1) ?? []).reduce((a, b) => a + b, 0) / N}  ${((performance.now() - t0) / 1000).toFixed(1)} s${nan}`,
  );
  e.release(res.x0);
}
e.destroy();
