// Singular value decompositions for DDRM: a float64 one-sided Jacobi SVD for the small 1-D factors, and
// GPU views (SvdView) of separable operators A = (A_h ⊗ A_w) per channel and of permutation-like ones.
//
// Spectral layout (DDRM's H_functions): a spatial spectral index k runs over (i, j) pairs; entry k·C + c
// of Vᵀx (channel-minor, as DDRM's `permute(0, 2, 1)`) is ⟨v_k, x_c⟩. The first `rank` entries pair with
// `singulars` (each value repeated C times, DDRM's repeat_interleave). Orders:
//   'sorted' (DDRM Deblurring): all s_h[i]·s_w[j] sorted descending (stable);
//   'block'  (DDRM SRConv):     the (i < m_h, j < m_w) block row-major first, then the rest row-major.
import type { Engine } from '../engine/executor.js';
import { defineKernels } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import type { SvdView } from './operator.js';
import { AxisMatrix } from './axis.js';
import { expectShape, runFlat, type Shape4 } from './util.js';

const AUX = { type: 'u32', wgsl: 'aux' } as const;
export const MASK = defineKernels('mask', {
  uniforms: {
    total: 'u32', // output elements
    per_out: 'u32', // output elements per image (gather) / mask length (apply_mask)
    per_in: 'u32', // input elements per image (gather)
  },
  entries: {
    gather: { bindings: { src: 'read', index: AUX, dst: 'read_write' } },
    // the mask's f32 values read as bits
    apply_mask: { uniforms: ['total', 'per_out'], bindings: { src: 'read', mask: AUX, dst: 'read_write' } },
  },
});

export interface Svd {
  m: number;
  n: number;
  /** m×m, row-major (columns are left singular vectors) */
  u: Float64Array;
  /** min(m, n), descending */
  s: Float64Array;
  /** n×n, row-major (columns are right singular vectors) */
  v: Float64Array;
}

/**
 * A = U diag(s) Vᵀ for a dense m×n row-major matrix, by one-sided (Hestenes) Jacobi rotations of the
 * columns in float64: V comes out as a full n×n orthogonal matrix (null space included), small singular
 * values keep their relative accuracy better than via AᵀA. U is re-orthogonalised (Gram–Schmidt) and
 * completed to m×m where singular values vanish.
 */
export function jacobiSvd(a: ArrayLike<number>, m: number, n: number, maxSweeps = 60): Svd {
  if (a.length !== m * n) throw new Error(`jacobiSvd: ${a.length} values for ${m}×${n}`);
  const cols: Float64Array[] = [],
    vcols: Float64Array[] = [];
  let fro = 0;
  for (let j = 0; j < n; j++) {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) fro += (c[i] = a[i * n + j]) ** 2;
    cols.push(c);
    const v = new Float64Array(n);
    v[j] = 1;
    vcols.push(v);
  }
  const tiny = (1e-300 + fro) * 1e-32;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      const gp = cols[p];
      for (let q = p + 1; q < n; q++) {
        const gq = cols[q];
        let al = 0,
          be = 0,
          ga = 0;
        for (let i = 0; i < m; i++) {
          al += gp[i] * gp[i];
          be += gq[i] * gq[i];
          ga += gp[i] * gq[i];
        }
        if (Math.abs(ga) <= 1e-15 * Math.sqrt(al * be) || al * be < tiny * tiny) continue;
        rotated = true;
        const zeta = (be - al) / (2 * ga);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t),
          s = c * t;
        for (let i = 0; i < m; i++) {
          const x = gp[i],
            y = gq[i];
          gp[i] = c * x - s * y;
          gq[i] = s * x + c * y;
        }
        const vp = vcols[p],
          vq = vcols[q];
        for (let i = 0; i < n; i++) {
          const x = vp[i],
            y = vq[i];
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = cols.map((c) => Math.sqrt(c.reduce((s, x) => s + x * x, 0)));
  const order = norms.map((_, j) => j).sort((x, y) => norms[y] - norms[x] || x - y);
  const r = Math.min(m, n);
  const s = new Float64Array(r);
  const v = new Float64Array(n * n);
  order.forEach((j, k) => {
    for (let i = 0; i < n; i++) v[i * n + k] = vcols[j][i];
    if (k < r) s[k] = norms[j];
  });
  // U: normalised columns for the leading singular values, Gram–Schmidt cleaned, completed to m×m.
  const ucols: Float64Array[] = [];
  const addOrth = (cand: Float64Array): boolean => {
    for (let pass = 0; pass < 2; pass++)
      for (const b of ucols) {
        let d = 0;
        for (let i = 0; i < m; i++) d += b[i] * cand[i];
        for (let i = 0; i < m; i++) cand[i] -= d * b[i];
      }
    const nn = Math.sqrt(cand.reduce((t, x) => t + x * x, 0));
    if (nn < 1e-6) return false;
    for (let i = 0; i < m; i++) cand[i] /= nn;
    ucols.push(cand);
    return true;
  };
  const slots: Array<Float64Array | null> = new Array(m).fill(null);
  for (let k = 0; k < r; k++) {
    const j = order[k];
    const cand = cols[j].map((x) => x / (norms[j] || 1));
    if (norms[j] > 0 && addOrth(cand)) slots[k] = cand;
  }
  let basis = 0;
  for (let k = 0; k < m; k++) {
    while (!slots[k] && basis < m) {
      const cand = new Float64Array(m);
      cand[basis++] = 1;
      if (addOrth(cand)) slots[k] = cand;
    }
  }
  const u = new Float64Array(m * m);
  slots.forEach((c, k) => {
    for (let i = 0; i < m; i++) u[i * m + k] = c![i];
  });
  return { m, n, u, s, v };
}

function transposeOf(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

const HOLE = 0xffffffff;

/** dst[n, q] = src[n, idx[q]] (0 where idx[q] is HOLE) on the GPU. */
export function gather(
  e: Engine,
  src: Tensor,
  idx: Tensor,
  rows: number,
  perIn: number,
  outShape: readonly number[],
): Tensor {
  const perOut = idx.size;
  const out = e.tensor(outShape, 'gather');
  if (out.size !== rows * perOut) throw new Error(`gather: output [${outShape}] is not ${rows}×${perOut}`);
  if (src.size !== rows * perIn) throw new Error(`gather: input [${src.shape}] is not ${rows}×${perIn}`);
  runFlat(
    e,
    MASK.gather,
    { src, index: idx, dst: out },
    { total: rows * perOut, per_out: perOut, per_in: perIn },
    rows * perOut,
    {
      bytes: 12 * rows * perOut,
    },
  );
  return out;
}

/** The inverse of a gather index over `perIn` slots (positions not gathered become holes). */
export function inverseIndex(idx: Uint32Array, perIn: number): Uint32Array {
  const inv = new Uint32Array(perIn).fill(HOLE);
  idx.forEach((src, q) => {
    if (src !== HOLE) inv[src] = q;
  });
  return inv;
}

/**
 * SVD view of y_c = A_h X_c A_wᵀ (every channel c of every image), from the 1-D SVDs of A_h (m_h×H) and
 * A_w (m_w×W). Singular values below `zeroBelow` are set to 0 (DDRM's ZERO), as DDRM does before forming
 * the products; `rank` still counts them (DDRM keeps them in the layout).
 */
export class SeparableSvd implements SvdView {
  readonly rank: number;
  readonly singulars: Tensor;
  /** the products s_h[i]·s_w[j] in layout order (length m_h·m_w, one per spatial index) */
  readonly spatialSingulars: Float64Array;
  private vIdx: Tensor;
  private vInv: Tensor;
  private uIdx: Tensor;
  private uInv: Tensor;
  private mats: Record<'vh' | 'vhT' | 'vw' | 'vwT' | 'uh' | 'uhT' | 'uw' | 'uwT', AxisMatrix>;
  private readonly n: number;
  private readonly c: number;

  constructor(
    private e: Engine,
    readonly shape: Shape4,
    readonly sh: Svd,
    readonly sw: Svd,
    order: 'sorted' | 'block',
    zeroBelow = 0,
  ) {
    const [, C, H, W] = shape;
    this.n = shape[0];
    this.c = C;
    if (sh.n !== H || sw.n !== W) throw new Error(`SeparableSvd: factors act on ${sh.n}×${sw.n}, image is ${H}×${W}`);
    const mh = sh.m,
      mw = sw.m;
    if (mh > H || mw > W) throw new Error('SeparableSvd: factors must be wide or square (m ≤ n)');
    const zh = sh.s.map((x) => (x < zeroBelow ? 0 : x)),
      zw = sw.s.map((x) => (x < zeroBelow ? 0 : x));
    // spatial spectral order: paired (i < mh, j < mw) first, then the rest row-major
    const paired: number[] = [];
    for (let i = 0; i < mh; i++) for (let j = 0; j < mw; j++) paired.push(i * W + j);
    const prod = (pos: number) => zh[Math.floor(pos / W)] * zw[pos % W];
    if (order === 'sorted') paired.sort((a, b) => prod(b) - prod(a) || a - b);
    const isPaired = new Uint8Array(H * W);
    for (const pos of paired) isPaired[pos] = 1;
    const spatial = [...paired];
    for (let pos = 0; pos < H * W; pos++) if (!isPaired[pos]) spatial.push(pos);
    this.spatialSingulars = Float64Array.from(paired, prod);
    this.rank = C * paired.length;
    const sing = new Float32Array(this.rank);
    paired.forEach((pos, k) => sing.fill(Math.fround(prod(pos)), k * C, (k + 1) * C));
    this.singulars = e.upload(sing, [this.rank], 'svd_singulars');
    // gather indices over one image: Vᵀx entry k·C + c ← Z[c, spatial[k]]; Uᵀy entry k·C + c ← Y'[c, i·mw + j]
    const vIdx = new Uint32Array(C * H * W),
      uIdx = new Uint32Array(this.rank);
    spatial.forEach((pos, k) => {
      for (let c = 0; c < C; c++) vIdx[k * C + c] = c * H * W + pos;
    });
    paired.forEach((pos, k) => {
      const i = Math.floor(pos / W),
        j = pos % W;
      for (let c = 0; c < C; c++) uIdx[k * C + c] = c * mh * mw + i * mw + j;
    });
    this.vIdx = e.upload(vIdx, [vIdx.length], 'svd_v_idx');
    this.vInv = e.upload(inverseIndex(vIdx, C * H * W), [C * H * W], 'svd_v_inv');
    this.uIdx = e.upload(uIdx, [uIdx.length], 'svd_u_idx');
    this.uInv = e.upload(inverseIndex(uIdx, C * mh * mw), [C * mh * mw], 'svd_u_inv');
    const M = (a: Float64Array, r: number, c: number, l: string) => new AxisMatrix(e, a, r, c, l);
    this.mats = {
      vh: M(sh.v, H, H, 'svd_vh'),
      vhT: M(transposeOf(sh.v, H, H), H, H, 'svd_vhT'),
      vw: M(sw.v, W, W, 'svd_vw'),
      vwT: M(transposeOf(sw.v, W, W), W, W, 'svd_vwT'),
      uh: M(sh.u, mh, mh, 'svd_uh'),
      uhT: M(transposeOf(sh.u, mh, mh), mh, mh, 'svd_uhT'),
      uw: M(sw.u, mw, mw, 'svd_uw'),
      uwT: M(transposeOf(sw.u, mw, mw), mw, mw, 'svd_uwT'),
    };
  }

  private get planes() {
    return this.n * this.c;
  }

  destroy(): void {
    this.e.release(this.singulars, this.vIdx, this.vInv, this.uIdx, this.uInv);
    for (const m of Object.values(this.mats)) m.release(this.e);
  }

  vt(x: Tensor): Tensor {
    const [N, C, H, W] = this.shape;
    expectShape(x, this.shape, 'svd.vt');
    const z = AxisMatrix.sandwich(this.e, this.mats.vhT, this.mats.vwT, x, this.planes);
    const out = gather(this.e, z, this.vIdx, N, C * H * W, [N, C * H * W]);
    this.e.release(z);
    return out;
  }

  v(z: Tensor): Tensor {
    const [N, C, H, W] = this.shape;
    expectShape(z, [N, C * H * W], 'svd.v');
    const t = gather(this.e, z, this.vInv, N, C * H * W, [N, C, H, W]);
    const x = AxisMatrix.sandwich(this.e, this.mats.vh, this.mats.vw, t, this.planes, this.shape);
    this.e.release(t);
    return x;
  }

  ut(y: Tensor): Tensor {
    const [N, C] = this.shape;
    const mh = this.sh.m,
      mw = this.sw.m;
    expectShape(y, [N, C, mh, mw], 'svd.ut');
    const t = AxisMatrix.sandwich(this.e, this.mats.uhT, this.mats.uwT, y, this.planes);
    const out = gather(this.e, t, this.uIdx, N, C * mh * mw, [N, this.rank]);
    this.e.release(t);
    return out;
  }

  u(z: Tensor): Tensor {
    const [N, C] = this.shape;
    const mh = this.sh.m,
      mw = this.sw.m;
    expectShape(z, [N, this.rank], 'svd.u');
    const t = gather(this.e, z, this.uInv, N, this.rank, [N, C, mh, mw]);
    const y = AxisMatrix.sandwich(this.e, this.mats.uh, this.mats.uw, t, this.planes, [N, C, mh, mw]);
    this.e.release(t);
    return y;
  }
}
