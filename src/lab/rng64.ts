// Seeded float64 random numbers for the lab's host-side sampling (prior draws, exact posterior samples,
// random projections of sliced W2). SplitMix64-style mixing in 32-bit halves; Box–Muller normals.
export class Rng64 {
  private s: number;
  private spare: number | null = null;

  constructor(seed = 1) {
    this.s = (seed >>> 0) ^ 0x9e3779b9;
  }

  /** uniform in [0, 1) with 53 random bits */
  uniform(): number {
    const hi = this.next32() >>> 5,
      lo = this.next32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  normals(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  private next32(): number {
    this.s = (this.s + 0x9e3779b9) | 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}
