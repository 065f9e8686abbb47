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
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y4: array<vec4f>;

override CMB: u32 = 2u;
override HALO: bool = true;
override NOW: bool = false;
override NOX: bool = false;

struct W9 { r0: vec3f, r1: vec3f, r2: vec3f }
struct Taps { l: vec4f, c: vec4f, r: vec4f }

fn loadw(co: u32, ci: u32) -> W9 {
  let b = co * p.kdim + ci * 9u;
  if (NOW) { let f = f32(b); return W9(vec3f(f, f + 1.0, f + 2.0), vec3f(f + 3.0, f + 4.0, f + 5.0), vec3f(f + 6.0, f + 7.0, f + 8.0)); }
  return W9(vec3f(wt[b], wt[b + 1u], wt[b + 2u]), vec3f(wt[b + 3u], wt[b + 4u], wt[b + 5u]), vec3f(wt[b + 6u], wt[b + 7u], wt[b + 8u]));
}

fn fma8(a: ptr<function, array<vec4f, 8>>, w: vec3f, t: Taps) {
  (*a)[0] += subgroupBroadcast(w.x, 0u) * t.l + subgroupBroadcast(w.y, 0u) * t.c + subgroupBroadcast(w.z, 0u) * t.r;
  (*a)[1] += subgroupBroadcast(w.x, 1u) * t.l + subgroupBroadcast(w.y, 1u) * t.c + subgroupBroadcast(w.z, 1u) * t.r;
  (*a)[2] += subgroupBroadcast(w.x, 2u) * t.l + subgroupBroadcast(w.y, 2u) * t.c + subgroupBroadcast(w.z, 2u) * t.r;
  (*a)[3] += subgroupBroadcast(w.x, 3u) * t.l + subgroupBroadcast(w.y, 3u) * t.c + subgroupBroadcast(w.z, 3u) * t.r;
  (*a)[4] += subgroupBroadcast(w.x, 4u) * t.l + subgroupBroadcast(w.y, 4u) * t.c + subgroupBroadcast(w.z, 4u) * t.r;
  (*a)[5] += subgroupBroadcast(w.x, 5u) * t.l + subgroupBroadcast(w.y, 5u) * t.c + subgroupBroadcast(w.z, 5u) * t.r;
  (*a)[6] += subgroupBroadcast(w.x, 6u) * t.l + subgroupBroadcast(w.y, 6u) * t.c + subgroupBroadcast(w.z, 6u) * t.r;
  (*a)[7] += subgroupBroadcast(w.x, 7u) * t.l + subgroupBroadcast(w.y, 7u) * t.c + subgroupBroadcast(w.z, 7u) * t.r;
}

struct Px { lane: u32, ox: u32, oy: i32, lok: bool, rok: bool, hx: i32, hok: bool }

fn taps(xb: u32, ky: i32, q: Px) -> Taps {
  let iy = q.oy + ky - 1;
  let rowok = iy >= 0 && iy < i32(p.h);
  let ri = xb + u32(max(iy, 0)) * p.w;
  var v = vec4f(f32(ri));
  if (!NOX) { v = select(vec4f(0.0), x4[(ri + q.ox) / 4u], rowok); }
  var hv = 0.0;
  if (HALO) { hv = select(0.0, x1[u32(i32(ri) + q.hx)], rowok && q.hok); }
  let ln = select(subgroupShuffle(v.w, (q.lane + 7u) & 7u), hv, q.lane == 0u);
  let rn = select(subgroupShuffle(v.x, (q.lane + 1u) & 7u), hv, q.lane == 7u);
  return Taps(vec4f(select(0.0, ln, q.lok), v.xyz), v, vec4f(v.yzw, select(0.0, rn, q.rok)));
}

@compute @workgroup_size(64)
fn sg3(@builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sl: u32, @builtin(workgroup_id) wid: vec3u) {
  let lane = sl & 7u;
  let grp = li >> 3u;
  let pix = (wid.x * 8u + grp) * 32u + lane * 4u;
  let live = pix < p.npix;
  let pc = min(pix, p.npix - 4u);
  let n = pc / p.pp;
  let r = pc % p.pp;
  let oy = i32(r / p.wo);
  let ox = r % p.wo;
  let co0 = wid.y * CMB * 8u;
  let hw = p.h * p.w;
  var q: Px;
  q.lane = lane; q.ox = ox; q.oy = oy;
  q.lok = ox > 0u;
  q.rok = ox + 4u < p.w;
  q.hx = select(i32(ox) + 4, i32(ox) - 1, lane == 0u);
  q.hok = select(q.rok, q.lok, lane == 0u);
  let coa = min(co0 + lane, p.cout - 1u);
  let cob = min(co0 + 8u + lane, p.cout - 1u);

  var a: array<vec4f, 8>;
  var b: array<vec4f, 8>;
  for (var ci = 0u; ci < p.cin; ci++) {
    let xb = (n * p.cin + ci) * hw;
    let wa = loadw(coa, ci);
    var wb: W9;
    if (CMB > 1u) { wb = loadw(cob, ci); }
    let t0 = taps(xb, 0, q);
    fma8(&a, wa.r0, t0);
    if (CMB > 1u) { fma8(&b, wb.r0, t0); }
    let t1 = taps(xb, 1, q);
    fma8(&a, wa.r1, t1);
    if (CMB > 1u) { fma8(&b, wb.r1, t1); }
    let t2 = taps(xb, 2, q);
    fma8(&a, wa.r2, t2);
    if (CMB > 1u) { fma8(&b, wb.r2, t2); }
  }
  if (!live) { return; }
  for (var c = 0u; c < CMB * 8u; c++) {
    let co = co0 + c;
    if (co < p.cout) {
      var bb = 0.0;
      if (n < p.bias_batches) { bb = bias[co]; }
      var v: vec4f;
      if (c < 8u) { v = a[c]; } else { v = b[c - 8u]; }
      y4[((n * p.cout + co) * p.pp + r) / 4u] = v + bb;
    }
  }
}
