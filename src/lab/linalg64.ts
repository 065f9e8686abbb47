// Dense float64 linear algebra for the validation lab's small-dimension references (GMM posteriors, W2
// between Gaussians, brute-force CMI gradients). Matrices are row-major Float64Array of n×n (or r×c where
// stated). Sizes here are tens to a few hundred, so plain O(n³) loops are the right tool.

export type Mat = Float64Array<ArrayBufferLike>;

export function identity(n: number): Mat {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/** C = A·B with A r×k, B k×c */
export function matMul(a: Mat, b: Mat, r: number, k: number, c: number): Mat {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let l = 0; l < k; l++) {
      const ail = a[i * k + l];
      if (ail === 0) continue;
      const bo = l * c,
        oo = i * c;
      for (let j = 0; j < c; j++) out[oo + j] += ail * b[bo + j];
    }
  }
  return out;
}

/** y = A·x with A r×c */
export function matVec(a: Mat, x: ArrayLike<number>, r: number, c: number): Float64Array {
  const y = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += a[i * c + j] * x[j];
    y[i] = s;
  }
  return y;
}

export function transpose(a: Mat, r: number, c: number): Mat {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function trace(a: Mat, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i];
  return s;
}

/** (A + Aᵀ)/2, to remove rounding asymmetry before an eigendecomposition */
export function symmetrize(a: Mat, n: number): Mat {
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
  return s;
}

/**
 * Symmetric eigendecomposition by cyclic Jacobi rotations: A = V diag(values) Vᵀ, eigenvectors in the
 * columns of V. Jacobi is slow (O(n³) per sweep) but accurate to a few ulps of ‖A‖ in every eigenvalue,
 * which is what W2 and matrix square roots of nearly singular covariances need.
 */
export function symEig(aIn: Mat, n: number, maxSweeps = 60): { values: Float64Array; vectors: Mat } {
  const a = symmetrize(aIn, n);
  const v = identity(n);
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += a[i] * a[i];
  const tiny = 1e-30 * Math.max(norm, 1e-300);
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= 1e-32 * norm || off < tiny) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p],
          aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1),
          s = t * c;
        // rotate rows/columns p and q
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p],
            akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k],
            aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p],
            vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** f(A) = V f(Λ) Vᵀ for symmetric A */
export function symFunc(a: Mat, n: number, f: (x: number) => number): Mat {
  const { values, vectors } = symEig(a, n);
  return fromEig(values.map(f), vectors, n);
}

export function fromEig(values: ArrayLike<number>, v: Mat, n: number): Mat {
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const lk = values[k];
    if (lk === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = v[i * n + k] * lk;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * v[j * n + k];
    }
  }
  return out;
}

/** Principal square root of a symmetric positive semi-definite matrix (negative rounding noise clipped to 0). */
export function sqrtmPsd(a: Mat, n: number): Mat {
  return symFunc(a, n, (x) => Math.sqrt(Math.max(x, 0)));
}

/** Lower Cholesky factor L (A = L Lᵀ); throws naming the pivot if A is not positive definite. */
export function cholesky(a: Mat, n: number): Mat {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`cholesky: matrix is not positive definite (pivot ${i} = ${s})`);
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  return l;
}

/** Solve (L Lᵀ) x = b for one right-hand side. */
export function cholSolve(l: Mat, n: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * y[k];
    y[i] = s / l[i * n + i];
  }
  return y;
}

/** A⁻¹ for symmetric positive definite A (by Cholesky). */
export function inverseSpd(a: Mat, n: number): Mat {
  const l = cholesky(a, n);
  const inv = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    const col = cholSolve(l, n, e);
    for (let i = 0; i < n; i++) inv[i * n + j] = col[i];
  }
  return symmetrize(inv, n);
}

export function logDetSpd(a: Mat, n: number): number {
  const l = cholesky(a, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += 2 * Math.log(l[i * n + i]);
  return s;
}

/**
 * Conjugate gradients for a symmetric positive definite operator, float64, optional preconditioner M⁻¹.
 * Stops at ‖r‖ ≤ tol·‖b‖; returns the iterate and the final relative residual.
 */
export function conjugateGradient(
  apply: (v: Float64Array) => Float64Array,
  b: Float64Array,
  opts: { tol?: number; maxIter?: number; precond?: (r: Float64Array) => Float64Array; x0?: Float64Array } = {},
): { x: Float64Array; relResidual: number; iterations: number } {
  const n = b.length;
  const tol = opts.tol ?? 1e-10;
  const maxIter = opts.maxIter ?? 10 * n;
  const x = opts.x0 ? Float64Array.from(opts.x0) : new Float64Array(n);
  const r = Float64Array.from(b);
  if (opts.x0) {
    const ax = apply(x);
    for (let i = 0; i < n; i++) r[i] -= ax[i];
  }
  const bn = Math.sqrt(dot(b, b)) || 1;
  let z = opts.precond ? opts.precond(r) : Float64Array.from(r);
  const p = Float64Array.from(z);
  let rz = dot(r, z);
  let it = 0;
  let rn = Math.sqrt(dot(r, r));
  for (; it < maxIter && rn > tol * bn; it++) {
    const ap = apply(p);
    const pap = dot(p, ap);
    if (!(pap > 0)) throw new Error(`conjugateGradient: operator is not positive definite (pᵀAp = ${pap})`);
    const alpha = rz / pap;
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * ap[i];
    }
    rn = Math.sqrt(dot(r, r));
    z = opts.precond ? opts.precond(r) : r;
    const rzNew = dot(r, z);
    const beta = rzNew / rz;
    rz = rzNew;
    for (let i = 0; i < n; i++) p[i] = z[i] + beta * p[i];
  }
  return { x, relResidual: rn / bn, iterations: it };
}
