// Seconds per sampling step for every method (and the +cmi overhead for r = 1 and r = 4) on box inpainting.
//   npx tsx bench/samplers.bench.ts [--model gmm,adm-tiny,ffhq] [--steps N] [--warmup N] [--methods dps,pigdm,…] [--r 1,4] [--ffhq]
// `benchSamplers(engine, makeModel, opts)` is the reusable part: give it any ScoreModel factory.
// Models: gmm (analytic Gaussian mixture, 3×16×16, always available), adm-tiny (the fixture UNet, 3×32×32),
// ffhq (the DPS FFHQ-256 architecture with random weights; minutes per step on lavapipe, so only with --ffhq,
// BENCH_FFHQ=1 or --model ffhq, and timed over 2 steps).
import { readFileSync } from 'node:fs';
import { Engine, type Tensor } from '../src/engine/index.js';
import { copy, mulInPlace } from '../src/engine/ops/vector.js';
import { randn } from '../src/engine/ops/random.js';
import { serializeSafetensors } from '../src/engine/safetensors.js';
import type { MeasurementOperator, SvdView } from '../src/operators/operator.js';
import { gather, inverseIndex } from '../src/operators/svd.js';
import { GaussianMixturePrior, randomGmmSpec } from '../src/lab/gmm.js';
import { METHOD_NAMES, parseMethod } from '../src/samplers/methods.js';
import { sample } from '../src/samplers/sampler.js';
import type { ScoreModel } from '../src/samplers/score-model.js';

/** Box inpainting y = mask ⊙ x with its SVD view (a permutation: observed pixels first). */
export function boxInpainting(
  e: Engine,
  shape: readonly [number, number, number, number],
  box = 0.25,
): MeasurementOperator {
  const [N, C, H, W] = shape;
  const D = C * H * W;
  const m = new Float32Array(D).fill(1);
  const h0 = Math.floor(H * (0.5 - box)),
    h1 = Math.ceil(H * (0.5 + box)),
    w0 = Math.floor(W * (0.5 - box)),
    w1 = Math.ceil(W * (0.5 + box));
  for (let c = 0; c < C; c++) for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) m[c * H * W + i * W + j] = 0;
  const mask = e.upload(
    new Float32Array(N * D).map((_, i) => m[i % D]),
    shape,
    'mask',
  );
  const kept: number[] = [],
    dropped: number[] = [];
  m.forEach((v, i) => (v ? kept : dropped).push(i));
  const vIdx = Uint32Array.from([...kept, ...dropped]);
  const vIdxT = e.upload(vIdx, [D]),
    vInvT = e.upload(inverseIndex(vIdx, D), [D]);
  const uIdxT = e.upload(Uint32Array.from(kept), [kept.length]);
  const uInvT = e.upload(inverseIndex(Uint32Array.from(kept), D), [D]);
  const apply = (x: Tensor) => mulInPlace(e, copy(e, x), mask);
  const svd: SvdView = {
    rank: kept.length,
    singulars: e.upload(new Float32Array(kept.length).fill(1), [kept.length]),
    vt: (x) => gather(e, x, vIdxT, N, D, [N, D]),
    v: (z) => gather(e, z, vInvT, N, D, shape),
    ut: (y) => gather(e, y, uIdxT, N, D, [N, kept.length]),
    u: (z) => gather(e, z, uInvT, N, kept.length, shape),
  };
  return {
    name: 'box-inpainting',
    inputShape: shape,
    outputShape: shape,
    linear: true,
    forward: apply,
    vjp: (_x, u) => apply(u),
    adjoint: apply,
    pinv: apply,
    svd,
  };
}

export interface BenchOptions {
  methods?: string[];
  /** respaced steps to time (after one warm-up run of `warmup` steps) */
  steps?: number;
  /** steps of the untimed warm-up run that compiles the pipelines (default 2; ≥ 2 also compiles the noisy-step kernels) */
  warmup?: number;
  /** probe counts for the +cmi rows */
  r?: number[];
  batch?: number;
}

export interface BenchRow {
  method: string;
  r?: number;
  secondsPerStep: number;
  /** relative to the same method without +cmi */
  overhead?: number;
}

export async function benchSamplers(e: Engine, model: ScoreModel, o: BenchOptions = {}): Promise<BenchRow[]> {
  const N = o.batch ?? 1;
  const shape = [N, ...model.imageShape] as [number, number, number, number];
  const op = boxInpainting(e, shape);
  const x0 = randn(e, shape, 5, 0, 0.5);
  const y = op.forward(x0);
  const steps = o.steps ?? 5;
  const rows: BenchRow[] = [];
  const base = new Map<string, number>();
  const methods = o.methods ?? METHOD_NAMES.filter((m) => !m.endsWith('+cmi'));
  const run = async (method: string, r?: number, n = steps) => {
    const res = await sample({
      model,
      operator: op,
      noise: { kind: 'gaussian', level: 0.05 },
      y,
      method,
      steps: `${n}`,
      task: 'inpainting',
      cmi: r ? { r, eta: { kind: 'constant', eta: 0.1 }, sigmaInv: 'isotropic' } : undefined,
    });
    e.release(res.x0);
    return res.secondsPerStep;
  };
  for (const method of methods) {
    await run(method, undefined, o.warmup ?? 2); // compile pipelines (incl. the noisy-step kernels), warm the pool
    const s = await run(method);
    base.set(method, s);
    rows.push({ method, secondsPerStep: s });
    console.log(`${method.padEnd(12)} ${s.toFixed(4)} s/step`);
  }
  for (const method of methods.filter((m) => {
    try {
      return parseMethod(`${m}+cmi`).cmi;
    } catch {
      return false;
    }
  })) {
    for (const r of o.r ?? [1, 4]) {
      try {
        await run(`${method}+cmi`, r, o.warmup ?? 2);
      } catch (err) {
        // a pass whose tensors exceed the adapter's storage binding limit (before the concat-free output
        // blocks: FFHQ-256's hyper-dual concatenation, 256 MiB against lavapipe's 128 MiB)
        console.log(`${`${method}+cmi`.padEnd(12)} r=${r} skipped: ${String((err as Error).message).split('\n')[0]}`);
        continue;
      }
      const s = await run(`${method}+cmi`, r);
      const overhead = s / base.get(method)!;
      rows.push({ method: `${method}+cmi`, r, secondsPerStep: s, overhead });
      console.log(
        `${`${method}+cmi`.padEnd(12)} r=${r} ${s.toFixed(4)} s/step  (×${overhead.toFixed(2)} of ${method})`,
      );
    }
  }
  e.release(x0, y);
  return rows;
}

async function modelFor(e: Engine, name: string): Promise<ScoreModel> {
  if (name === 'gmm')
    return GaussianMixturePrior.fromSpec(e, randomGmmSpec({ shape: [3, 16, 16], components: 4, seed: 1 }));
  const unet: any = await import('../src/unet/index.js');
  if (name === 'adm-tiny') {
    const { convertCheckpointBytes } = await import('../tools/convert-weights/convert.js');
    const cfg = JSON.parse(readFileSync(new URL('../test/fixtures/adm-tiny/config.json', import.meta.url), 'utf8'));
    const conv = convertCheckpointBytes(
      new Uint8Array(readFileSync(new URL('../test/fixtures/adm-tiny/model.pt', import.meta.url))),
      cfg,
    );
    return unet.loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata));
  }
  if (name === 'ffhq') {
    const manifest = JSON.parse(
      readFileSync(new URL('../test/fixtures/manifests/ffhq-256.keys.json', import.meta.url), 'utf8'),
    );
    return new unet.UNet(e, unet.randomUNetWeights(e, unet.parseModelConfig(manifest.config)));
  }
  throw new Error(`unknown model '${name}' (gmm, adm-tiny, ffhq)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const arg = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const withFfhq = args.includes('--ffhq') || process.env.BENCH_FFHQ === '1';
  const models = (arg('--model') ?? `gmm,adm-tiny${withFfhq ? ',ffhq' : ''}`).split(',');
  const e = await Engine.create();
  for (const name of models) {
    let model: ScoreModel;
    try {
      model = await modelFor(e, name);
    } catch (err) {
      console.log(`\n## ${name}: skipped (${String((err as Error).message).split('\n')[0]})`);
      continue;
    }
    console.log(
      `\n## ${name} (${model.imageShape.join('×')}, batch 1) on ${e.gpu.description}: seconds per step, box inpainting`,
    );
    await benchSamplers(e, model, {
      steps: Number(arg('--steps') ?? (name === 'ffhq' ? 2 : 5)),
      warmup: Number(arg('--warmup') ?? 2),
      methods: arg('--methods')?.split(','),
      r: arg('--r')?.split(',').map(Number),
    });
  }
  if (!withFfhq && !arg('--model'))
    console.log('\n(ffhq-256 skipped: pass --ffhq; it takes minutes per step on lavapipe)');
  e.destroy();
}
