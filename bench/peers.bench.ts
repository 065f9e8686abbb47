// Our UNet forward against ONNX Runtime's native CPU EP, side by side in one process on the same inputs:
// interleaved repetitions, medians of wall time and of the process's CPU time (both runtimes compute on
// threads of this process; on a shared machine CPU time is the steadier of the two).
//   npx tsx bench/peers.bench.ts [--reps N] [--onnx DIR] [--ort PATH]
// DIR holds adm-tiny.onnx and prior-fmnist.onnx (ONNX exports of the same PyTorch weights; default
// ../shared/fixtures/peers). PATH: the onnxruntime-node package folder (default: resolved from here); install
// it with `npm i --ignore-scripts onnxruntime-node` (its postinstall downloads extra providers). Skipped,
// with exit code 0, when either is missing.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, type Tensor } from '../src/engine/index.js';
import { serializeSafetensors } from '../src/engine/safetensors.js';
import { UNet, loadUNet } from '../src/unet/index.js';
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const reps = Number(opt('--reps')) || 15;
const onnxDir = opt('--onnx') ?? fileURLToPath(new URL('../../shared/fixtures/peers', import.meta.url));
let ort: any;
try {
  const req = createRequire(import.meta.url);
  ort = req(opt('--ort') ?? 'onnxruntime-node');
} catch (err) {
  console.log(`peers bench skipped: onnxruntime-node not found (${(err as Error).message.split('\n')[0]})`);
  process.exit(0);
}
if (!existsSync(join(onnxDir, 'adm-tiny.onnx'))) {
  console.log(`peers bench skipped: no ${join(onnxDir, 'adm-tiny.onnx')}`);
  process.exit(0);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const load1 = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

const e = await Engine.create();
const models: Array<{ name: string; net: UNet; onnx: string }> = [];
{
  const cfg = JSON.parse(readFileSync(new URL('../test/fixtures/adm-tiny/config.json', import.meta.url), 'utf8'));
  const conv = convertCheckpointBytes(
    new Uint8Array(readFileSync(new URL('../test/fixtures/adm-tiny/model.pt', import.meta.url))),
    cfg,
  );
  models.push({
    name: 'adm-tiny',
    net: loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata)),
    onnx: 'adm-tiny.onnx',
  });
  const fm = new Uint8Array(readFileSync(new URL('../models/fmnist-unet.safetensors', import.meta.url)));
  models.push({ name: 'fmnist prior', net: loadUNet(e, fm), onnx: 'prior-fmnist.onnx' });
}

console.log(
  `# UNet forward, batch 1: ours (${e.gpu.description}, ${e.adapter.describe()}) vs ONNX Runtime ${ort.env?.versions?.common ?? ''} CPU EP (2 threads)`,
);
console.log(
  `# ${reps} interleaved repetitions, medians; 1-min load average at start ${load1()} on ${(await import('node:os')).cpus().length} cores`,
);
console.log(
  `${'model'.padEnd(14)} ${'ours ms'.padStart(9)} ${'ours+read'.padStart(10)} ${'ORT ms'.padStart(8)} ${'ours/ORT'.padStart(9)}   ` +
    `${'CPU ms: ours'.padStart(12)} ${'ORT'.padStart(7)} ${'ours/ORT'.padStart(9)}`,
);
const cpuMs = (c0: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
};
for (const m of models) {
  const [C, H, W] = m.net.imageShape;
  const xs = Float32Array.from({ length: C * H * W }, (_, i) => Math.sin(i * 0.37));
  const session = await ort.InferenceSession.create(join(onnxDir, m.onnx), {
    intraOpNumThreads: 2,
    executionProviders: ['cpu'],
  });
  const feeds = {
    [session.inputNames[0]]: new ort.Tensor('float32', xs, [1, C, H, W]),
    [session.inputNames[1]]: new ort.Tensor('int64', BigInt64Array.from([500n]), [1]),
  };
  const x = e.upload(xs, [1, C, H, W]);
  const ours: number[] = [],
    oursRead: number[] = [],
    peer: number[] = [],
    oursCpu: number[] = [],
    peerCpu: number[] = [];
  let maxDiff = 0;
  for (let r = -2; r < reps; r++) {
    // r < 0: warm-up (pipeline compiles, ORT's first-run allocations)
    let t0 = performance.now();
    let c0 = process.cpuUsage();
    e.release(m.net.forward(x, [500]));
    await e.sync();
    const a = performance.now() - t0;
    const ca = cpuMs(c0);
    t0 = performance.now();
    const y: Tensor = m.net.forward(x, [500]);
    const ya = await e.read(y);
    e.release(y);
    const b = performance.now() - t0;
    t0 = performance.now();
    c0 = process.cpuUsage();
    const out = await session.run(feeds);
    const c = performance.now() - t0;
    const cc = cpuMs(c0);
    if (r < 0) {
      const yo = out[session.outputNames[0]].data as Float32Array;
      for (let i = 0; i < yo.length; i++) maxDiff = Math.max(maxDiff, Math.abs(yo[i] - ya[i]));
      continue;
    }
    ours.push(a);
    oursRead.push(b);
    peer.push(c);
    oursCpu.push(ca);
    peerCpu.push(cc);
  }
  console.log(
    `${m.name.padEnd(14)} ${median(ours).toFixed(2).padStart(9)} ${median(oursRead).toFixed(2).padStart(10)} ${median(peer).toFixed(2).padStart(8)} ${(median(ours) / median(peer)).toFixed(1).padStart(8)}×   ` +
      `${median(oursCpu).toFixed(1).padStart(12)} ${median(peerCpu).toFixed(1).padStart(7)} ${(median(oursCpu) / median(peerCpu)).toFixed(1).padStart(8)}×   (max |ours - ORT| ${maxDiff.toExponential(1)})`,
  );
  e.release(x);
  await session.release?.();
}
console.log(`# 1-min load average at end ${load1()}`);
e.destroy();
