// Distances of the validation lab (float64): W2 between Gaussians (dense and circulant), moment
// estimators, sliced W2, energy distance, mode weights.
import { describe, expect, it } from 'vitest';
import { applyBlocks64, spectralBlocks, spectralDense, type CirculantSpectrum } from '../src/lab/circulant.js';
import {
  energyDistance,
  modeWeights,
  sampleMeanCirculant,
  sampleMeanCov,
  slicedW2,
  w2GaussianCirculant,
  w2GaussianDense,
  type CirculantBlocks,
} from '../src/lab/metrics.js';
import { Rng64 } from '../src/lab/rng64.js';
import { matMul, transpose } from '../src/lab/linalg64.js';

function randomSpd(D: number, rng: Rng64, ridge = 0.1): Float64Array {
  const G = rng.normals(D * D);
  const S = matMul(G, transpose(G, D, D), D, D, D).map((v) => v / D);
  for (let i = 0; i < D; i++) S[i * D + i] += ridge;
  return S;
}

function denseOfBlocks(b: CirculantBlocks): Float64Array {
  const D = b.channels * b.height * b.width;
  const M = new Float64Array(D * D);
  for (let j = 0; j < D; j++) {
    const e = new Float64Array(D);
    e[j] = 1;
    const col = applyBlocks64(b.blocks, e, b.channels, b.height, b.width);
    for (let i = 0; i < D; i++) M[i * D + j] = col[i];
  }
  return M;
}

describe('W2 between Gaussians', () => {
  it('dense: closed forms for commuting covariances, 1-D, and symmetry', () => {
    const rng = new Rng64(1);
    const D = 5;
    const a = Float64Array.from({ length: D }, () => 0.1 + rng.uniform());
    const b = Float64Array.from({ length: D }, () => 0.1 + rng.uniform());
    const A = new Float64Array(D * D),
      B = new Float64Array(D * D);
    a.forEach((v, i) => (A[i * D + i] = v));
    b.forEach((v, i) => (B[i * D + i] = v));
    const m1 = rng.normals(D),
      m2 = rng.normals(D);
    const ref = Math.sqrt(
      m1.reduce((s, v, i) => s + (v - m2[i]) ** 2, 0) +
        a.reduce((s, v, i) => s + (Math.sqrt(v) - Math.sqrt(b[i])) ** 2, 0),
    );
    expect(Math.abs(w2GaussianDense(m1, A, m2, B, D).w2 - ref)).toBeLessThan(1e-12);
    // random (non-commuting) covariances: symmetric, zero on itself, triangle inequality
    const S1 = randomSpd(6, rng),
      S2 = randomSpd(6, rng),
      S3 = randomSpd(6, rng);
    const z = new Float64Array(6);
    const d12 = w2GaussianDense(z, S1, z, S2, 6).w2,
      d21 = w2GaussianDense(z, S2, z, S1, 6).w2;
    expect(Math.abs(d12 - d21)).toBeLessThan(1e-10);
    expect(w2GaussianDense(z, S1, z, S1, 6).w2).toBeLessThan(1e-6);
    expect(d12).toBeLessThanOrEqual(w2GaussianDense(z, S1, z, S3, 6).w2 + w2GaussianDense(z, S3, z, S2, 6).w2 + 1e-12);
  });

  it('circulant per-frequency formula = dense formula (gray, and colour with full 3×3 blocks)', () => {
    const rng = new Rng64(2);
    for (const C of [1, 3]) {
      const H = 3,
        W = 4,
        D = C * H * W;
      // full-rank Hermitian blocks from the periodogram of random images
      const mk = () =>
        sampleMeanCirculant(
          Array.from({ length: 3 * C + 2 }, () => rng.normals(D)),
          C,
          H,
          W,
        ).blocks;
      const S1 = mk(),
        S2 = mk();
      const m1 = rng.normals(D),
        m2 = rng.normals(D);
      const circ = w2GaussianCirculant(m1, S1, m2, S2);
      const dense = w2GaussianDense(m1, denseOfBlocks(S1), m2, denseOfBlocks(S2), D);
      expect(Math.abs(circ.w2 - dense.w2) / dense.w2).toBeLessThan(1e-8);
    }
  });

  it('spectral blocks of a circulant spectrum = its dense covariance', () => {
    const rng = new Rng64(3);
    const H = 4,
      W = 4;
    const lambda = Float64Array.from({ length: H * W }, () => rng.uniform());
    // symmetrise λ(ξ) = λ(−ξ) so Σ is real
    for (let i = 0; i < H * W; i++) {
      const j = ((H - Math.floor(i / W)) % H) * W + ((W - (i % W)) % W);
      lambda[j] = lambda[i];
    }
    const spec: CirculantSpectrum = { channels: 1, height: H, width: W, lambda };
    const blocks = { channels: 1, height: H, width: W, blocks: spectralBlocks(spec, (s) => s) };
    const a = denseOfBlocks(blocks),
      b = spectralDense(spec);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-12);
  });
});

describe('estimators and sample-set distances', () => {
  it('sample mean/covariance and circulant projection are consistent (N = 20000)', () => {
    const rng = new Rng64(4);
    const H = 4,
      W = 4,
      D = H * W,
      N = 20000;
    // stationary samples: circular convolution of white noise with a small kernel
    const k = [0.6, 0.3, 0.1];
    const samples = Array.from({ length: N }, () => {
      const w = rng.normals(D);
      return Float64Array.from({ length: D }, (_, p) => {
        const y = Math.floor(p / W),
          x = p % W;
        return k[0] * w[p] + k[1] * w[y * W + ((x + 1) % W)] + k[2] * w[((y + 1) % H) * W + x] + 1;
      });
    });
    const dense = sampleMeanCov(samples);
    const circ = sampleMeanCirculant(samples, 1, H, W);
    // true pixel variance Σk² = 0.46; circulant projection keeps the trace exactly
    const trDense = dense.cov.reduce((s, v, i) => s + (i % (D + 1) === 0 ? v : 0), 0);
    const trCirc = circ.blocks.blocks.reduce((s, v, i) => s + (i % 2 === 0 ? v : 0), 0);
    expect(Math.abs(trDense - trCirc) / trDense).toBeLessThan(1e-10);
    expect(Math.abs(trDense / D - 0.46)).toBeLessThan(0.02);
    // and both estimate the same law: their W2 is at the sampling-noise level
    const w = w2GaussianDense(dense.mean, dense.cov, circ.mean, denseOfBlocks(circ.blocks), D);
    expect(w.w2).toBeLessThan(0.1);
  });

  it('sliced W2 and energy distance: zero on equal sets, shift-sized on shifted sets', () => {
    const rng = new Rng64(5);
    const D = 6;
    const X = Array.from({ length: 300 }, () => rng.normals(D));
    const d = Float64Array.from({ length: D }, () => 0.5);
    const Y = X.map((x) => x.map((v, i) => v + d[i]));
    expect(slicedW2(X, X, 64)).toBe(0);
    // the same set shifted: each projection's W2 is |θᵀd| exactly; E(θᵀd)² = |d|²/D
    const sw = slicedW2(X, Y, 512);
    expect(Math.abs(sw - 0.5) / 0.5).toBeLessThan(0.15);
    expect(Math.abs(energyDistance([[0], [0]], [[1], [1]]) - 2)).toBeLessThan(1e-12);
    const Z = Array.from({ length: 300 }, () => rng.normals(D));
    expect(Math.abs(energyDistance(X, Z))).toBeLessThan(0.05);
    expect(energyDistance(X, Y)).toBeGreaterThan(0.1);
    // unequal sizes: quantile coupling
    expect(slicedW2(X, X.slice(0, 150), 32)).toBeLessThan(0.2);
  });

  it('mode weights and TV to reference weights', () => {
    const samples = [[-1], [-2], [3], [4], [5]];
    const r = modeWeights(samples, (x) => (x[0] < 0 ? [1, 0] : [0, 1]), [0.5, 0.5]);
    expect(r.weights).toEqual([0.4, 0.6]);
    expect(Math.abs(r.tv! - 0.1)).toBeLessThan(1e-12);
  });
});
