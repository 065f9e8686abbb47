// Float64 reference math for conv2d / linear and their input gradients (plain loops, NCHW / OIHW).

export interface ConvRefOptions {
  stride?: number;
  pad?: number;
  biasBatches?: number;
  residual?: ArrayLike<number>;
}

const outSize = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

/** y [N, Cout, Ho, Wo] = conv(x [N, Cin, H, W], w [Cout, Cin, k, k]) + bias (n < biasBatches) + residual. */
export function conv2dRef(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  bias: ArrayLike<number> | null,
  o: ConvRefOptions = {},
): { y: Float64Array; shape: number[] } {
  const [n, cin, h, wd] = xShape;
  const [cout, , k] = wShape;
  const s = o.stride ?? 1,
    p = o.pad ?? (k - 1) / 2;
  const ho = outSize(h, k, s, p),
    wo = outSize(wd, k, s, p);
  const bb = o.biasBatches ?? n;
  const y = new Float64Array(n * cout * ho * wo);
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          let acc = bias && b < bb ? bias[co] : 0;
          for (let ci = 0; ci < cin; ci++)
            for (let ky = 0; ky < k; ky++) {
              const iy = oy * s + ky - p;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox * s + kx - p;
                if (ix < 0 || ix >= wd) continue;
                acc += w[((co * cin + ci) * k + ky) * k + kx] * x[((b * cin + ci) * h + iy) * wd + ix];
              }
            }
          const i = ((b * cout + co) * ho + oy) * wo + ox;
          y[i] = acc + (o.residual ? o.residual[i] : 0);
        }
  return { y, shape: [n, cout, ho, wo] };
}

/** gx [N, Cin, H, W] = convᵀ(gy): scatters every gy element back through the kernel (+ residual). */
export function conv2dBackwardInputRef(
  gy: ArrayLike<number>,
  w: ArrayLike<number>,
  wShape: readonly number[],
  inputShape: readonly number[],
  o: { stride?: number; pad?: number; residual?: ArrayLike<number> } = {},
): Float64Array {
  const [n, cin, h, wd] = inputShape;
  const [cout, , k] = wShape;
  const s = o.stride ?? 1,
    p = o.pad ?? (k - 1) / 2;
  const ho = outSize(h, k, s, p),
    wo = outSize(wd, k, s, p);
  const gx = new Float64Array(n * cin * h * wd);
  if (o.residual) for (let i = 0; i < gx.length; i++) gx[i] = o.residual[i];
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          const g = gy[((b * cout + co) * ho + oy) * wo + ox];
          for (let ci = 0; ci < cin; ci++)
            for (let ky = 0; ky < k; ky++) {
              const iy = oy * s + ky - p;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox * s + kx - p;
                if (ix < 0 || ix >= wd) continue;
                gx[((b * cin + ci) * h + iy) * wd + ix] += w[((co * cin + ci) * k + ky) * k + kx] * g;
              }
            }
        }
  return gx;
}

const silu = (v: number) => v / (1 + Math.exp(-v));

/** y [N, Cout] = act(x) wᵀ + bias (rows n < biasBatches). */
export function linearRef(
  x: ArrayLike<number>,
  n: number,
  w: ArrayLike<number>,
  cout: number,
  cin: number,
  bias: ArrayLike<number> | null,
  o: { biasBatches?: number; siluInput?: boolean } = {},
): Float64Array {
  const bb = o.biasBatches ?? n;
  const y = new Float64Array(n * cout);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < cout; c++) {
      let acc = bias && r < bb ? bias[c] : 0;
      for (let k = 0; k < cin; k++) {
        const v = x[r * cin + k];
        acc += (o.siluInput ? silu(v) : v) * w[c * cin + k];
      }
      y[r * cout + c] = acc;
    }
  return y;
}

/** gx [N, Cin] = gy [N, Cout] w [Cout, Cin]. */
export function linearBackwardInputRef(
  gy: ArrayLike<number>,
  n: number,
  w: ArrayLike<number>,
  cout: number,
  cin: number,
): Float64Array {
  const gx = new Float64Array(n * cin);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < cout; c++) {
      const g = gy[r * cout + c];
      for (let k = 0; k < cin; k++) gx[r * cin + k] += g * w[c * cin + k];
    }
  return gx;
}

export function dot64(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
