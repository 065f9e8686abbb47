// guided-diffusion's timestep_embedding: [cos(t·f_j), sin(t·f_j)] with f_j = exp(−ln(10000)·j/half).
// Computed on the host in float64: it is constant in x (N×dim numbers), and float32 arguments t·f_j near
// t = 1000 would already carry ~6e-5 rad of rounding — more than the 1e-4 relative parity budget.
export function timestepEmbedding(t: readonly number[], dim: number, maxPeriod = 10000): Float32Array {
  const half = Math.floor(dim / 2);
  const out = new Float32Array(t.length * dim);
  t.forEach((tn, n) => {
    for (let j = 0; j < half; j++) {
      const arg = tn * Math.exp((-Math.log(maxPeriod) * j) / half);
      out[n * dim + j] = Math.cos(arg);
      out[n * dim + half + j] = Math.sin(arg);
    }
  });
  return out;
}
