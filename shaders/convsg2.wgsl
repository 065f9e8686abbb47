enable subgroups;

struct Params {
  n: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, pad: u32,
  kdim: u32, pp: u32, npix: u32, bias_batches: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read> x1: array<f32>;
@group(0) @binding(3) var<storage, read> wt: array<f32>;
@group(0) @binding(6) var<storage, read> wt4: array<vec4f>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y4: array<vec4f>;

override CMB: u32 = 2u;
override R: u32 = 1u;
override HALO: bool = false;

struct W9 { r0: vec3f, r1: vec3f, r2: vec3f }
struct Taps { l: vec4f, c: vec4f, r: vec4f }
struct T3 { a: Taps, b: Taps, c: Taps }

fn loadw(co: u32, ci: u32) -> W9 {
  let b = co * p.kdim + ci * 9u;
  return W9(vec3f(wt[b], wt[b + 1u], wt[b + 2u]), vec3f(wt[b + 3u], wt[b + 4u], wt[b + 5u]), vec3f(wt[b + 6u], wt[b + 7u], wt[b + 8u]));
}

fn bc(v: f32, j: u32) -> f32 { return subgroupShuffle(v, j); }

fn one(w: W9, j: u32, t: T3) -> vec4f {
  return bc(w.r0.x, j) * t.a.l + bc(w.r0.y, j) * t.a.c + bc(w.r0.z, j) * t.a.r
       + bc(w.r1.x, j) * t.b.l + bc(w.r1.y, j) * t.b.c + bc(w.r1.z, j) * t.b.r
       + bc(w.r2.x, j) * t.c.l + bc(w.r2.y, j) * t.c.c + bc(w.r2.z, j) * t.c.r;
}

fn co8(a: ptr<function, array<vec4f, 8>>, w: W9, t: T3) {
  (*a)[0] += one(w, 0u, t);
  (*a)[1] += one(w, 1u, t);
  (*a)[2] += one(w, 2u, t);
  (*a)[3] += one(w, 3u, t);
  (*a)[4] += one(w, 4u, t);
  (*a)[5] += one(w, 5u, t);
  (*a)[6] += one(w, 6u, t);
  (*a)[7] += one(w, 7u, t);
}

struct Px { lane: u32, ox: u32, oy: i32, lok: bool, rok: bool, hx: i32, hok: bool, n: u32, r: u32, live: bool }

fn px(pix: u32, lane: u32) -> Px {
  var q: Px;
  q.live = pix < p.npix;
  let pc = min(pix, p.npix - 4u);
  q.n = pc / p.pp;
  q.r = pc % p.pp;
  q.oy = i32(q.r / p.wo);
  q.ox = q.r % p.wo;
  q.lane = lane;
  q.lok = q.ox > 0u;
  q.rok = q.ox + 4u < p.w;
  q.hx = select(i32(q.ox) + 4, i32(q.ox) - 1, lane == 0u);
  q.hok = select(q.rok, q.lok, lane == 0u);
  return q;
}

fn taps(ci: u32, ky: i32, q: Px) -> Taps {
  let xb = (q.n * p.cin + ci) * p.h * p.w;
  let iy = q.oy + ky - 1;
  let rowok = iy >= 0 && iy < i32(p.h);
  let ri = xb + u32(max(iy, 0)) * p.w;
  let v = select(vec4f(0.0), x4[(ri + q.ox) / 4u], rowok);
  var hv = 0.0;
  if (HALO) { hv = select(0.0, x1[u32(i32(ri) + q.hx)], rowok && q.hok); }
  let ln = select(subgroupShuffle(v.w, (q.lane + 7u) & 7u), hv, q.lane == 0u);
  let rn = select(subgroupShuffle(v.x, (q.lane + 1u) & 7u), hv, q.lane == 7u);
  return Taps(vec4f(select(0.0, ln, q.lok), v.xyz), v, vec4f(v.yzw, select(0.0, rn, q.rok)));
}

fn t3(ci: u32, q: Px) -> T3 { return T3(taps(ci, 0, q), taps(ci, 1, q), taps(ci, 2, q)); }

fn store8(a: ptr<function, array<vec4f, 8>>, co0: u32, q: Px) {
  if (!q.live) { return; }
  for (var c = 0u; c < 8u; c++) {
    let co = co0 + c;
    if (co < p.cout) {
      var bb = 0.0;
      if (q.n < p.bias_batches) { bb = bias[co]; }
      y4[((q.n * p.cout + co) * p.pp + q.r) / 4u] = (*a)[c] + bb;
    }
  }
}

@compute @workgroup_size(8)
fn sg3(@builtin(subgroup_invocation_id) sl: u32, @builtin(workgroup_id) wid: vec3u) {
  let lane = sl & 7u;
  let pix = wid.x * (32u * R) + lane * 4u;
  let q0 = px(pix, lane);
  let q1 = px(pix + 32u, lane);
  let co0 = wid.y * CMB * 8u;
  let coa = min(co0 + lane, p.cout - 1u);
  let cob = min(co0 + 8u + lane, p.cout - 1u);

  var a0: array<vec4f, 8>;
  var b0: array<vec4f, 8>;
  var a1: array<vec4f, 8>;
  var b1: array<vec4f, 8>;
  for (var ci = 0u; ci < p.cin; ci++) {
    if (CMB > 2u) {
      let t = t3(ci, q0);
      co8(&a0, loadw(coa, ci), t);
      co8(&b0, loadw(cob, ci), t);
      co8(&a1, loadw(min(co0 + 16u + lane, p.cout - 1u), ci), t);
      co8(&b1, loadw(min(co0 + 24u + lane, p.cout - 1u), ci), t);
      continue;
    }
    let wa = loadw(coa, ci);
    var wb: W9;
    if (CMB > 1u) { wb = loadw(cob, ci); }
    let t = t3(ci, q0);
    co8(&a0, wa, t);
    if (CMB > 1u) { co8(&b0, wb, t); }
    if (R > 1u) {
      let u = t3(ci, q1);
      co8(&a1, wa, u);
      if (CMB > 1u) { co8(&b1, wb, u); }
    }
  }
  store8(&a0, co0, q0);
  if (CMB > 1u) { store8(&b0, co0 + 8u, q0); }
  if (CMB > 2u) { store8(&a1, co0 + 16u, q0); store8(&b1, co0 + 24u, q0); return; }
  if (R > 1u) {
    store8(&a1, co0, q1);
    if (CMB > 1u) { store8(&b1, co0 + 8u, q1); }
  }
}

// 4 input channels per iteration, weights as 9 vec4 per output channel (needs cin % 4 == 0)
struct W36 { v0: vec4f, v1: vec4f, v2: vec4f, v3: vec4f, v4: vec4f, v5: vec4f, v6: vec4f, v7: vec4f, v8: vec4f }
fn loadw4(co: u32, ci: u32) -> W36 {
  let b = (co * p.kdim + ci * 9u) / 4u;
  return W36(wt4[b], wt4[b + 1u], wt4[b + 2u], wt4[b + 3u], wt4[b + 4u], wt4[b + 5u], wt4[b + 6u], wt4[b + 7u], wt4[b + 8u]);
}
fn w9(w: W36, j: u32) -> W9 {
  switch j {
    case 0u: { return W9(w.v0.xyz, vec3f(w.v0.w, w.v1.xy), vec3f(w.v1.zw, w.v2.x)); }
    case 1u: { return W9(w.v2.yzw, w.v3.xyz, vec3f(w.v3.w, w.v4.xy)); }
    case 2u: { return W9(vec3f(w.v4.zw, w.v5.x), w.v5.yzw, w.v6.xyz); }
    default: { return W9(vec3f(w.v6.w, w.v7.xy), vec3f(w.v7.zw, w.v8.x), w.v8.yzw); }
  }
}

fn step4(a: ptr<function, array<vec4f, 8>>, co: u32, ci: u32, t0: T3, t1: T3, t2: T3, t3v: T3) {
  let w = loadw4(co, ci);
  co8(a, w9(w, 0u), t0);
  co8(a, w9(w, 1u), t1);
  co8(a, w9(w, 2u), t2);
  co8(a, w9(w, 3u), t3v);
}

@compute @workgroup_size(8)
fn sg3w(@builtin(subgroup_invocation_id) sl: u32, @builtin(workgroup_id) wid: vec3u) {
  let lane = sl & 7u;
  let pix = wid.x * 32u + lane * 4u;
  let q0 = px(pix, lane);
  let co0 = wid.y * CMB * 8u;
  var a0: array<vec4f, 8>;
  a0[0].x = select(0.0, wt[0], p.n == 12345u);
  var b0: array<vec4f, 8>;
  var c0: array<vec4f, 8>;
  var d0: array<vec4f, 8>;
  for (var ci = 0u; ci < p.cin; ci += 4u) {
    let t0 = t3(ci, q0);
    let t1 = t3(ci + 1u, q0);
    let t2 = t3(ci + 2u, q0);
    let t3v = t3(ci + 3u, q0);
    step4(&a0, min(co0 + lane, p.cout - 1u), ci, t0, t1, t2, t3v);
    if (CMB > 1u) { step4(&b0, min(co0 + 8u + lane, p.cout - 1u), ci, t0, t1, t2, t3v); }
    if (CMB > 2u) {
      step4(&c0, min(co0 + 16u + lane, p.cout - 1u), ci, t0, t1, t2, t3v);
      step4(&d0, min(co0 + 24u + lane, p.cout - 1u), ci, t0, t1, t2, t3v);
    }
  }
  store8(&a0, co0, q0);
  if (CMB > 1u) { store8(&b0, co0 + 8u, q0); }
  if (CMB > 2u) { store8(&c0, co0 + 16u, q0); store8(&d0, co0 + 24u, q0); }
}
