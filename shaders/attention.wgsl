// guided-diffusion QKVAttentionLegacy for K stacked forward-mode components (1 plain, 2 dual,
// 4 hyper-dual). qkv is [K*N, 3*H*ch, T]; head h of image n (bh = n*H + h) owns the channel block
// [bh*3ch, (bh+1)*3ch) = (q | k | v), each [ch, T]. For every query t:
//   L[t,s] = (1/sqrt(ch)) sum_c q[c,t] k[c,s],  w = softmax_s(L),  a[c,t] = sum_s w[t,s] v[c,s]
// evaluated in hyper-dual arithmetic (exact product/chain rules; docs/autodiff.md). The softmax shift
// m = max_s L_p[t,s] is a plain number: softmax is shift invariant, so it needs no tangent.
//
// One workgroup per (block of BQ query rows, bh). Workgroup memory holds the BQ x T logits (all K
// components, rows padded to TS = T + 1 floats against bank conflicts):
//   phase 1  lanes over (row, s): logits, k reads contiguous across lanes
//   phase 2  R = 256/BQ lanes per row: row max, exp, row sum Z (segmented tree reductions)
//   phase 3  lanes over (row, c): a = (sum_s e[t,s] v[c,s]) / Z
// No barrier sits inside a loop (lavapipe), only in the unrolled trees.

//#include hyperdual

const WG: u32 = 256u;
override BQ: u32 = 16u;           // query rows per workgroup (power of two, <= 256)
override TS: u32 = 17u;           // padded row stride of P (T + 1)
override PSIZE: u32 = 272u;       // K * BQ * TS
override R: u32 = WG / BQ;        // lanes per row in phase 2 (derived, not set)

//#interface

var<workgroup> P: array<f32, PSIZE>;
var<workgroup> red: array<vec4f, WG>;

fn ld_in(i: u32) -> vec4f {
  var v = vec4f(qkv[i], 0.0, 0.0, 0.0);
  if (K >= 2u) { v.y = qkv[p.inStride + i]; }
  if (K == 4u) { v.z = qkv[2u * p.inStride + i]; v.w = qkv[3u * p.inStride + i]; }
  return v;
}

fn ld_P(row: u32, s: u32) -> vec4f {
  let o = row * TS + s;
  var v = vec4f(P[o], 0.0, 0.0, 0.0);
  if (K >= 2u) { v.y = P[BQ * TS + o]; }
  if (K == 4u) { v.z = P[2u * BQ * TS + o]; v.w = P[3u * BQ * TS + o]; }
  return v;
}

fn st_P(row: u32, s: u32, v: vec4f) {
  let o = row * TS + s;
  P[o] = v.x;
  if (K >= 2u) { P[BQ * TS + o] = v.y; }
  if (K == 4u) { P[2u * BQ * TS + o] = v.z; P[3u * BQ * TS + o] = v.w; }
}

//#include segmented-reduce

@compute @workgroup_size(WG)
fn attention(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let l = lid.x;
  let T = p.T;
  let ch = p.ch;
  let bh = wid.y;
  let t0 = wid.x * BQ;
  let qb = bh * 3u * ch * T;
  let kb = qb + ch * T;
  let vb = kb + ch * T;

  // phase 1: logits
  for (var idx = l; idx < BQ * T; idx += WG) {
    let row = idx / T;
    let s = idx % T;
    let t = t0 + row;
    var z = vec4f(0.0);
    if (t < T) {
      for (var c = 0u; c < ch; c++) { z += hd_mul(ld_in(qb + c * T + t), ld_in(kb + c * T + s)); }
    }
    st_P(row, s, hd_scale(z, p.scale2));
  }
  workgroupBarrier();

  // phase 2: softmax numerators and row sums
  let row = l / R;
  let j = l % R;
  var m = -3.0e38;
  for (var s = j; s < T; s += R) { m = max(m, P[row * TS + s]); }
  red[l] = vec4f(m);
  workgroupBarrier();
  seg_max(l);
  let mrow = red[row * R].x;
  workgroupBarrier(); // the row max is read before red is reused
  var zs = vec4f(0.0);
  for (var s = j; s < T; s += R) {
    let e = hd_exp(ld_P(row, s) - vec4f(mrow, 0.0, 0.0, 0.0));
    st_P(row, s, e);
    zs += e;
  }
  red[l] = zs;
  workgroupBarrier();
  seg_sum(l);

  // phase 3: a[c,t] = (sum_s e[t,s] v[c,s]) / Z[t]
  for (var idx = l; idx < BQ * ch; idx += WG) {
    let r = idx % BQ;
    let c = idx / BQ;
    let t = t0 + r;
    if (t < T) {
      var acc = vec4f(0.0);
      for (var s = 0u; s < T; s++) { acc += hd_mul(ld_P(r, s), ld_in(vb + c * T + s)); }
      let y = hd_mul(acc, hd_inv(red[r * R]));
      let o = (bh * ch + c) * T + t;
      out[o] = y.x;
      if (K >= 2u) { out[p.outStride + o] = y.y; }
      if (K == 4u) { out[2u * p.outStride + o] = y.z; out[3u * p.outStride + o] = y.w; }
    }
  }
}
