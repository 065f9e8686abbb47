// Attention / GroupNorm / SiLU kernel timings on the shapes of the ADM UNets, best of --reps (lavapipe
// shares the 2 cores with whatever else runs on the machine: only the minimum means something):
//   - GPU ms: per-kernel time from the profiler (timestamps around each dispatch: wall time on the
//     lavapipe threads, inflated whenever other processes take the cores);
//   - CPU ms: process CPU time per call (all lavapipe threads), steadier under load for A/B tests.
//   npx tsx bench/nonlinear.bench.ts [--reps N] [--only attention|groupnorm|silu|unet] [--no-ffhq] [--portable]
// Cases: adm-tiny (the fixture model) and FFHQ-256 (DPS) shapes, K = 1 (forward), 2 (dual: JVP),
// 4 (hyper-dual: d2) and the K = 1 backward (VJP); `unet` profiles the nonlinear kernels inside the
// adm-tiny UNet forward. --portable forces every op onto its portable
// kernels (the ones used before the CPU-SIMD kernels; in `unet` the convolutions fall back too).
import { readFileSync } from 'node:fs';
import { Engine, formatKernelTable, summarize, type KernelRecord, type Tensor } from '../src/engine/index.js';
import { attention, attentionBackward } from '../src/engine/ops/attention.js';
import { groupNorm, groupNormBackward } from '../src/engine/ops/groupnorm.js';
import { silu, siluBackward } from '../src/engine/ops/activation.js';
import { serializeSafetensors } from '../src/engine/safetensors.js';
import { loadUNet } from '../src/unet/index.js';
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1]) || 3;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
const ffhq = !args.includes('--no-ffhq');
const want = (what: string) => !only || only === what;

const fill = (n: number, seed: number, scale = 1) =>
  Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * 0.37 + seed));

interface Timing {
  /** per kernel: calls and GPU ms of one call of fn (minimum over reps, summed over its calls) */
  kernels: Map<string, { calls: number; ms: number }>;
  /** process CPU ms of one call of fn (minimum over reps) */
  cpu: number;
}

async function best(e: Engine, fn: () => unknown): Promise<Timing> {
  fn();
  await e.sync(); // compile outside the timing
  const kernels = new Map<string, { calls: number; ms: number }>();
  let cpu = Infinity;
  for (let r = 0; r < reps; r++) {
    e.startProfiling();
    fn();
    for (const s of summarize(await e.stopProfiling())) {
      const o = kernels.get(s.kernel);
      if (!o || s.ms < o.ms) kernels.set(s.kernel, { calls: s.calls, ms: s.ms });
    }
    const c0 = process.cpuUsage();
    fn();
    await e.sync();
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1000);
  }
  return { kernels, cpu };
}

function report(what: string, t: Timing) {
  const total = [...t.kernels.values()].reduce((a, v) => a + v.ms, 0);
  console.log(`${what.padEnd(52)} GPU ${total.toFixed(3).padStart(9)} ms   CPU ${t.cpu.toFixed(2).padStart(8)} ms`);
  if (t.kernels.size > 1 || [...t.kernels.values()][0].calls > 1) {
    for (const [k, v] of t.kernels)
      console.log(`    ${k.slice(0, 60).padEnd(60)} x${v.calls} ${v.ms.toFixed(3).padStart(9)} ms`);
  }
}

const free = (...ts: Tensor[]) => ts.forEach((t) => e.release(t));
const e = await Engine.create();
if (args.includes('--portable')) e.adapter.forceAll('portable');
console.log(
  `# nonlinear kernels on ${e.gpu.description}${args.includes('--portable') ? ' (portable kernels)' : ''}; timing: ${e.timingSource}; best of ${reps}\n`,
);

if (want('attention')) {
  // [N, heads, ch, T]
  const shapes: Array<[string, number, number, number, number]> = [
    ['adm-tiny 16x16', 1, 4, 16, 256],
    ['adm-tiny 8x8 (middle)', 1, 4, 16, 64],
  ];
  if (ffhq) shapes.push(['ffhq 16x16', 1, 8, 64, 256], ['ffhq 8x8 (middle)', 1, 8, 64, 64]);
  for (const [note, N, H, ch, T] of shapes) {
    for (const K of [1, 2, 4] as const) {
      const qkv = e.upload(fill(K * N * 3 * H * ch * T, K, 1.5), [K * N, 3 * H * ch, T]);
      report(
        `attention ${note} H=${H} ch=${ch} T=${T} K=${K}`,
        await best(e, () => e.release(attention(e, qkv, H, K))),
      );
      free(qkv);
    }
    const qkv = e.upload(fill(N * 3 * H * ch * T, 5, 1.5), [N, 3 * H * ch, T]);
    const gy = e.upload(fill(N * H * ch * T, 6), [N, H * ch, T]);
    report(`attentionBackward ${note}`, await best(e, () => e.release(attentionBackward(e, qkv, H, gy))));
    free(qkv, gy);
  }
  console.log('');
}

if (want('groupnorm')) {
  // [N, C, H, W], options
  const shapes: Array<[string, number[], { silu?: boolean; ss?: boolean }]> = [
    ['adm-tiny', [1, 32, 32, 32], { silu: true }],
    ['adm-tiny', [1, 96, 32, 32], { silu: true }],
    ['adm-tiny', [1, 64, 16, 16], { silu: true, ss: true }],
    ['adm-tiny', [1, 128, 16, 16], { silu: true }],
    ['adm-tiny', [1, 64, 8, 8], { silu: true, ss: true }],
    ['adm-tiny attn', [1, 64, 256, 1], {}],
  ];
  if (ffhq) {
    shapes.push(
      ['ffhq', [1, 128, 256, 256], { silu: true }],
      ['ffhq', [1, 256, 64, 64], { silu: true, ss: true }],
      ['ffhq', [1, 512, 16, 16], { silu: true, ss: true }],
      ['ffhq', [1, 512, 8, 8], { silu: true }],
    );
  }
  for (const [note, shape, o] of shapes) {
    const [N, C] = shape;
    const size = shape.reduce((a, b) => a * b, 1);
    const gamma = e.upload(
      fill(C, 1, 0.3).map((v) => 1 + v),
      [C],
    );
    const beta = e.upload(fill(C, 2, 0.3), [C]);
    const ss = o.ss ? e.upload(fill(N * 2 * C, 3, 0.5), [N, 2 * C]) : undefined;
    const tag = `${note} [${shape}]${o.silu ? ' silu' : ''}${o.ss ? ' ss' : ''}`;
    for (const K of [1, 2, 4] as const) {
      if (K > 1 && size > 2 ** 22) continue;
      const x = e.upload(fill(K * size, K), [K * N, ...shape.slice(1)]);
      report(
        `groupNorm ${tag} K=${K}`,
        await best(e, () => e.release(groupNorm(e, x, gamma, beta, { K, silu: o.silu, scaleShift: ss }))),
      );
      free(x);
    }
    const x = e.upload(fill(size, 7), shape);
    const gy = e.upload(fill(size, 8), shape);
    report(
      `groupNormBackward ${tag}`,
      await best(e, () => e.release(groupNormBackward(e, x, gamma, beta, gy, { silu: o.silu, scaleShift: ss }))),
    );
    free(x, gy, gamma, beta);
    if (ss) free(ss);
  }
  console.log('');
}

if (want('silu')) {
  const shapes: Array<[string, number[]]> = [
    ['emb [1,512]', [1, 512]],
    ['ffhq-size [1,128,256,256]', [1, 128, 256, 256]],
  ];
  for (const [note, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    for (const K of [1, 2, 4] as const) {
      const x = e.upload(fill(K * size, K), [K * shape[0], ...shape.slice(1)]);
      report(`silu ${note} K=${K}`, await best(e, () => e.release(silu(e, x, K))));
      free(x);
    }
    const x = e.upload(fill(size, 3), shape),
      gy = e.upload(fill(size, 4), shape);
    report(`siluBackward ${note}`, await best(e, () => e.release(siluBackward(e, x, gy))));
    free(x, gy);
  }
  console.log('');
}

if (want('unet')) {
  const cfg = JSON.parse(readFileSync(new URL('../test/fixtures/adm-tiny/config.json', import.meta.url), 'utf8'));
  const conv = convertCheckpointBytes(
    new Uint8Array(readFileSync(new URL('../test/fixtures/adm-tiny/model.pt', import.meta.url))),
    cfg,
  );
  const net = loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata));
  const [C, H, W] = net.imageShape;
  const x = e.upload(fill(C * H * W, 1), [1, C, H, W]);
  e.release(net.forward(x, [500]));
  await e.sync();
  let bestRecs: KernelRecord[] = [];
  let bestMs = Infinity;
  for (let r = 0; r < reps; r++) {
    e.startProfiling();
    e.release(net.forward(x, [500]));
    const recs = (await e.stopProfiling()).filter((k) => /^(attention|groupnorm|activation)/.test(k.kernel));
    const ms = recs.reduce((a, k) => a + k.ms, 0);
    if (ms < bestMs) [bestMs, bestRecs] = [ms, recs];
  }
  console.log(formatKernelTable(bestRecs, 'adm-tiny UNet forward: attention / GroupNorm / SiLU kernels (best rep)'));
  e.release(x);
}
e.destroy();
