// guided-diffusion QKVAttentionLegacy tuned for CPU SIMD adapters (lavapipe): the forward for K stacked
// forward-mode components (1 plain, 2 dual, 4 hyper-dual) and the K = 1 VJP. The portable kernels are
// attention.wgsl / attention-backward.wgsl; the math is the same (docs/autodiff.md):
//   L[t,s] = sc sum_c q[c,t] k[c,s] (sc = 1/sqrt(ch)),  w = softmax_s(L),  a[c,t] = sum_s w[t,s] v[c,s]
// Layout: qkv [K*N, 3*H*ch, T], head bh = n*H + h owns channels [bh*3ch, (bh+1)*3ch) = (q | k | v).
// Requirements (checked by the caller): subgroups of >= 8 lanes, ch <= MAXCH, T % 4 == 0.
//
// Why it looks like this: on lavapipe a storage-buffer load is a per-lane loop with a bounds check
// (measured ~38 cycles per 8-lane scalar load, ~95 per 8-lane vec4 load), workgroup memory is no
// cheaper, private arrays indexed by a loop counter cost ~20 cycles per access unless the loop is
// unrolled, while a subgroup shuffle is ~1 instruction. So every key/value element is loaded by
// exactly one lane of a workgroup and shared by shuffles (constant lane indices: one vpermps each).
// A workgroup is one 8-lane subgroup; lane l owns query row t0 + l, and t0 + 8 + l when R2 (two rows
// share every shuffled key); its q[., t] and accumulators stay in registers. The keys stream in
// blocks of 32: lane j loads keys 4j..4j+3 of the block as a vec4, the others read them by shuffle.
// The softmax is the streaming one: per block the row max m grows to m', the running sum and the
// accumulator are rescaled by exp(m - m') (a plain number: softmax is shift invariant, so the shift
// needs no tangent), and e = exp(L - m') is accumulated. No workgroup memory, no barriers.
// Measured (bench/nonlinear.bench.ts, lavapipe on 2 cores, adm-tiny T = 256, 4 heads x 16 ch, K = 1):
// 60 ms -> ~1.5 ms. Alternatives: one lane per row reading k/v itself (uniform addresses are no
// cheaper on lavapipe) 4-6x slower; 8-key blocks of scalar loads 1.4x slower; R2 15-40 % faster for
// K <= 2 and the VJP, 10-15 % slower for K = 4 (the doubled registers spill).
//
// VJP (K = 1), FlashAttention-2 style, recomputing the logits instead of storing T x T matrices:
//   gw[t,s] = sum_c ga[c,t] v[c,s],  D[t] = sum_s w gw = sum_c ga[c,t] a[c,t],  gL = w (gw - D)
//   gq[c,t] = sc sum_s gL[t,s] k[c,s],  gk[c,s] = sc sum_t gL[t,s] q[c,t],  gv[c,s] = sum_t w[t,s] ga[c,t]
// attnb_stats (lanes = query rows): the forward, then per row m, 1/Z and D -> st [N*H, 3, T].
// attnb_q (lanes = query rows): gq.  attnb_kv (lanes = keys, query rows stream in blocks of 32): gk, gv.
enable subgroups;

//#include hyperdual

override CH: u32 = 16u;      // channels per head, <= MAXCH
override R2: bool = false;   // two query rows (keys in attnb_kv) per lane
const MAXCH: u32 = 64u;

// Interface (uniforms, bindings per entry) in src/engine/ops/attention.ts.
//#interface

alias A8 = array<vec4f, 8>;
alias AC = array<vec4f, MAXCH>;

fn ld_in(i: u32) -> vec4f {
  var v = vec4f(qkv[i], 0.0, 0.0, 0.0);
  if (K >= 2u) { v.y = qkv[p.inStride + i]; }
  if (K == 4u) { v.z = qkv[2u * p.inStride + i]; v.w = qkv[3u * p.inStride + i]; }
  return v;
}

// Elements i .. i+3 of qkv (i % 4 == 0): column k of the result is component k of the 4 elements.
fn ld4(i: u32) -> mat4x4f {
  let i4 = i / 4u;
  let cs4 = p.inStride / 4u;
  var m = mat4x4f(qkv4[i4], vec4f(0.0), vec4f(0.0), vec4f(0.0));
  if (K >= 2u) { m[1] = qkv4[cs4 + i4]; }
  if (K == 4u) { m[2] = qkv4[2u * cs4 + i4]; m[3] = qkv4[3u * cs4 + i4]; }
  return m;
}

// element i of the 4 loaded by lane j, as a hyper-dual number
fn sh(m: mat4x4f, i: u32, j: u32) -> vec4f {
  var r = vec4f(subgroupShuffle(m[0][i], j), 0.0, 0.0, 0.0);
  if (K >= 2u) { r.y = subgroupShuffle(m[1][i], j); }
  if (K == 4u) { r.z = subgroupShuffle(m[2][i], j); r.w = subgroupShuffle(m[3][i], j); }
  return r;
}

// Scale the logits of keys s + 4j and mask keys >= T (primal -> -3e38: exp gives exactly 0 in every
// component); returns max(m, the block's primal max).
fn prep8(L: ptr<function, A8>, s: u32, T: u32, m: f32) -> f32 {
  var mx = m;
  for (var j = 0u; j < 8u; j++) {
    var v = hd_scale((*L)[j], p.scale2);
    if (s + 4u * j >= T) { v.x = -3.0e38; }
    (*L)[j] = v;
    mx = max(mx, v.x);
  }
  return mx;
}

// L[j] <- exp(L[j] - m); returns their sum
fn exp8(L: ptr<function, A8>, m: f32) -> vec4f {
  var z = vec4f(0.0);
  for (var j = 0u; j < 8u; j++) {
    let e = hd_exp((*L)[j] - vec4f(m, 0.0, 0.0, 0.0));
    (*L)[j] = e;
    z += e;
  }
  return z;
}

struct RowSoftmax {
  ma: f32,      // row a: max_s of the primal logits
  za: vec4f,    //        sum_s exp(L - m)
  mb: f32,      // row b (R2)
  zb: vec4f,
}

// La[j] += qa * (element i of lane j), and Lb with qb when R2
fn fma8x2(La: ptr<function, A8>, Lb: ptr<function, A8>, qa: vec4f, qb: vec4f, k: mat4x4f, i: u32) {
  for (var j = 0u; j < 8u; j++) {
    let kj = sh(k, i, j);
    (*La)[j] += hd_mul(qa, kj);
    if (R2) { (*Lb)[j] += hd_mul(qb, kj); }
  }
}

// ya += sum_j ea[j] * (element i of lane j), and yb with eb when R2. The 8 products are summed before
// they join the accumulator (blockwise summation: the T-term sums lose less to rounding).
fn dot8x2(ya: ptr<function, vec4f>, yb: ptr<function, vec4f>, ea: ptr<function, A8>, eb: ptr<function, A8>, v: mat4x4f, i: u32) {
  var sa = vec4f(0.0);
  var sb = vec4f(0.0);
  for (var j = 0u; j < 8u; j++) {
    let vj = sh(v, i, j);
    sa += hd_mul((*ea)[j], vj);
    if (R2) { sb += hd_mul((*eb)[j], vj); }
  }
  *ya += sa;
  if (R2) { *yb += sb; }
}

// Streaming softmax-weighted sums over all keys for this lane's query row a (and row b when R2):
// q in registers, *acc = sum_s exp(L - m) v[., s].
fn attend(qa: ptr<function, AC>, qb: ptr<function, AC>, acca: ptr<function, AC>, accb: ptr<function, AC>,
          kb: u32, vb: u32, T: u32, lane: u32) -> RowSoftmax {
  for (var c = 0u; c < CH; c++) {
    (*acca)[c] = vec4f(0.0);
    if (R2) { (*accb)[c] = vec4f(0.0); }
  }
  var r = RowSoftmax(-3.0e38, vec4f(0.0), -3.0e38, vec4f(0.0));
  for (var s0 = 0u; s0 < T; s0 += 32u) {
    let s4 = min(s0 + 4u * lane, T - 4u);   // this lane's 4 keys (clamped: keys past T are masked)
    // logits of keys s0 + 4j + i in Li[j] (row a) and Mi[j] (row b)
    var L0: A8; var L1: A8; var L2: A8; var L3: A8;
    var M0: A8; var M1: A8; var M2: A8; var M3: A8;
    for (var j = 0u; j < 8u; j++) {
      L0[j] = vec4f(0.0); L1[j] = vec4f(0.0); L2[j] = vec4f(0.0); L3[j] = vec4f(0.0);
      if (R2) { M0[j] = vec4f(0.0); M1[j] = vec4f(0.0); M2[j] = vec4f(0.0); M3[j] = vec4f(0.0); }
    }
    for (var c = 0u; c < CH; c++) {
      let k4 = ld4(kb + c * T + s4);
      let qa_c = (*qa)[c];
      var qb_c = vec4f(0.0);
      if (R2) { qb_c = (*qb)[c]; }
      fma8x2(&L0, &M0, qa_c, qb_c, k4, 0u); fma8x2(&L1, &M1, qa_c, qb_c, k4, 1u);
      fma8x2(&L2, &M2, qa_c, qb_c, k4, 2u); fma8x2(&L3, &M3, qa_c, qb_c, k4, 3u);
    }
    let mxa = max(max(prep8(&L0, s0, T, r.ma), prep8(&L1, s0 + 1u, T, r.ma)), max(prep8(&L2, s0 + 2u, T, r.ma), prep8(&L3, s0 + 3u, T, r.ma)));
    let alpha_a = exp(r.ma - mxa);  // 0 on the first block (m = -3e38)
    r.ma = mxa;
    r.za = hd_scale(r.za, alpha_a) + exp8(&L0, mxa) + exp8(&L1, mxa) + exp8(&L2, mxa) + exp8(&L3, mxa);
    var alpha_b = 0.0;
    if (R2) {
      let mxb = max(max(prep8(&M0, s0, T, r.mb), prep8(&M1, s0 + 1u, T, r.mb)), max(prep8(&M2, s0 + 2u, T, r.mb), prep8(&M3, s0 + 3u, T, r.mb)));
      alpha_b = exp(r.mb - mxb);
      r.mb = mxb;
      r.zb = hd_scale(r.zb, alpha_b) + exp8(&M0, mxb) + exp8(&M1, mxb) + exp8(&M2, mxb) + exp8(&M3, mxb);
    }
    for (var c = 0u; c < CH; c++) {
      let v4 = ld4(vb + c * T + s4);
      var ya = hd_scale((*acca)[c], alpha_a);
      var yb = vec4f(0.0);
      if (R2) { yb = hd_scale((*accb)[c], alpha_b); }
      dot8x2(&ya, &yb, &L0, &M0, v4, 0u); dot8x2(&ya, &yb, &L1, &M1, v4, 1u);
      dot8x2(&ya, &yb, &L2, &M2, v4, 2u); dot8x2(&ya, &yb, &L3, &M3, v4, 3u);
      (*acca)[c] = ya;
      if (R2) { (*accb)[c] = yb; }
    }
  }
  return r;
}

fn store_out(acc: ptr<function, AC>, z: vec4f, bh: u32, t: u32, T: u32) {
  let zi = hd_inv(z);
  for (var c = 0u; c < CH; c++) {
    let y = hd_mul((*acc)[c], zi);
    let o = (bh * CH + c) * T + t;
    out[o] = y.x;
    if (K >= 2u) { out[p.outStride + o] = y.y; }
    if (K == 4u) { out[2u * p.outStride + o] = y.z; out[3u * p.outStride + o] = y.w; }
  }
}

// grid [ceil(T / (R2 ? 16 : 8)), N*H], workgroup = one 8-lane subgroup: lane l owns query row
// t0 + l (and t0 + 8 + l when R2)
@compute @workgroup_size(8)
fn attention(@builtin(subgroup_invocation_id) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let T = p.T;
  let rows = select(8u, 16u, R2);
  let ta = wid.x * rows + lane;
  let tb = ta + 8u;
  let qb = wid.y * 3u * CH * T;
  var qa: AC; var qbr: AC;
  var acca: AC; var accb: AC;
  for (var c = 0u; c < CH; c++) {
    // rows past T compute a copy of row T-1 and store nothing
    qa[c] = ld_in(qb + c * T + min(ta, T - 1u));
    if (R2) { qbr[c] = ld_in(qb + c * T + min(tb, T - 1u)); }
  }
  let r = attend(&qa, &qbr, &acca, &accb, qb + CH * T, qb + 2u * CH * T, T, lane);
  if (ta < T) { store_out(&acca, r.za, wid.y, ta, T); }
  if (R2 && tb < T) { store_out(&accb, r.zb, wid.y, tb, T); }
}

// ------------------------------------------------------------------------------ VJP (K = 1)
// Each lane owns one query row (attnb_stats, attnb_q) or key (attnb_kv), two when R2 (rows/keys
// t0 + l and t0 + 8 + l); grid [ceil(T / (R2 ? 16 : 8)), N*H].

fn store_stats(r_m: f32, z: f32, acc: ptr<function, AC>, bh: u32, t: u32, T: u32) {
  let zi = 1.0 / z;
  var d = 0.0;
  for (var c = 0u; c < CH; c++) { d += gy[(bh * CH + c) * T + t] * (*acc)[c].x; }
  let o = bh * 3u * T + t;
  st_out[o] = r_m;
  st_out[o + T] = zi;
  st_out[o + 2u * T] = d * zi;
}

// per query row m, 1/Z and D = sum_c ga[c,t] a[c,t]
@compute @workgroup_size(8)
fn attnb_stats(@builtin(subgroup_invocation_id) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let T = p.T;
  let ta = wid.x * select(8u, 16u, R2) + lane;
  let tb = ta + 8u;
  let qb = wid.y * 3u * CH * T;
  var qa: AC; var qbr: AC;
  var acca: AC; var accb: AC;
  for (var c = 0u; c < CH; c++) {
    qa[c] = ld_in(qb + c * T + min(ta, T - 1u));
    if (R2) { qbr[c] = ld_in(qb + c * T + min(tb, T - 1u)); }
  }
  let r = attend(&qa, &qbr, &acca, &accb, qb + CH * T, qb + 2u * CH * T, T, lane);
  if (ta < T) { store_stats(r.ma, r.za.x, &acca, wid.y, ta, T); }
  if (R2 && tb < T) { store_stats(r.mb, r.zb.x, &accb, wid.y, tb, T); }
}

// Logits and gw of row a (and b): L += qa k, G += ga v for the 32 keys of a block (K = 1: .x only)
fn lg8x2(La: ptr<function, A8>, Ga: ptr<function, A8>, Lb: ptr<function, A8>, Gb: ptr<function, A8>,
         qa: f32, ga: f32, qb: f32, gb: f32, k: mat4x4f, v: mat4x4f, i: u32) {
  for (var j = 0u; j < 8u; j++) {
    let kj = subgroupShuffle(k[0][i], j);
    let vj = subgroupShuffle(v[0][i], j);
    (*La)[j].x += qa * kj;
    (*Ga)[j].x += ga * vj;
    if (R2) { (*Lb)[j].x += qb * kj; (*Gb)[j].x += gb * vj; }
  }
}

// w and gL = w (gw - D) of keys s + 4j in L (logits in, gL out) and G (gw in, w out); keys >= T get 0.
fn grad8(L: ptr<function, A8>, G: ptr<function, A8>, s: u32, T: u32, m: f32, zi: f32, d: f32) {
  for (var j = 0u; j < 8u; j++) {
    var w = exp((*L)[j].x * p.scale2 - m) * zi;
    if (s + 4u * j >= T) { w = 0.0; }
    (*L)[j].x = w * ((*G)[j].x - d);
    (*G)[j].x = w;
  }
}

// sum_j e[j] * (element i of lane j) for row a (and b), K = 1
fn dot8x2_1(ya: ptr<function, f32>, yb: ptr<function, f32>, ea: ptr<function, A8>, eb: ptr<function, A8>, v: mat4x4f, i: u32) {
  var sa = 0.0;
  var sb = 0.0;
  for (var j = 0u; j < 8u; j++) {
    let vj = subgroupShuffle(v[0][i], j);
    sa += (*ea)[j].x * vj;
    if (R2) { sb += (*eb)[j].x * vj; }
  }
  *ya += sa;
  if (R2) { *yb += sb; }
}

alias F8 = array<vec4f, 8>;

// gq[c,t] = sc sum_s gL[t,s] k[c,s] (lanes = query rows)
@compute @workgroup_size(8)
fn attnb_q(@builtin(subgroup_invocation_id) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let T = p.T;
  let ta = wid.x * select(8u, 16u, R2) + lane;
  let tb = ta + 8u;
  let tca = min(ta, T - 1u);
  let tcb = min(tb, T - 1u);
  let qb = wid.y * 3u * CH * T;
  let kb = qb + CH * T;
  let vb = kb + CH * T;
  let gb = wid.y * CH * T;
  // per channel (q, ga) of row a in .xy, of row b in .zw; gq of rows a, b in .xy
  var qg: AC;
  var gq: AC;
  for (var c = 0u; c < CH; c++) {
    qg[c] = vec4f(qkv[qb + c * T + tca], gy[gb + c * T + tca], 0.0, 0.0);
    if (R2) { qg[c].z = qkv[qb + c * T + tcb]; qg[c].w = gy[gb + c * T + tcb]; }
    gq[c] = vec4f(0.0);
  }
  let so = wid.y * 3u * T;
  let sa = vec3f(st[so + tca], st[so + T + tca], st[so + 2u * T + tca]);
  var sb = vec3f(0.0);
  if (R2) { sb = vec3f(st[so + tcb], st[so + T + tcb], st[so + 2u * T + tcb]); }
  for (var s0 = 0u; s0 < T; s0 += 32u) {
    let s4 = min(s0 + 4u * lane, T - 4u);
    var La0: F8; var La1: F8; var La2: F8; var La3: F8;   // row a: logits, then gL
    var Ga0: F8; var Ga1: F8; var Ga2: F8; var Ga3: F8;   // row a: gw, then w
    var Lb0: F8; var Lb1: F8; var Lb2: F8; var Lb3: F8;   // row b (R2)
    var Gb0: F8; var Gb1: F8; var Gb2: F8; var Gb3: F8;
    for (var j = 0u; j < 8u; j++) {
      La0[j] = vec4f(0.0); La1[j] = vec4f(0.0); La2[j] = vec4f(0.0); La3[j] = vec4f(0.0);
      Ga0[j] = vec4f(0.0); Ga1[j] = vec4f(0.0); Ga2[j] = vec4f(0.0); Ga3[j] = vec4f(0.0);
      if (R2) {
        Lb0[j] = vec4f(0.0); Lb1[j] = vec4f(0.0); Lb2[j] = vec4f(0.0); Lb3[j] = vec4f(0.0);
        Gb0[j] = vec4f(0.0); Gb1[j] = vec4f(0.0); Gb2[j] = vec4f(0.0); Gb3[j] = vec4f(0.0);
      }
    }
    for (var c = 0u; c < CH; c++) {
      let k4 = ld4(kb + c * T + s4);
      let v4 = ld4(vb + c * T + s4);
      let x = qg[c];
      lg8x2(&La0, &Ga0, &Lb0, &Gb0, x.x, x.y, x.z, x.w, k4, v4, 0u);
      lg8x2(&La1, &Ga1, &Lb1, &Gb1, x.x, x.y, x.z, x.w, k4, v4, 1u);
      lg8x2(&La2, &Ga2, &Lb2, &Gb2, x.x, x.y, x.z, x.w, k4, v4, 2u);
      lg8x2(&La3, &Ga3, &Lb3, &Gb3, x.x, x.y, x.z, x.w, k4, v4, 3u);
    }
    grad8(&La0, &Ga0, s0, T, sa.x, sa.y, sa.z); grad8(&La1, &Ga1, s0 + 1u, T, sa.x, sa.y, sa.z);
    grad8(&La2, &Ga2, s0 + 2u, T, sa.x, sa.y, sa.z); grad8(&La3, &Ga3, s0 + 3u, T, sa.x, sa.y, sa.z);
    if (R2) {
      grad8(&Lb0, &Gb0, s0, T, sb.x, sb.y, sb.z); grad8(&Lb1, &Gb1, s0 + 1u, T, sb.x, sb.y, sb.z);
      grad8(&Lb2, &Gb2, s0 + 2u, T, sb.x, sb.y, sb.z); grad8(&Lb3, &Gb3, s0 + 3u, T, sb.x, sb.y, sb.z);
    }
    for (var c = 0u; c < CH; c++) {
      let k4 = ld4(kb + c * T + s4);
      var ya = gq[c].x;
      var yb = gq[c].y;
      dot8x2_1(&ya, &yb, &La0, &Lb0, k4, 0u); dot8x2_1(&ya, &yb, &La1, &Lb1, k4, 1u);
      dot8x2_1(&ya, &yb, &La2, &Lb2, k4, 2u); dot8x2_1(&ya, &yb, &La3, &Lb3, k4, 3u);
      gq[c] = vec4f(ya, yb, 0.0, 0.0);
    }
  }
  for (var c = 0u; c < CH; c++) {
    if (ta < T) { gqkv[qb + c * T + ta] = gq[c].x * p.scale2; }
    if (R2 && tb < T) { gqkv[qb + c * T + tb] = gq[c].y * p.scale2; }
  }
}

fn ldg4(i: u32) -> mat4x4f { return mat4x4f(gy4[i / 4u], vec4f(0.0), vec4f(0.0), vec4f(0.0)); }
fn lds4(i: u32) -> mat4x4f { return mat4x4f(st4[i / 4u], vec4f(0.0), vec4f(0.0), vec4f(0.0)); }

// w and gL of query rows t + 4j for one key: L = logits in, gL out; G = gw in, w out; the statistics
// of row 4j + i come from lane j's vec4s (m4, zi4, d4).
fn gradT8(L: ptr<function, A8>, G: ptr<function, A8>, t: u32, T: u32, m4: mat4x4f, zi4: mat4x4f, d4: mat4x4f, i: u32) {
  for (var j = 0u; j < 8u; j++) {
    var w = exp((*L)[j].x * p.scale2 - subgroupShuffle(m4[0][i], j)) * subgroupShuffle(zi4[0][i], j);
    if (t + 4u * j >= T) { w = 0.0; }
    (*L)[j].x = w * ((*G)[j].x - subgroupShuffle(d4[0][i], j));
    (*G)[j].x = w;
  }
}

// gk[c,s] = sc sum_t gL[t,s] q[c,t], gv[c,s] = sum_t w[t,s] ga[c,t] (lanes = keys, 32 query rows per block)
@compute @workgroup_size(8)
fn attnb_kv(@builtin(subgroup_invocation_id) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let T = p.T;
  let sa = wid.x * select(8u, 16u, R2) + lane;
  let sb = sa + 8u;
  let sca = min(sa, T - 1u);
  let scb = min(sb, T - 1u);
  let qb = wid.y * 3u * CH * T;
  let kb = qb + CH * T;
  let vb = kb + CH * T;
  let gb = wid.y * CH * T;
  let so = wid.y * 3u * T;
  // per channel (k, v) of key a in .xy, of key b in .zw; (gk, gv) likewise
  var kv: AC;
  var gkv: AC;
  for (var c = 0u; c < CH; c++) {
    kv[c] = vec4f(qkv[kb + c * T + sca], qkv[vb + c * T + sca], 0.0, 0.0);
    if (R2) { kv[c].z = qkv[kb + c * T + scb]; kv[c].w = qkv[vb + c * T + scb]; }
    gkv[c] = vec4f(0.0);
  }
  for (var t0 = 0u; t0 < T; t0 += 32u) {
    let t4 = min(t0 + 4u * lane, T - 4u);   // this lane's 4 query rows (clamped; rows past T masked)
    var La0: F8; var La1: F8; var La2: F8; var La3: F8;   // key a: logits of rows t0 + 4j + i, then gL
    var Ga0: F8; var Ga1: F8; var Ga2: F8; var Ga3: F8;   // key a: gw, then w
    var Lb0: F8; var Lb1: F8; var Lb2: F8; var Lb3: F8;   // key b (R2)
    var Gb0: F8; var Gb1: F8; var Gb2: F8; var Gb3: F8;
    for (var j = 0u; j < 8u; j++) {
      La0[j] = vec4f(0.0); La1[j] = vec4f(0.0); La2[j] = vec4f(0.0); La3[j] = vec4f(0.0);
      Ga0[j] = vec4f(0.0); Ga1[j] = vec4f(0.0); Ga2[j] = vec4f(0.0); Ga3[j] = vec4f(0.0);
      if (R2) {
        Lb0[j] = vec4f(0.0); Lb1[j] = vec4f(0.0); Lb2[j] = vec4f(0.0); Lb3[j] = vec4f(0.0);
        Gb0[j] = vec4f(0.0); Gb1[j] = vec4f(0.0); Gb2[j] = vec4f(0.0); Gb3[j] = vec4f(0.0);
      }
    }
    for (var c = 0u; c < CH; c++) {
      let q4 = ld4(qb + c * T + t4);
      let g4 = ldg4(gb + c * T + t4);
      let x = kv[c];
      lg8x2(&La0, &Ga0, &Lb0, &Gb0, x.x, x.y, x.z, x.w, q4, g4, 0u);
      lg8x2(&La1, &Ga1, &Lb1, &Gb1, x.x, x.y, x.z, x.w, q4, g4, 1u);
      lg8x2(&La2, &Ga2, &Lb2, &Gb2, x.x, x.y, x.z, x.w, q4, g4, 2u);
      lg8x2(&La3, &Ga3, &Lb3, &Gb3, x.x, x.y, x.z, x.w, q4, g4, 3u);
    }
    let m4 = lds4(so + t4);
    let zi4 = lds4(so + T + t4);
    let d4 = lds4(so + 2u * T + t4);
    gradT8(&La0, &Ga0, t0, T, m4, zi4, d4, 0u); gradT8(&La1, &Ga1, t0 + 1u, T, m4, zi4, d4, 1u);
    gradT8(&La2, &Ga2, t0 + 2u, T, m4, zi4, d4, 2u); gradT8(&La3, &Ga3, t0 + 3u, T, m4, zi4, d4, 3u);
    if (R2) {
      gradT8(&Lb0, &Gb0, t0, T, m4, zi4, d4, 0u); gradT8(&Lb1, &Gb1, t0 + 1u, T, m4, zi4, d4, 1u);
      gradT8(&Lb2, &Gb2, t0 + 2u, T, m4, zi4, d4, 2u); gradT8(&Lb3, &Gb3, t0 + 3u, T, m4, zi4, d4, 3u);
    }
    for (var c = 0u; c < CH; c++) {
      let q4 = ld4(qb + c * T + t4);
      let g4 = ldg4(gb + c * T + t4);
      let y = gkv[c];
      var gka = y.x; var gva = y.y; var gkb = y.z; var gvb = y.w;
      dot8x2_1(&gka, &gkb, &La0, &Lb0, q4, 0u); dot8x2_1(&gka, &gkb, &La1, &Lb1, q4, 1u);
      dot8x2_1(&gka, &gkb, &La2, &Lb2, q4, 2u); dot8x2_1(&gka, &gkb, &La3, &Lb3, q4, 3u);
      dot8x2_1(&gva, &gvb, &Ga0, &Gb0, g4, 0u); dot8x2_1(&gva, &gvb, &Ga1, &Gb1, g4, 1u);
      dot8x2_1(&gva, &gvb, &Ga2, &Gb2, g4, 2u); dot8x2_1(&gva, &gvb, &Ga3, &Gb3, g4, 3u);
      gkv[c] = vec4f(gka, gva, gkb, gvb);
    }
  }
  for (var c = 0u; c < CH; c++) {
    if (sa < T) { gqkv[kb + c * T + sa] = gkv[c].x * p.scale2; gqkv[vb + c * T + sa] = gkv[c].y; }
    if (R2 && sb < T) { gqkv[kb + c * T + sb] = gkv[c].z * p.scale2; gqkv[vb + c * T + sb] = gkv[c].w; }
  }
}
