// One DPS+CMI sampling run of 2 steps on the FFHQ-256 architecture (random weights, batch 1, box
// inpainting): the hyper-dual pass at 256x256 within lavapipe's 128 MiB storage bindings. Minutes on
// lavapipe, so not part of `npm run bench` unless BENCH_FFHQ=1.
//   npx tsx bench/ffhq-cmi.bench.ts
import { readFileSync } from 'node:fs';
import { Engine, fmtBytes } from '../src/engine/index.js';
import { randn } from '../src/engine/ops/random.js';
import { sample } from '../src/samplers/sampler.js';
import { UNet, parseModelConfig, randomUNetWeights } from '../src/unet/index.js';
import { boxInpainting } from './samplers.bench.js';

if (process.env.BENCH_FFHQ !== '1' && !process.argv.includes('--run')) {
  console.log('ffhq-cmi bench skipped: set BENCH_FFHQ=1 (or pass --run); it takes minutes on lavapipe');
  process.exit(0);
}
const e = await Engine.create();
const manifest = JSON.parse(
  readFileSync(new URL('../test/fixtures/manifests/ffhq-256.keys.json', import.meta.url), 'utf8'),
);
const model = new UNet(e, randomUNetWeights(e, parseModelConfig(manifest.config)));
const shape = [1, ...model.imageShape] as [number, number, number, number];
const op = boxInpainting(e, shape);
const x0 = randn(e, shape, 5, 0, 0.5);
const y = op.forward(x0);
console.log(
  `# FFHQ-256 (random weights) dps+cmi r=1, 2 steps, batch 1 on ${e.gpu.description}; ` +
    `storage binding limit ${fmtBytes(e.limits.maxStorageBufferBindingSize)}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
);
e.pool.resetPeak();
const base = e.pool.bytesInUse;
const t0 = performance.now();
const res = await sample({
  model,
  operator: op,
  noise: { kind: 'gaussian', level: 0.05 },
  y,
  method: 'dps+cmi',
  steps: '2',
  task: 'inpainting',
  cmi: { r: 1, eta: { kind: 'constant', eta: 0.1 }, sigmaInv: 'isotropic' },
});
const out = await e.read(res.x0);
console.log(
  `done: ${((performance.now() - t0) / 1000).toFixed(1)} s for 2 steps (${res.secondsPerStep.toFixed(1)} s/step), ` +
    `peak pool memory ${fmtBytes(e.pool.peakBytesInUse - base)}, output finite: ${out.every(Number.isFinite)}`,
);
e.destroy();
