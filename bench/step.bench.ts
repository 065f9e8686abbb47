// The passes a sampling step runs, A/B against a variant of the execution, interleaved in one process with
// medians (lavapipe shares the CPU with everything else: only side-by-side ratios mean much).
//   npx tsx bench/step.bench.ts [--reps N] [--batch N]
// Besides wall time it reports the process's CPU time (lavapipe's worker threads run in this process), which
// a busy machine inflates far less than wall time.
// Rows: the embedded Fashion-MNIST prior's forward + VJP (a DPS step's network work) at --batch (default
// 16) and adm-tiny's forward at batch 1; columns: output blocks fed without concatenation (UNet.concatFree
// = true; the default only where the concat exceeds the binding limit) vs with torch.cat materialized.
import { readFileSync } from 'node:fs';
import { Engine } from '../src/engine/index.js';
import { serializeSafetensors } from '../src/engine/safetensors.js';
import { UNet, loadUNet } from '../src/unet/index.js';
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
const reps = opt('--reps') ?? 7;
const batch = opt('--batch') ?? 16;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const load1 = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

const e = await Engine.create();
const fm = loadUNet(e, new Uint8Array(readFileSync(new URL('../models/fmnist-unet.safetensors', import.meta.url))));
const cfg = JSON.parse(readFileSync(new URL('../test/fixtures/adm-tiny/config.json', import.meta.url), 'utf8'));
const conv = convertCheckpointBytes(
  new Uint8Array(readFileSync(new URL('../test/fixtures/adm-tiny/model.pt', import.meta.url))),
  cfg,
);
const tiny = loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata));

function inputs(net: UNet, n: number) {
  const [C, H, W] = net.imageShape;
  const x = e.upload(
    Float32Array.from({ length: n * C * H * W }, (_, i) => Math.sin(i * 0.37)),
    [n, C, H, W],
  );
  const u = e.upload(
    Float32Array.from({ length: n * net.outChannels * H * W }, (_, i) => Math.cos(i * 0.11)),
    [n, net.outChannels, H, W],
  );
  return { x, u, t: Array.from({ length: n }, (_, i) => 100 + 50 * i) };
}

const cases: Array<{ name: string; net: UNet; run: () => void }> = [];
{
  const { x, u, t } = inputs(fm, batch);
  cases.push({
    name: `fmnist prior fwd+VJP, batch ${batch}`,
    net: fm,
    run: () => {
      const p = fm.forwardWithVjp(x, t);
      e.release(p.out, p.backward(u));
    },
  });
}
{
  const { x, t } = inputs(tiny, 1);
  cases.push({ name: 'adm-tiny forward, batch 1', net: tiny, run: () => e.release(tiny.forward(x, t)) });
}

console.log(`# ${e.gpu.description} (${e.adapter.describe()}); ${reps} interleaved reps, medians; load ${load1()}`);
console.log(
  `${'pass'.padEnd(34)} ${'concat-free ms'.padStart(15)} ${'with cat ms'.padStart(12)} ${'ratio'.padStart(7)}   ` +
    `${'CPU ms: free'.padStart(12)} ${'with cat'.padStart(9)} ${'ratio'.padStart(7)}`,
);
for (const c of cases) {
  const wall: Record<'a' | 'b', number[]> = { a: [], b: [] };
  const cpu: Record<'a' | 'b', number[]> = { a: [], b: [] };
  for (let r = -1; r < reps; r++) {
    for (const k of ['a', 'b'] as const) {
      c.net.concatFree = k === 'a';
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      c.run();
      await e.sync();
      const dc = process.cpuUsage(c0);
      if (r >= 0) {
        wall[k].push(performance.now() - t0);
        cpu[k].push((dc.user + dc.system) / 1000);
      }
    }
  }
  const [a, b] = [median(wall.a), median(wall.b)];
  const [ca, cb] = [median(cpu.a), median(cpu.b)];
  console.log(
    `${c.name.padEnd(34)} ${a.toFixed(1).padStart(15)} ${b.toFixed(1).padStart(12)} ${(b / a).toFixed(2).padStart(6)}×   ` +
      `${ca.toFixed(1).padStart(12)} ${cb.toFixed(1).padStart(9)} ${(cb / ca).toFixed(2).padStart(6)}×`,
  );
}
console.log(`# load at end ${load1()}`);
e.destroy();
