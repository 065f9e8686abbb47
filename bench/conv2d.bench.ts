// Conv / linear kernel timings on the shapes of the ADM UNets (GPU time per dispatch from the profiler,
// best of --reps; lavapipe shares the CPU with everything else on the machine, so take the minimum).
//   npx tsx bench/conv2d.bench.ts [--reps N] [--ffhq] [--portable]
// --ffhq adds the FFHQ-256 UNet shapes (seconds per shape on lavapipe); --portable also times the portable
// tiled-GEMM kernels on the shapes the simd kernels handle (slow on lavapipe).
import { Engine, type KernelRecord } from '../src/engine/index.js';
import type { Variant } from '../src/engine/adapter.js';
import { conv2d, conv2dBackwardInput } from '../src/engine/ops/conv2d.js';
import { linear, linearBackwardInput } from '../src/engine/ops/linear.js';

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1]) || 3;
const withFfhq = args.includes('--ffhq');
const withPortable = args.includes('--portable');

type Shape = { x: number[]; cout: number; k: 1 | 3; stride?: 1 | 2; note: string };
const tiny: Shape[] = [
  { x: [2, 3, 32, 32], cout: 32, k: 3, note: 'input conv' },
  { x: [2, 32, 32, 32], cout: 32, k: 3, note: 'level 0 ResBlock' },
  { x: [2, 64, 16, 16], cout: 64, k: 3, note: 'level 1 ResBlock' },
  { x: [2, 128, 16, 16], cout: 64, k: 3, note: 'decoder ResBlock (concat)' },
  { x: [2, 64, 8, 8], cout: 64, k: 3, note: 'level 2 ResBlock' },
  { x: [2, 32, 32, 32], cout: 6, k: 3, note: 'out conv (learned sigma)' },
  { x: [2, 32, 16, 16], cout: 32, k: 3, stride: 2, note: 'stride-2 Downsample conv' },
  { x: [2, 96, 16, 16], cout: 64, k: 1, note: '1x1 skip' },
  { x: [2, 64, 256, 1], cout: 192, k: 1, note: 'attention qkv (conv1d)' },
];
const ffhq: Shape[] = [
  { x: [1, 128, 256, 256], cout: 128, k: 3, note: 'FFHQ 256x256' },
  { x: [1, 256, 64, 64], cout: 256, k: 3, note: 'FFHQ 64x64' },
  { x: [1, 512, 16, 16], cout: 512, k: 3, note: 'FFHQ 16x16' },
  { x: [1, 512, 256, 1], cout: 1536, k: 1, note: 'FFHQ attention qkv' },
];

function fill(n: number, seed: number) {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
}

async function best(e: Engine, fn: () => unknown): Promise<KernelRecord> {
  fn();
  await e.sync(); // compile outside the timing
  let rec: KernelRecord | undefined;
  for (let r = 0; r < reps; r++) {
    e.startProfiling();
    fn();
    const [k] = await e.stopProfiling();
    if (!rec || k.ms < rec.ms) rec = k;
  }
  return rec!;
}

function line(what: string, note: string, r: KernelRecord) {
  const gf = r.flops / (r.ms * 1e6);
  console.log(
    `${what.padEnd(30)} ${note.padEnd(27)} ${r.ms.toFixed(3).padStart(10)} ms ${gf.toFixed(1).padStart(8)} GFLOP/s   ${r.kernel}`,
  );
}

const e = await Engine.create();
console.log(`# conv2d / linear on ${e.gpu.description}; timing: ${e.timingSource}; best of ${reps}`);
console.log(`adapter: ${e.adapter.describe()}\n`);
const algos: Array<Variant | undefined> = withPortable ? [undefined, 'portable'] : [undefined];
for (const s of withFfhq ? [...tiny, ...ffhq] : tiny) {
  const [n, cin, h, w] = s.x;
  const x = e.upload(fill(n * cin * h * w, 1), s.x);
  const wt = e.upload(
    fill(s.cout * cin * s.k * s.k, 2).map((v) => v / Math.sqrt(cin * s.k * s.k)),
    [s.cout, cin, s.k, s.k],
  );
  const b = e.upload(fill(s.cout, 3), [s.cout]);
  for (const variant of algos) {
    if (variant === 'portable' && n * cin * h * w * s.cout > 2 ** 27) continue;
    const tag = variant ? ` (${variant})` : '';
    const y = conv2d(e, x, wt, b, { stride: s.stride, variant });
    line(
      `[${s.x}]->${s.cout} k${s.k}${s.stride === 2 ? ' s2' : ''}${tag}`,
      s.note,
      await best(e, () => e.release(conv2d(e, x, wt, b, { stride: s.stride, variant }))),
    );
    line(
      `  backward input${tag}`,
      '',
      await best(e, () => e.release(conv2dBackwardInput(e, y, wt, s.x, { stride: s.stride, variant }))),
    );
    e.release(y);
  }
  e.release(x, wt, b);
}

console.log('');
for (const [n, cin, cout, note] of [
  [1, 128, 512, 'time_embed.0'],
  [1, 512, 512, 'time_embed.2'],
  [8, 512, 1024, 'emb_layers, 8 rows'],
  [2, 128, 256, 'adm-tiny emb_layers'],
] as const) {
  const x = e.upload(fill(n * cin, 4), [n, cin]),
    w = e.upload(fill(cout * cin, 5), [cout, cin]),
    b = e.upload(fill(cout, 6), [cout]);
  line(`linear [${n},${cin}]->${cout}`, note, await best(e, () => e.release(linear(e, x, w, b, { siluInput: true }))));
  const gy = e.upload(fill(n * cout, 7), [n, cout]);
  line(`  backward input`, '', await best(e, () => e.release(linearBackwardInput(e, gy, w))));
  e.release(x, w, b, gy);
}
e.destroy();
