// Per-frequency linear filters on NCHW images: out = F⁻¹ M(ξ) F x (+ offset), where M(ξ) is a CH×CH complex
// matrix per 2-D frequency (CH = 1: a complex gain; CH = 3: channel mixing, e.g. colour ADSN's rank-1
// covariances). The validation lab's circulant Gaussian priors, circular blurs and their exact posteriors
// are all of this form.
//
// The DFTs here are separable direct DFTs (one output frequency per invocation, an O(W) or O(H) loop):
// O(HW(H+W)) per image instead of an FFT's O(HW log HW), but exact to f32 rounding, any size, and without
// workgroup barriers (which lavapipe mishandles in loops). Twiddles come from float64 host tables, indexed
// by (k·n mod N) so no large f32 angle is ever formed.
//
// Layouts: real images [N, C, H, W]; complex images [N, C, H, W, 2] (re, im interleaved);
// filter table [S, H, W, CH, CH, 2]; slot[n] picks the table (and offset) used for image n.

//#interface

override CH: u32 = 1u;

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

fn cmul(a: vec2f, b: vec2f) -> vec2f {
  return vec2f(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// ---------------------------------------------------------------- row DFT, real → complex (forward)

@compute @workgroup_size(256)
fn row_dft(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let k = i % p.w;
  let base = i - k;
  var acc = vec2f(0.0);
  var idx = 0u;
  for (var j = 0u; j < p.w; j++) {
    let t = rd_tw[idx];
    acc += rd_x[base + j] * vec2f(t.x, -t.y);
    idx += k;
    if (idx >= p.w) { idx -= p.w; }
  }
  rd_out[i] = acc;
}

// ---------------------------------------------------------------- column DFT (forward) × M(ξ)

// one invocation per (n, kh, kw); count = N·H·W
@compute @workgroup_size(256)
fn col_dft_filter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let hw = p.h * p.w;
  let n = i / hw;
  let f = i % hw;
  let kh = f / p.w;
  let kw = f % p.w;
  var b: array<vec2f, 3>;
  for (var c = 0u; c < CH; c++) {
    let base = (n * CH + c) * hw + kw;
    var acc = vec2f(0.0);
    var idx = 0u;
    for (var j = 0u; j < p.h; j++) {
      let t = cf_tw[idx];
      acc += cmul(cf_in[base + j * p.w], vec2f(t.x, -t.y));
      idx += kh;
      if (idx >= p.h) { idx -= p.h; }
    }
    b[c] = acc;
  }
  let tb = (cf_slot[n] * hw + f) * CH * CH;
  for (var c = 0u; c < CH; c++) {
    var o = vec2f(0.0);
    for (var d = 0u; d < CH; d++) { o += cmul(cf_table[tb + c * CH + d], b[d]); }
    cf_out[(n * CH + c) * hw + f] = o;
  }
}

// ---------------------------------------------------------------- column DFT (inverse, unscaled)

// one invocation per (n, c, h, kw); count = N·C·H·W
@compute @workgroup_size(256)
fn col_idft(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let hw = p.h * p.w;
  let img = i / hw;
  let f = i % hw;
  let h = f / p.w;
  let kw = f % p.w;
  let base = img * hw + kw;
  var acc = vec2f(0.0);
  var idx = 0u;
  for (var j = 0u; j < p.h; j++) {
    acc += cmul(ci_in[base + j * p.w], ci_tw[idx]);
    idx += h;
    if (idx >= p.h) { idx -= p.h; }
  }
  ci_out[i] = acc;
}

// ---------------------------------------------------------------- row DFT (inverse) → real part × scale

fn row_idft_value(i: u32) -> f32 {
  let wv = i % p.w;
  let base = i - wv;
  var acc = 0.0;
  var idx = 0u;
  for (var k = 0u; k < p.w; k++) {
    let z = ri_in[base + k];
    let t = ri_tw[idx];
    acc += z.x * t.x - z.y * t.y;   // Re(z·e^{+iθ})
    idx += wv;
    if (idx >= p.w) { idx -= p.w; }
  }
  return acc * p.scale;
}

// count = N·C·H·W
@compute @workgroup_size(256)
fn row_idft_real(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  ri_out[i] = row_idft_value(i);
}

@compute @workgroup_size(256)
fn row_idft_real_offset(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let chw = p.c * p.h * p.w;
  let n = i / chw;
  ri_out[i] = row_idft_value(i) + ro_offset[ro_slot[n] * chw + i % chw];
}

// ---------------------------------------------------------------- plain column DFT (forward)

// one invocation per (n, c, kh, kw); count = N·C·H·W
@compute @workgroup_size(256)
fn col_dft(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let hw = p.h * p.w;
  let img = i / hw;
  let f = i % hw;
  let kh = f / p.w;
  let kw = f % p.w;
  let base = img * hw + kw;
  var acc = vec2f(0.0);
  var idx = 0u;
  for (var j = 0u; j < p.h; j++) {
    let t = cd_tw[idx];
    acc += cmul(cd_in[base + j * p.w], vec2f(t.x, -t.y));
    idx += kh;
    if (idx >= p.h) { idx -= p.h; }
  }
  cd_out[i] = acc;
}

// ---------------------------------------------------------------- real orthonormal Fourier coordinates
// Basis of real images per channel: for a self-conjugate frequency ξ = −ξ one vector √(1/HW)·cos θ_ξ,
// for each pair {ξ, −ξ} two vectors √(2/HW)·cos θ_ξ and √(2/HW)·sin θ_ξ (θ_ξ(p) = 2π⟨ξ, p⟩). The host
// orders the basis (k) and passes per k: (frequency index, kind 0 self / 1 cos / 2 sin); coordinates are
// channel-minor: entry k·C + c (DDRM's layout).

// count = N·C·H·W; scale = 1/√(HW)
@compute @workgroup_size(256)
fn spec_pack(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let hw = p.h * p.w;
  let d = p.c * hw;
  let n = i / d;
  let q = i % d;
  let k = q / p.c;
  let c = q % p.c;
  let b = pk_basis[k];
  let z = pk_spec[(n * p.c + c) * hw + b.x];
  var v = z.x * p.scale;
  if (b.y == 1u) { v = z.x * p.scale * sqrt(2.0); }
  if (b.y == 2u) { v = -z.y * p.scale * sqrt(2.0); }
  pk_out[i] = v;
}

// count = N·C·H·W; scale = √(HW)
@compute @workgroup_size(256)
fn spec_unpack(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let hw = p.h * p.w;
  let img = i / hw;
  let n = img / p.c;
  let c = img % p.c;
  let f = i % hw;
  let m = up_map[f];
  let base = n * p.c * hw;
  if (m.y == 0u) {
    up_out[i] = vec2f(up_z[base + m.x * p.c + c] * p.scale, 0.0);
    return;
  }
  let zc = up_z[base + m.x * p.c + c];
  let zs = up_z[base + (m.x + 1u) * p.c + c];
  let s = p.scale * sqrt(0.5);
  if (m.y == 1u) { up_out[i] = s * vec2f(zc, -zs); } else { up_out[i] = s * vec2f(zc, zs); }
}

// out[n, q] = in[n, q]·w[q] for q < min(perIn, perOut), else 0 (count = N·perOut; c = perIn, h = perOut)

@compute @workgroup_size(256)
fn coord_scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let n = i / p.h;
  let q = i % p.h;
  var v = 0.0;
  if (q < p.c) { v = cs_in[n * p.c + q] * cs_w[q]; }
  cs_out[i] = v;
}

// ---------------------------------------------------------------- helpers of the FFT path
// (src/operators/fft.ts transforms [planes, H, W, 2] in place; these convert and apply M(ξ) around it)

// count = N·C·H·W
@compute @workgroup_size(256)
fn to_complex(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  tc_out[i] = vec2f(tc_x[i], 0.0);
}

// in place: X[n, :, f] ← M_{slot[n]}(f) X[n, :, f]; one invocation per (n, f), count = N·H·W
@compute @workgroup_size(256)
fn apply_table(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let hw = p.h * p.w;
  let n = i / hw;
  let f = i % hw;
  var b: array<vec2f, 3>;
  for (var c = 0u; c < CH; c++) { b[c] = at_data[(n * CH + c) * hw + f]; }
  let tb = (at_slot[n] * hw + f) * CH * CH;
  for (var c = 0u; c < CH; c++) {
    var o = vec2f(0.0);
    for (var d = 0u; d < CH; d++) { o += cmul(at_table[tb + c * CH + d], b[d]); }
    at_data[(n * CH + c) * hw + f] = o;
  }
}

// count = N·C·H·W
@compute @workgroup_size(256)
fn real_part(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  rp_out[i] = rp_in[i].x * p.scale;
}

@compute @workgroup_size(256)
fn real_part_offset(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let chw = p.c * p.h * p.w;
  rp_out[i] = rp_in[i].x * p.scale + rpo_offset[rpo_slot[i / chw] * chw + i % chw];
}

// ---------------------------------------------------------------- two real images per complex FFT
// Images 2q and 2q+1 travel as the real and imaginary parts of plane q (z = a + i·b; an odd batch pairs
// its last image with zero). With Z = F z: A(ξ) = (Z(ξ) + conj Z(−ξ))/2, B(ξ) = (Z(ξ) − conj Z(−ξ))/(2i);
// the filtered plane is Z' = M_a A + i·M_b B, whose inverse FFT is a' + i·b' because every lab filter is
// real (M(−ξ) = conj M(ξ)). Halves the FFT work of real-image filtering.

// count = ⌈N/2⌉·C·H·W
@compute @workgroup_size(256)
fn to_complex_pair(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let chw = p.c * p.h * p.w;
  let q = i / chw;
  let r = i % chw;
  var b = 0.0;
  if (2u * q + 1u < p.nimg) { b = tp_x[(2u * q + 1u) * chw + r]; }
  tp_out[i] = vec2f(tp_x[2u * q * chw + r], b);
}

// one invocation per (plane pair q, f); count = ⌈N/2⌉·H·W
@compute @workgroup_size(256)
fn apply_table_pair(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let hw = p.h * p.w;
  let q = i / hw;
  let f = i % hw;
  let kh = f / p.w;
  let kw = f % p.w;
  let g = ((p.h - kh) % p.h) * p.w + (p.w - kw) % p.w;   // −ξ
  var a: array<vec2f, 3>;
  var b: array<vec2f, 3>;
  for (var c = 0u; c < CH; c++) {
    let z = ap_in[(q * CH + c) * hw + f];
    let zn = ap_in[(q * CH + c) * hw + g];
    a[c] = 0.5 * vec2f(z.x + zn.x, z.y - zn.y);
    b[c] = 0.5 * vec2f(z.y + zn.y, zn.x - z.x);   // (Z − conj Zn)/(2i)
  }
  let ta = (ap_slot[2u * q] * hw + f) * CH * CH;
  var sb = ap_slot[2u * q];
  if (2u * q + 1u < p.nimg) { sb = ap_slot[2u * q + 1u]; }
  let tb = (sb * hw + f) * CH * CH;
  for (var c = 0u; c < CH; c++) {
    var oa = vec2f(0.0);
    var ob = vec2f(0.0);
    for (var d = 0u; d < CH; d++) {
      oa += cmul(ap_table[ta + c * CH + d], a[d]);
      ob += cmul(ap_table[tb + c * CH + d], b[d]);
    }
    ap_out[(q * CH + c) * hw + f] = oa + vec2f(-ob.y, ob.x);   // oa + i·ob
  }
}

fn pair_value(i: u32) -> f32 {
  let chw = p.c * p.h * p.w;
  let n = i / chw;
  let z = rq_in[(n / 2u) * chw + i % chw];
  if (n % 2u == 0u) { return z.x * p.scale; }
  return z.y * p.scale;
}

// count = N·C·H·W
@compute @workgroup_size(256)
fn real_part_pair(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  rq_out[i] = pair_value(i);
}

@compute @workgroup_size(256)
fn real_part_pair_offset(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.count) { return; }
  let chw = p.c * p.h * p.w;
  rq_out[i] = pair_value(i) + rqo_offset[rqo_slot[i / chw] * chw + i % chw];
}
