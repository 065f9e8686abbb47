// Float64 references for the nonlinear UNet layers (GroupNorm(+scale-shift, +SiLU), SiLU, QKV attention):
// forward in hyper-dual arithmetic (K = 1 plain, 2 dual, 4 hyper-dual), VJPs, and finite-difference tools
// to check both. Tensors are flat arrays in the engine's layout: K component blocks of the same shape
// concatenated (component k of image n at batch index k*N + n).
//
// The forward references evaluate the textbook formulas directly on hyper-dual numbers (mean, centred
// variance, rsqrt; max-shifted softmax), independently of the GPU kernels' co-moment/Chan formulation.

/** Hyper-dual number p + a e1 + b e2 + c e1e2 with e1² = e2² = 0. */
export type HD = [number, number, number, number];

export const hd = {
  of: (p: number, a = 0, b = 0, c = 0): HD => [p, a, b, c],
  add: (x: HD, y: HD): HD => [x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3]],
  sub: (x: HD, y: HD): HD => [x[0] - y[0], x[1] - y[1], x[2] - y[2], x[3] - y[3]],
  scale: (x: HD, s: number): HD => [x[0] * s, x[1] * s, x[2] * s, x[3] * s],
  mul: (x: HD, y: HD): HD => [
    x[0] * y[0],
    x[0] * y[1] + x[1] * y[0],
    x[0] * y[2] + x[2] * y[0],
    x[0] * y[3] + x[1] * y[2] + x[2] * y[1] + x[3] * y[0],
  ],
  /** f(x) from f(p), f'(p), f''(p) */
  apply: (x: HD, f0: number, f1: number, f2: number): HD => [f0, f1 * x[1], f1 * x[2], f1 * x[3] + f2 * x[1] * x[2]],
  exp: (x: HD): HD => {
    const e = Math.exp(x[0]);
    return hd.apply(x, e, e, e);
  },
  inv: (x: HD): HD => hd.apply(x, 1 / x[0], -1 / x[0] ** 2, 2 / x[0] ** 3),
  /** x^(-1/2) */
  rsqrt: (x: HD): HD => hd.apply(x, x[0] ** -0.5, -0.5 * x[0] ** -1.5, 0.75 * x[0] ** -2.5),
  silu: (x: HD): HD => {
    const p = x[0];
    const s = 1 / (1 + Math.exp(-p));
    return hd.apply(x, p * s, s * (1 + p * (1 - s)), s * (1 - s) * (2 + p * (1 - 2 * s)));
  },
};

/** Element i of a K-stacked array as a hyper-dual number (missing components are 0). */
function load(x: ArrayLike<number>, K: number, M: number, i: number): HD {
  const v: HD = [x[i], 0, 0, 0];
  for (let k = 1; k < K; k++) v[k] = x[k * M + i];
  return v;
}
function store(out: Float64Array, K: number, M: number, i: number, v: HD): void {
  for (let k = 0; k < K; k++) out[k * M + i] = v[k];
}

/** Concatenate component blocks [p, a, b, ab] into one stacked array. */
export function stack(...comps: ArrayLike<number>[]): Float64Array {
  const M = comps[0].length;
  const out = new Float64Array(M * comps.length);
  comps.forEach((c, k) => out.set(Array.from(c), k * M));
  return out;
}
/** Component k of a stacked array with K components. */
export function component(x: ArrayLike<number>, K: number, k: number): Float64Array {
  const M = x.length / K;
  return Float64Array.from({ length: M }, (_, i) => x[k * M + i]);
}

// ------------------------------------------------------------------------------------------ SiLU

export function siluRef(x: ArrayLike<number>, K = 1): Float64Array {
  const M = x.length / K;
  const out = new Float64Array(x.length);
  for (let i = 0; i < M; i++) store(out, K, M, i, hd.silu(load(x, K, M, i)));
  return out;
}

export function siluBackwardRef(x: ArrayLike<number>, gy: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => gy[i] * hd.silu([x[i], 1, 0, 0])[1]);
}

// ------------------------------------------------------------------------------------- GroupNorm

export interface GroupNormDims {
  /** images per component */
  N: number;
  C: number;
  /** spatial elements per channel */
  S: number;
}
export interface GroupNormRefOptions {
  groups?: number;
  eps?: number;
  silu?: boolean;
  /** [N, 2C]: scale | shift per image */
  scaleShift?: ArrayLike<number>;
}

/** Per-channel affine of the scale-shifted GN: z = xhat * A + B (B on the primal only). */
function affine(
  n: number,
  c: number,
  C: number,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  ss?: ArrayLike<number>,
) {
  let A = gamma[c];
  let B = beta[c];
  if (ss) {
    const sc = 1 + ss[n * 2 * C + c];
    A *= sc;
    B = B * sc + ss[n * 2 * C + C + c];
  }
  return { A, B };
}

export function groupNormRef(
  x: ArrayLike<number>,
  K: number,
  d: GroupNormDims,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  o: GroupNormRefOptions = {},
): Float64Array {
  const { N, C, S } = d;
  const G = o.groups ?? 32;
  const eps = o.eps ?? 1e-5;
  const M = N * C * S;
  const L = (C / G) * S;
  if (x.length !== K * M) throw new Error(`groupNormRef: ${x.length} values for K=${K} x [${N},${C},${S}]`);
  const out = new Float64Array(K * M);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const base = n * C * S + g * L;
      const xs = Array.from({ length: L }, (_, j) => load(x, K, M, base + j));
      let mu: HD = [0, 0, 0, 0];
      for (const v of xs) mu = hd.add(mu, v);
      mu = hd.scale(mu, 1 / L);
      let v2: HD = [0, 0, 0, 0];
      for (const v of xs) {
        const dv = hd.sub(v, mu);
        v2 = hd.add(v2, hd.mul(dv, dv));
      }
      const r = hd.rsqrt(hd.add(hd.scale(v2, 1 / L), [eps, 0, 0, 0]));
      xs.forEach((v, j) => {
        const c = g * (C / G) + Math.floor(j / S);
        const { A, B } = affine(n, c, C, gamma, beta, o.scaleShift);
        let z = hd.scale(hd.mul(hd.sub(v, mu), r), A);
        z[0] += B;
        if (o.silu) z = hd.silu(z);
        store(out, K, M, base + j, z);
      });
    }
  }
  return out;
}

/** VJP of groupNormRef (K = 1) with respect to x. */
export function groupNormBackwardRef(
  x: ArrayLike<number>,
  d: GroupNormDims,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  gy: ArrayLike<number>,
  o: GroupNormRefOptions = {},
): Float64Array {
  const { N, C, S } = d;
  const G = o.groups ?? 32;
  const eps = o.eps ?? 1e-5;
  const L = (C / G) * S;
  const gx = new Float64Array(N * C * S);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const base = n * C * S + g * L;
      let mu = 0;
      for (let j = 0; j < L; j++) mu += x[base + j];
      mu /= L;
      let v = 0;
      for (let j = 0; j < L; j++) v += (x[base + j] - mu) ** 2;
      const r = 1 / Math.sqrt(v / L + eps);
      const xhat = new Float64Array(L);
      const gh = new Float64Array(L);
      let m1 = 0,
        m2 = 0;
      for (let j = 0; j < L; j++) {
        const c = g * (C / G) + Math.floor(j / S);
        const { A, B } = affine(n, c, C, gamma, beta, o.scaleShift);
        xhat[j] = (x[base + j] - mu) * r;
        const dz = o.silu ? hd.silu([xhat[j] * A + B, 1, 0, 0])[1] : 1;
        gh[j] = gy[base + j] * dz * A;
        m1 += gh[j] / L;
        m2 += (gh[j] * xhat[j]) / L;
      }
      for (let j = 0; j < L; j++) gx[base + j] = r * (gh[j] - m1 - xhat[j] * m2);
    }
  }
  return gx;
}

// ------------------------------------------------------------------------------------- attention

export interface AttentionDims {
  /** images per component */
  N: number;
  heads: number;
  /** channels per head */
  ch: number;
  T: number;
}

/** QKVAttentionLegacy on a K-stacked qkv [K*N, 3*heads*ch, T] → [K*N, heads*ch, T]. */
export function attentionRef(qkv: ArrayLike<number>, K: number, d: AttentionDims): Float64Array {
  const { N, heads, ch, T } = d;
  const Min = N * 3 * heads * ch * T;
  const Mout = N * heads * ch * T;
  if (qkv.length !== K * Min)
    throw new Error(`attentionRef: ${qkv.length} values for K=${K} x [${N},${3 * heads * ch},${T}]`);
  const out = new Float64Array(K * Mout);
  const sc = 1 / Math.sqrt(ch);
  for (let bh = 0; bh < N * heads; bh++) {
    const q = (c: number, t: number) => load(qkv, K, Min, bh * 3 * ch * T + c * T + t);
    const k = (c: number, s: number) => load(qkv, K, Min, bh * 3 * ch * T + (ch + c) * T + s);
    const v = (c: number, s: number) => load(qkv, K, Min, bh * 3 * ch * T + (2 * ch + c) * T + s);
    for (let t = 0; t < T; t++) {
      const logits: HD[] = [];
      for (let s = 0; s < T; s++) {
        let z: HD = [0, 0, 0, 0];
        for (let c = 0; c < ch; c++) z = hd.add(z, hd.mul(q(c, t), k(c, s)));
        logits.push(hd.scale(z, sc));
      }
      const m = Math.max(...logits.map((z) => z[0]));
      const e = logits.map((z) => hd.exp(hd.sub(z, [m, 0, 0, 0])));
      const zinv = hd.inv(e.reduce((a, b) => hd.add(a, b), [0, 0, 0, 0] as HD));
      for (let c = 0; c < ch; c++) {
        let a: HD = [0, 0, 0, 0];
        for (let s = 0; s < T; s++) a = hd.add(a, hd.mul(hd.mul(e[s], zinv), v(c, s)));
        store(out, K, Mout, (bh * ch + c) * T + t, a);
      }
    }
  }
  return out;
}

/** VJP of attentionRef (K = 1): gqkv [N, 3*heads*ch, T]. */
export function attentionBackwardRef(qkv: ArrayLike<number>, d: AttentionDims, gy: ArrayLike<number>): Float64Array {
  const { N, heads, ch, T } = d;
  const gqkv = new Float64Array(N * 3 * heads * ch * T);
  const sc = 1 / Math.sqrt(ch);
  for (let bh = 0; bh < N * heads; bh++) {
    const qb = bh * 3 * ch * T,
      kb = qb + ch * T,
      vb = kb + ch * T,
      gb = bh * ch * T;
    for (let t = 0; t < T; t++) {
      const L = new Float64Array(T);
      for (let s = 0; s < T; s++) {
        for (let c = 0; c < ch; c++) L[s] += qkv[qb + c * T + t] * qkv[kb + c * T + s];
        L[s] *= sc;
      }
      const m = Math.max(...L);
      const w = L.map((z) => Math.exp(z - m));
      const Z = w.reduce((a, b) => a + b, 0);
      for (let s = 0; s < T; s++) w[s] /= Z;
      const gw = new Float64Array(T);
      let D = 0;
      for (let s = 0; s < T; s++) {
        for (let c = 0; c < ch; c++) gw[s] += gy[gb + c * T + t] * qkv[vb + c * T + s];
        D += w[s] * gw[s];
      }
      for (let s = 0; s < T; s++) {
        const gL = w[s] * (gw[s] - D);
        for (let c = 0; c < ch; c++) {
          gqkv[qb + c * T + t] += sc * gL * qkv[kb + c * T + s];
          gqkv[kb + c * T + s] += sc * gL * qkv[qb + c * T + t];
          gqkv[vb + c * T + s] += w[s] * gy[gb + c * T + t];
        }
      }
    }
  }
  return gqkv;
}

// ---------------------------------------------------------------------------- finite differences

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const axpy = (x: ArrayLike<number>, h: number, a: ArrayLike<number>) =>
  Float64Array.from({ length: x.length }, (_, i) => x[i] + h * a[i]);

/** Directional derivative Df(x)[a] by central differences (error O(h²) + rounding/h). */
export function fdJvp(
  f: (x: Float64Array) => Float64Array,
  x: ArrayLike<number>,
  a: ArrayLike<number>,
  h = 1e-5,
): Float64Array {
  const fp = f(axpy(x, h, a));
  const fm = f(axpy(x, -h, a));
  return fp.map((v, i) => (v - fm[i]) / (2 * h));
}

/** Mixed second derivative D²f(x)[a, b] by central differences, in b, of the exact JVP along a. */
export function fdMixed(
  jvp: (x: Float64Array, a: ArrayLike<number>) => Float64Array,
  x: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  h = 1e-4,
): Float64Array {
  const jp = jvp(axpy(x, h, b), a);
  const jm = jvp(axpy(x, -h, b), a);
  return jp.map((v, i) => (v - jm[i]) / (2 * h));
}

/** max |a - b| / max |b| (float64) */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den || 1);
}
