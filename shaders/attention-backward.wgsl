// VJP of guided-diffusion QKVAttentionLegacy (K = 1). Per head (layout as in attention.wgsl):
//   w = softmax_s(L), L = sc sum_c q[c,t] k[c,s] (sc = 1/sqrt(ch)), a[c,t] = sum_s w[t,s] v[c,s]
//   gw[t,s] = sum_c ga[c,t] v[c,s]
//   gL[t,s] = w[t,s] (gw[t,s] - D[t]),  D[t] = sum_s w[t,s] gw[t,s]
//   gq[c,t] = sc sum_s gL[t,s] k[c,s],  gk[c,s] = sc sum_t gL[t,s] q[c,t],  gv[c,s] = sum_t w[t,s] ga[c,t]
// attnb_rows: one workgroup per (BQ query rows, bh) recomputes the softmax like the forward, writes w
// and gL rows to global scratch W, G [N*H, T, T], and produces gq from the gL rows in workgroup memory.
// attnb_kv: one lane per (bh, c, s) reduces over t for gk and gv (reads of G, W contiguous across lanes).

const WG: u32 = 256u;
override BQ: u32 = 16u;
override TS: u32 = 17u;           // padded row stride of P (T + 1)
override PSIZE: u32 = 272u;       // BQ * TS
override R: u32 = WG / BQ;        // lanes per row (derived, not set)

//#interface

var<workgroup> P: array<f32, PSIZE>;
var<workgroup> red: array<f32, WG>;

//#include segmented-reduce

@compute @workgroup_size(WG)
fn attnb_rows(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let l = lid.x;
  let T = p.T;
  let ch = p.ch;
  let bh = wid.y;
  let t0 = wid.x * BQ;
  let qb = bh * 3u * ch * T;
  let kb = qb + ch * T;
  let vb = kb + ch * T;
  let gb = bh * ch * T;
  let tt = bh * T * T;

  // logits
  for (var idx = l; idx < BQ * T; idx += WG) {
    let row = idx / T;
    let s = idx % T;
    let t = t0 + row;
    var z = 0.0;
    if (t < T) {
      for (var c = 0u; c < ch; c++) { z += qkv[qb + c * T + t] * qkv[kb + c * T + s]; }
    }
    P[row * TS + s] = z * p.scale2;
  }
  workgroupBarrier();

  // softmax; from here on each lane owns the entries s = j (mod R) of row `row`
  let row = l / R;
  let j = l % R;
  let t = t0 + row;
  var m = -3.0e38;
  for (var s = j; s < T; s += R) { m = max(m, P[row * TS + s]); }
  red[l] = m;
  workgroupBarrier();
  seg_max(l);
  let mrow = red[row * R];
  workgroupBarrier();
  var zs = 0.0;
  for (var s = j; s < T; s += R) {
    let e = exp(P[row * TS + s] - mrow);
    P[row * TS + s] = e;
    zs += e;
  }
  red[l] = zs;
  workgroupBarrier();
  seg_sum(l);
  let zinv = 1.0 / red[row * R];
  workgroupBarrier();

  // P <- w gw (w kept in W), D = sum_s w gw
  var d = 0.0;
  for (var s = j; s < T; s += R) {
    let w = P[row * TS + s] * zinv;
    var gw = 0.0;
    if (t < T) {
      for (var c = 0u; c < ch; c++) { gw += gy[gb + c * T + t] * qkv[vb + c * T + s]; }
      W[tt + t * T + s] = w;
    }
    P[row * TS + s] = w * gw;
    d += w * gw;
  }
  red[l] = d;
  workgroupBarrier();
  seg_sum(l);
  let drow = red[row * R];
  // P <- gL = w gw - w D (W entries were written by this same lane)
  for (var s = j; s < T; s += R) {
    if (t < T) {
      let gl = P[row * TS + s] - W[tt + t * T + s] * drow;
      P[row * TS + s] = gl;
      G[tt + t * T + s] = gl;
    }
  }
  workgroupBarrier();

  // gq[c,t] = sc sum_s gL[t,s] k[c,s]
  for (var idx = l; idx < BQ * ch; idx += WG) {
    let r = idx % BQ;
    let c = idx / BQ;
    let tq = t0 + r;
    if (tq < T) {
      var acc = 0.0;
      for (var s = 0u; s < T; s++) { acc += P[r * TS + s] * qkv[kb + c * T + s]; }
      gqkv[qb + c * T + tq] = acc * p.scale2;
    }
  }
}

@compute @workgroup_size(WG)
fn attnb_kv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let T = p.T;
  let ch = p.ch;
  if (i >= p.NB * ch * T) { return; }
  let s = i % T;
  let c = (i / T) % ch;
  let bh = i / (ch * T);
  let qb = bh * 3u * ch * T;
  let gb = bh * ch * T;
  let tt = bh * T * T;
  var gk = 0.0;
  var gv = 0.0;
  for (var t = 0u; t < T; t++) {
    gk += G[tt + t * T + s] * qkv[qb + c * T + t];
    gv += W[tt + t * T + s] * gy[gb + c * T + t];
  }
  gqkv[qb + ch * T + c * T + s] = gk * p.scale2;
  gqkv[qb + 2u * ch * T + c * T + s] = gv;
}
