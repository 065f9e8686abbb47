// Measurement operators: FFT blur vs direct convolution (61×61 kernel on a 3×256×256 image, the DPS
// setting), and the other operators' forward / adjoint / VJP, in GPU ms (timestamp queries where the
// adapter has them) and wall ms per call.
//   npx tsx bench/operators.bench.ts [--reps N] [--size 256]
import { Engine, formatKernelTable, type KernelRecord } from '../src/engine/index.js';
import { BlurOperator } from '../src/operators/blur.js';
import { createOperator } from '../src/operators/index.js';
import { gaussianKernel } from '../src/operators/kernels.js';
import type { Tensor } from '../src/engine/tensor.js';

const args = process.argv.slice(2);
const opt = (name: string, d: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const reps = opt('--reps', 3);
const S = opt('--size', 256);

const e = await Engine.create();
console.log(`## operators on ${e.gpu.description}; timing: ${e.timingSource}; image 1×3×${S}×${S}`);

async function timeIt(label: string, fn: () => Tensor) {
  e.release(fn()); // warm-up: compiles pipelines, builds kernel spectra / SVDs
  await e.sync();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) e.release(fn());
  await e.sync();
  const wall = (performance.now() - t0) / reps;
  e.startProfiling();
  e.release(fn());
  const recs: KernelRecord[] = await e.stopProfiling();
  const gpu = recs.reduce((a, r) => a + r.ms, 0);
  console.log(
    `${label.padEnd(34)} GPU ${gpu.toFixed(3).padStart(9)} ms   wall ${wall.toFixed(1).padStart(8)} ms   ${recs.length} dispatches`,
  );
  return { gpu, recs };
}

const shape = [1, 3, S, S];
const x = e.upload(
  Float32Array.from({ length: 3 * S * S }, (_, i) => Math.sin(i * 0.37)),
  shape,
);
const k = gaussianKernel(61, 3.0);
const blur = new BlurOperator(e, shape, k, 61, { method: 'fft' });
const pow2 = new BlurOperator(e, shape, k, 61, { method: 'fft', fftSize: 'pow2' });
console.log(`\n### blur 61×61 (FFT grid ${blur.grid.l1}×${blur.grid.l2} smooth, ${pow2.grid.l1}×${pow2.grid.l2} pow2)`);
const fft = await timeIt('blur FFT (smooth grid) forward', () => blur.forwardFft(x));
await timeIt('blur FFT (pow2 grid) forward', () => pow2.forwardFft(x));
await timeIt('blur FFT adjoint', () => blur.adjointFft(x));
const direct = await timeIt('blur direct forward', () => blur.forwardDirect(x));
await timeIt('blur direct adjoint', () => blur.adjointDirect(x));
console.log(`FFT / direct speed-up: ${(direct.gpu / fft.gpu).toFixed(1)}×`);
console.log('\n' + formatKernelTable(fft.recs, 'blur FFT forward, per kernel'));

console.log('\n### other tasks');
for (const task of ['inpaint-box', 'sr4', 'phase'] as const) {
  const op = createOperator(task, { seed: 0 }, e, shape);
  const y = op.forward(x);
  await timeIt(`${task} forward`, () => op.forward(x));
  await timeIt(`${task} ${op.linear ? 'adjoint' : 'vjp'}`, () => op.vjp(x, y));
  if (op.pinv) await timeIt(`${task} pinv`, () => op.pinv!(y));
  e.release(y);
}
e.destroy();
