// UNet forward / VJP / JVP / hyper-dual timings with per-kernel GPU tables.
//   npx tsx bench/unet.bench.ts [--ffhq] [--reps N]
// adm-tiny: the fixture model (converted on the fly). ffhq-256: the DPS FFHQ architecture with random
// weights (batch 1, 256×256) — slow on lavapipe, so only with --ffhq (or BENCH_FFHQ=1).
import { readFileSync } from 'node:fs';
import { Engine, formatKernelTable, fmtBytes, type KernelRecord } from '../src/engine/index.js';
import { serializeSafetensors } from '../src/engine/safetensors.js';
import { UNet, loadUNet, parseModelConfig, randomUNetWeights } from '../src/unet/index.js';
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1]) || 3;
const withFfhq = args.includes('--ffhq') || process.env.BENCH_FFHQ === '1';

function gflops(recs: KernelRecord[]) {
  return recs.reduce((a, r) => a + r.flops, 0) / 1e9;
}

async function timeIt(e: Engine, label: string, fn: () => void, n: number) {
  fn(); // warm-up: compiles pipelines
  await e.sync();
  e.pool.resetPeak();
  const base = e.pool.bytesInUse;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  await e.sync();
  const wall = (performance.now() - t0) / n;
  e.startProfiling();
  fn();
  const recs = await e.stopProfiling();
  const gpu = recs.reduce((a, r) => a + r.ms, 0);
  return { label, wall, gpu, recs, peak: e.pool.peakBytesInUse - base };
}

async function benchModel(e: Engine, name: string, net: UNet, batch: number) {
  const [C, H, W] = net.imageShape;
  const n = batch * C * H * W;
  const x = e.upload(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)),
    [batch, C, H, W],
  );
  const v = e.upload(
    Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.11)),
    [batch, C, H, W],
  );
  const u = e.upload(
    Float32Array.from({ length: batch * net.outChannels * H * W }, (_, i) => Math.sin(i * 0.05)),
    [batch, net.outChannels, H, W],
  );
  const t = Array.from({ length: batch }, (_, i) => 500 + i);
  const free = (o: object) => e.release(...(Object.values(o) as any[]));
  const fwd = await timeIt(e, 'forward', () => e.release(net.forward(x, t)), reps);
  const rows = [fwd];
  rows.push(await timeIt(e, 'vjp', () => free(net.vjp(x, t, u)), reps));
  rows.push(await timeIt(e, 'jvp', () => free(net.jvp(x, t, v)), reps));
  rows.push(await timeIt(e, 'hyper-dual d2', () => free(net.d2(x, t, v, x)), reps));
  console.log(`\n## ${name} (batch ${batch}, ${C}×${H}×${W}) on ${e.gpu.description}; timing: ${e.timingSource}`);
  console.log(`forward: ${gflops(fwd.recs).toFixed(2)} GFLOP (conv/linear/attention FLOPs counted by the kernels)`);
  console.log(
    `${'pass'.padEnd(14)} ${'wall ms/img'.padStart(12)} ${'GPU ms/img'.padStart(11)} ${'× fwd'.padStart(7)} ${'GFLOP/s'.padStart(9)} ${'peak mem'.padStart(10)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(14)} ${(r.wall / batch).toFixed(2).padStart(12)} ${(r.gpu / batch).toFixed(2).padStart(11)} ${(r.gpu / fwd.gpu).toFixed(2).padStart(7)} ${(gflops(r.recs) / (r.gpu / 1000)).toFixed(2).padStart(9)} ${fmtBytes(r.peak).padStart(10)}`,
    );
  }
  console.log('\n' + formatKernelTable(fwd.recs, `${name} forward, per kernel`));
  e.release(x, v, u);
}

const e = await Engine.create();
{
  const cfg = JSON.parse(readFileSync(new URL('../test/fixtures/adm-tiny/config.json', import.meta.url), 'utf8'));
  const conv = convertCheckpointBytes(
    new Uint8Array(readFileSync(new URL('../test/fixtures/adm-tiny/model.pt', import.meta.url))),
    cfg,
  );
  await benchModel(e, 'adm-tiny', loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata)), 1);
}
if (withFfhq) {
  const manifest = JSON.parse(
    readFileSync(new URL('../test/fixtures/manifests/ffhq-256.keys.json', import.meta.url), 'utf8'),
  );
  const net = new UNet(e, randomUNetWeights(e, parseModelConfig(manifest.config)));
  await benchModel(e, 'ffhq-256', net, 1);
} else {
  console.log('\n(ffhq-256 skipped: pass --ffhq; it takes minutes on lavapipe)');
}
e.destroy();
