// Golden fixture, blur (FFT vs direct vs float64 reference), SR, inpainting, phase: forward values,
// adjoint identities and the phase VJP.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { parseSafetensors, tensorToFloat32 } from '../src/engine/safetensors.js';
import { BlurOperator } from '../src/operators/blur.js';
import { createOperator, TASKS } from '../src/operators/index.js';
import { gaussianKernel } from '../src/operators/kernels.js';
import { InpaintOperator, randomMask } from '../src/operators/masks.js';
import { PhaseRetrievalOperator } from '../src/operators/phase.js';
import { SuperResolutionOperator } from '../src/operators/sr.js';
import type { MeasurementOperator } from '../src/operators/operator.js';
import { getTestEngine, randomArray, readFixture, relMaxErr } from './helpers.js';
import { blurReference, dot, phaseReference, resizeReference } from './reference/operators.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

const positive = (n: number, seed: number) => randomArray(n, seed).map((v) => (v + 1) / 2 + 0.05);

function normalizedKernel(k: number, seed: number): Float64Array {
  const r = randomArray(k * k, seed).map((v) => Math.abs(v) + 0.01);
  const s = r.reduce((a, b) => a + b, 0);
  return Float64Array.from(r, (v) => v / s);
}

/**
 * ⟨A x, u⟩ = ⟨x, Aᵀ u⟩ with x, u > 0 (so neither side is a cancellation-prone small number). The sides
 * are f32 GPU results summed in float64: their mismatch is the f32 rounding of A and Aᵀ, ~1e-7 … 1e-6.
 */
async function adjointGap(
  op: MeasurementOperator,
  seed: number,
  adjoint = (u: import('../src/engine/index.js').Tensor) => op.adjoint!(u),
  forward = (x: import('../src/engine/index.js').Tensor) => op.forward(x),
) {
  const n = op.inputShape.reduce((a, b) => a * b),
    m = op.outputShape.reduce((a, b) => a * b);
  const x = positive(n, seed),
    u = positive(m, seed + 1);
  const ax = await e.read(forward(e.upload(x, op.inputShape)));
  const atu = await e.read(adjoint(e.upload(u, op.outputShape)));
  const l = dot(ax, u),
    r = dot(x, atu);
  return Math.abs(l - r) / Math.abs(l);
}

describe('golden fixture (DPS operators in PyTorch)', () => {
  it('Gaussian kernel, Gaussian / motion blur, SR ×4 and phase match to 1e-4 of max|ref|', async () => {
    const st = parseSafetensors(readFixture('operators-golden.safetensors'));
    const g = (k: string) => tensorToFloat32(st.tensors.get(k)!);
    const shape = [1, 3, 64, 64];
    const x = e.upload(g('x'), shape);
    expect(relMaxErr(Float32Array.from(gaussianKernel(61, 3.0)), g('gaussian.kernel'))).toBeLessThan(1e-6);
    const gauss = new BlurOperator(e, shape, gaussianKernel(61, 3.0), 61);
    const motion = new BlurOperator(e, shape, g('motion.kernel'), 61);
    const errs: Record<string, number> = {
      'gaussian fft': relMaxErr(await e.read(gauss.forwardFft(x)), g('gaussian.y')),
      'gaussian direct': relMaxErr(await e.read(gauss.forwardDirect(x)), g('gaussian.y')),
      'motion fft': relMaxErr(await e.read(motion.forwardFft(x)), g('motion.y')),
      'motion direct': relMaxErr(await e.read(motion.forwardDirect(x)), g('motion.y')),
      sr4: relMaxErr(await e.read(new SuperResolutionOperator(e, shape, 4).forward(x)), g('sr4.y')),
      phase: relMaxErr(await e.read(new PhaseRetrievalOperator(e, shape).forward(x)), g('phase.y')),
    };
    for (const [k, v] of Object.entries(errs)) expect(v, k).toBeLessThan(1e-4); // measured ≤ 1.5e-6
  });
});

describe('blur', () => {
  // FFT and direct are both f32; the direct sum of k² terms (sequential) drifts most: 3e-6 at k = 61.
  it('FFT blur = direct blur = float64 reference (1e-5 relative) for several image and kernel sizes', async () => {
    for (const [N, C, H, W, k, pow2] of [
      [1, 3, 16, 20, 5, false],
      [2, 1, 32, 32, 13, true],
      [1, 3, 40, 36, 31, false],
      [1, 3, 64, 64, 61, false],
    ] as const) {
      const kernel = normalizedKernel(k, k);
      const op = new BlurOperator(e, [N, C, H, W], kernel, k, { fftSize: pow2 ? 'pow2' : 'smooth' });
      for (const xs of [randomArray(N * C * H * W, H), positive(N * C * H * W, W)]) {
        const x = e.upload(xs, op.inputShape);
        const ref = blurReference(xs, N * C, H, W, op.kernel, k);
        const yf = await e.read(op.forwardFft(x)),
          yd = await e.read(op.forwardDirect(x));
        expect(relMaxErr(yf, ref), `fft ${H}x${W} k${k}`).toBeLessThan(1e-5);
        expect(relMaxErr(yd, ref), `direct ${H}x${W} k${k}`).toBeLessThan(1e-5);
        expect(relMaxErr(yf, yd), `fft vs direct ${H}x${W} k${k}`).toBeLessThan(1e-5);
      }
    }
  });

  it('adjoints (fold-back of the reflect padding) pass ⟨Ax, u⟩ = ⟨x, Aᵀu⟩ to 1e-5', async () => {
    for (const [H, W, k] of [
      [16, 20, 5],
      [24, 24, 15],
      [40, 36, 31],
    ]) {
      const op = new BlurOperator(e, [1, 3, H, W], normalizedKernel(k, 3 * k), k);
      expect(
        await adjointGap(
          op,
          k,
          (u) => op.adjointFft(u),
          (x) => op.forwardFft(x),
        ),
        `fft ${k}`,
      ).toBeLessThan(1e-5);
      expect(
        await adjointGap(
          op,
          k,
          (u) => op.adjointDirect(u),
          (x) => op.forwardDirect(x),
        ),
        `direct ${k}`,
      ).toBeLessThan(1e-5);
    }
  });

  it('rejects kernels whose padding reaches past the image, and wrong input shapes', () => {
    expect(() => new BlurOperator(e, [1, 3, 16, 16], new Float64Array(33 * 33), 33)).toThrow(/smaller than the image/);
    expect(() => new BlurOperator(e, [1, 3, 16, 16], new Float64Array(16), 4)).toThrow(/odd/);
    const op = new BlurOperator(e, [1, 3, 16, 16], normalizedKernel(5, 1), 5);
    expect(() => op.forward(e.tensor([1, 3, 16, 17]))).toThrow(/expected shape/);
  });
});

describe('super-resolution (DPS Resizer)', () => {
  it('equals the Resizer reference for square, rectangular and odd sizes; exact adjoint', async () => {
    for (const [H, W, s] of [
      [32, 32, 4],
      [20, 28, 4],
      [33, 17, 2],
    ]) {
      const op = new SuperResolutionOperator(e, [2, 3, H, W], s);
      const xs = randomArray(6 * H * W, H + W);
      const ref = resizeReference(xs, 6, H, W, 1 / s);
      expect(op.outputShape).toEqual([2, 3, ref.oh, ref.ow]);
      expect(relMaxErr(await e.read(op.forward(e.upload(xs, op.inputShape))), ref.y)).toBeLessThan(1e-6);
      expect(await adjointGap(op, H)).toBeLessThan(1e-5);
    }
  });

  it('pinv is exact: A A⁺ y = y', async () => {
    const op = new SuperResolutionOperator(e, [1, 3, 32, 24], 4);
    const y = e.upload(randomArray(3 * 8 * 6, 4), op.outputShape);
    const back = await e.read(op.forward(op.pinv(y)));
    expect(relMaxErr(back, await e.read(y))).toBeLessThan(1e-5);
  });
});

describe('inpainting', () => {
  it('multiplies every channel by the mask; Aᵀ = A⁺ = A', async () => {
    const { mask } = randomMask(12, 10, { p: 0.5, seed: 3 });
    const op = new InpaintOperator(e, [2, 3, 12, 10], mask);
    const xs = randomArray(2 * 3 * 120, 1);
    const y = await e.read(op.forward(e.upload(xs, op.inputShape)));
    for (let i = 0; i < xs.length; i++) expect(y[i]).toBe(xs[i] * mask[i % 120]);
    expect(await adjointGap(op, 2)).toBeLessThan(1e-6);
    expect(await e.read(op.pinv(e.upload(xs, op.inputShape)))).toEqual(y);
    expect(() => new InpaintOperator(e, [1, 1, 4, 4], new Float32Array(16).fill(0.5))).toThrow(/0 or 1/);
  });
});

describe('phase retrieval', () => {
  it('|fft2c| of the padded image matches the float64 DFT reference (sizes 2^a·3^b·5^c)', async () => {
    for (const [C, H, W, pad] of [
      [2, 6, 6, 3],
      [3, 8, 4, 4],
      [1, 10, 10, 5],
    ]) {
      const op = new PhaseRetrievalOperator(e, [1, C, H, W], { pad });
      const xs = randomArray(C * H * W, H * pad);
      const ref = phaseReference(xs, C, H, W, pad);
      expect(relMaxErr(await e.read(op.forward(e.upload(xs, op.inputShape))), ref), `${H}x${W}+${pad}`).toBeLessThan(
        1e-5,
      );
    }
    expect(() => new PhaseRetrievalOperator(e, [1, 1, 7, 7], { pad: 0 })).toThrow(/2\^a·3\^b·5\^c/);
    expect(new PhaseRetrievalOperator(e, [1, 3, 256, 256]).outputShape).toEqual([1, 3, 384, 384]);
  });

  it('VJP = central finite differences of the float64 reference', async () => {
    // 3 planes: one shared complex FFT and one with a zero imaginary part
    const [H, W, pad] = [6, 6, 3];
    const op = new PhaseRetrievalOperator(e, [1, 3, H, W], { pad });
    const n = 3 * H * W,
      m = 3 * 12 * 12;
    const xs = Float64Array.from(randomArray(n, 21)),
      us = randomArray(m, 22),
      vs = randomArray(n, 23);
    // d/dε ⟨u, |F P (x + εv)|⟩ by central differences in float64 (h = 1e-6: error O(h²) + 1e-10 rounding)
    const h = 1e-6;
    const f = (s: number) =>
      dot(
        us,
        phaseReference(
          xs.map((v, i) => v + s * vs[i]),
          3,
          H,
          W,
          pad,
        ),
      );
    const fd = (f(h) - f(-h)) / (2 * h);
    const g = await e.read(op.vjp(e.upload(Float32Array.from(xs), op.inputShape), e.upload(us, op.outputShape)));
    expect(Math.abs(dot(g, vs) - fd) / Math.abs(fd)).toBeLessThan(1e-5);
  });
});

describe('createOperator', () => {
  it('builds every task with its output shape and extras', async () => {
    const shape = [1, 3, 64, 64];
    const out: Record<string, number[]> = {
      'inpaint-box': [1, 3, 64, 64],
      'inpaint-random': [1, 3, 64, 64],
      sr4: [1, 3, 16, 16],
      'gaussian-blur': [1, 3, 64, 64],
      'motion-blur': [1, 3, 64, 64],
      phase: [1, 3, 192, 192],
    };
    for (const task of TASKS) {
      const op = createOperator(task, { seed: 1 }, e, shape);
      expect(op.task).toBe(task);
      expect([...op.outputShape]).toEqual(out[task]);
      const y = op.forward(e.upload(randomArray(3 * 64 * 64, 9), shape));
      expect(y.shape).toEqual(op.outputShape);
      if (task.startsWith('inpaint')) expect(op.extras.mask.shape).toEqual([1, 1, 64, 64]);
      if (task.endsWith('blur')) expect(op.extras.kernel.shape).toEqual([1, 1, 61, 61]);
      expect(op.linear).toBe(task !== 'phase');
      e.release(y);
      void op.svd; // builds the SVD view (if any), so destroy frees it too
      op.destroy();
    }
    await e.sync();
    expect(createOperator('inpaint-box', { seed: 1 }, e, shape).info).toMatchObject({ box: '32x32' });
    expect(() => createOperator('sr4', {}, e, [3, 64, 64])).toThrow(/\[N, C, H, W\]/);
  });
});
