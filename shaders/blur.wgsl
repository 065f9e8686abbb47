// Depthwise blur with reflect padding (PyTorch ReflectionPad2d(r) + conv2d, i.e. cross-correlation, the
// same kernel on every plane), and the packing kernels of its FFT form.
//
// FFT form: two real planes travel as one complex plane (re = plane 2p, im = plane 2p+1): the kernel is
// real, so the correlation acts on both parts independently. The padded domain (h + 2r)×(w + 2r) sits at
// the top-left of an l1×l2 FFT grid with l ≥ h + 2r, where the circular correlation never wraps for the
// outputs we keep. All arrays are f32; complex values are interleaved (re, im).

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// PyTorch 'reflect' (no edge repeat) of t ∈ [-r, n + r) into [0, n); needs r < n.
fn refl(t: i32, n: i32) -> i32 {
  var s = t;
  if (s < 0) { s = -s; }
  if (s >= n) { s = 2 * (n - 1) - s; }
  return s;
}

fn plane_value(c: u32, i: i32, j: i32) -> f32 {
  if (c >= p.planes) { return 0.0; }
  return src[(c * p.h + u32(i)) * p.w + u32(j)];
}

// x (real planes) → complex grid: reflect-padded planes 2q, 2q+1 in the top-left (h+2r)×(w+2r), zeros elsewhere.
@compute @workgroup_size(256)
fn pack_reflect(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let t2 = e % p.l2;
  let t1 = (e / p.l2) % p.l1;
  let q = e / (p.l1 * p.l2);
  var v = vec2f(0.0);
  if (t1 < p.h + 2u * p.r && t2 < p.w + 2u * p.r) {
    let i = refl(i32(t1) - i32(p.r), i32(p.h));
    let j = refl(i32(t2) - i32(p.r), i32(p.w));
    v = vec2f(plane_value(2u * q, i, j), plane_value(2u * q + 1u, i, j));
  }
  dst[2u * e] = v.x;
  dst[2u * e + 1u] = v.y;
}

// y (real planes h×w) → complex grid with y in the top-left, zeros elsewhere (adjoint of the crop).
@compute @workgroup_size(256)
fn pack_zero(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let t2 = e % p.l2;
  let t1 = (e / p.l2) % p.l1;
  let q = e / (p.l1 * p.l2);
  var v = vec2f(0.0);
  if (t1 < p.h && t2 < p.w) {
    v = vec2f(plane_value(2u * q, i32(t1), i32(t2)), plane_value(2u * q + 1u, i32(t1), i32(t2)));
  }
  dst[2u * e] = v.x;
  dst[2u * e + 1u] = v.y;
}

// complex grid → real planes: plane c = part (c % 2) of grid c / 2, rows/cols [0, h)×[0, w) (the crop).
@compute @workgroup_size(256)
fn unpack_crop(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let j = e % p.w;
  let i = (e / p.w) % p.h;
  let c = e / (p.h * p.w);
  let g = ((c / 2u) * p.l1 + i) * p.l2 + j;
  dst[e] = src[2u * g + (c % 2u)];
}

// The padded positions t ∈ [0, n + 2r) that reflect onto i (adjoint of reflect padding): t = i + r always,
// r − i for 1 ≤ i ≤ r (left mirror), r + 2(n − 1) − i for n − 1 − r ≤ i ≤ n − 2 (right mirror).
fn preimages(i: u32, n: u32, r: u32) -> vec4u {   // xyz = positions, w = count
  var out = vec4u(i + r, 0u, 0u, 1u);
  if (i >= 1u && i <= r) { out[out.w] = r - i; out.w += 1u; }
  if (i + 1u + r >= n && i + 2u <= n) { out[out.w] = r + 2u * (n - 1u) - i; out.w += 1u; }
  return out;
}

// complex grid → real planes, summing every padded position that reflects onto (i, j): the adjoint of
// pack_reflect (fold-back sum).
@compute @workgroup_size(256)
fn unpack_fold(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let j = e % p.w;
  let i = (e / p.w) % p.h;
  let c = e / (p.h * p.w);
  let pi = preimages(i, p.h, p.r);
  let pj = preimages(j, p.w, p.r);
  let base = (c / 2u) * p.l1;
  var s = 0.0;
  for (var a = 0u; a < pi.w; a++) {
    for (var b = 0u; b < pj.w; b++) {
      s += src[2u * ((base + pi[a]) * p.l2 + pj[b]) + (c % 2u)];
    }
  }
  dst[e] = s;
}

// Real padded planes [(h+2r)×(w+2r)] → real planes, fold-back sum (adjoint of reflect padding).
@compute @workgroup_size(256)
fn fold_real(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let j = e % p.w;
  let i = (e / p.w) % p.h;
  let c = e / (p.h * p.w);
  let hp = p.h + 2u * p.r;
  let wp = p.w + 2u * p.r;
  let pi = preimages(i, p.h, p.r);
  let pj = preimages(j, p.w, p.r);
  var s = 0.0;
  for (var a = 0u; a < pi.w; a++) {
    for (var b = 0u; b < pj.w; b++) { s += src[(c * hp + pi[a]) * wp + pj[b]]; }
  }
  dst[e] = s;
}

// ---------------------------------------------------------------- direct convolution

override K: u32 = 3u;         // kernel size
override OX: u32 = 2u;        // outputs per thread along x
const TX: u32 = 16u;
const TY: u32 = 16u;
override TW: u32 = TX * OX + K - 1u;   // input tile width
override TH: u32 = TY + K - 1u;

var<workgroup> tile: array<f32, TW * TH>;

// y[c, i, j] = Σ_{a,b} k[a, b] · x[c, refl(i + a − r), refl(j + b − r)]; a 16×(16·OX) output tile per
// workgroup, its reflect-padded input tile in workgroup memory. Grid: (⌈w/(16·OX)⌉, ⌈h/16⌉, planes).
@compute @workgroup_size(16, 16)
fn conv_direct(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = wid.z;
  let i0 = i32(wid.y * TY) - i32(p.r);
  let j0 = i32(wid.x * TX * OX) - i32(p.r);
  let li = lid.y * TX + lid.x;
  for (var t = li; t < TW * TH; t += TX * TY) {
    let ti = i32(t / TW);
    let tj = i32(t % TW);
    // rows/cols past the image only feed outputs we do not write; clamp them to stay in bounds
    let ii = refl(min(i0 + ti, i32(p.h + p.r) - 1), i32(p.h));
    let jj = refl(min(j0 + tj, i32(p.w + p.r) - 1), i32(p.w));
    tile[t] = src[(c * p.h + u32(ii)) * p.w + u32(jj)];
  }
  workgroupBarrier();
  var acc: array<f32, 8>;
  for (var o = 0u; o < OX; o++) { acc[o] = 0.0; }
  for (var a = 0u; a < K; a++) {
    let row = (lid.y + a) * TW + lid.x * OX;
    for (var b = 0u; b < K; b++) {
      let wv = kern[a * K + b];
      for (var o = 0u; o < OX; o++) { acc[o] += wv * tile[row + o + b]; }
    }
  }
  let i = wid.y * TY + lid.y;
  if (i >= p.h) { return; }
  for (var o = 0u; o < OX; o++) {
    let j = (wid.x * TX + lid.x) * OX + o;
    if (j < p.w) { dst[(c * p.h + i) * p.w + j] = acc[o]; }
  }
}

// Untiled direct correlation (kernels too big for the workgroup tile). One output per invocation.
@compute @workgroup_size(256)
fn conv_direct_naive(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let j = e % p.w;
  let i = (e / p.w) % p.h;
  let c = e / (p.h * p.w);
  var s = 0.0;
  for (var a = 0u; a < p.k; a++) {
    let ii = u32(refl(i32(i + a) - i32(p.r), i32(p.h)));
    for (var b = 0u; b < p.k; b++) {
      let jj = u32(refl(i32(j + b) - i32(p.r), i32(p.w)));
      s += kern[a * p.k + b] * src[(c * p.h + ii) * p.w + jj];
    }
  }
  dst[e] = s;
}

// Adjoint of the correlation on the padded domain: z[c, t1, t2] = Σ_{a,b} k[a, b] · y[c, t1 − a, t2 − b]
// over 0 ≤ t − a < h (then fold_real). One padded output per invocation.
@compute @workgroup_size(256)
fn conv_direct_t(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let hp = p.h + 2u * p.r;
  let wp = p.w + 2u * p.r;
  let t2 = e % wp;
  let t1 = (e / wp) % hp;
  let c = e / (hp * wp);
  var s = 0.0;
  let a0 = max(i32(t1) - i32(p.h) + 1, 0);
  let a1 = min(i32(t1), i32(p.k) - 1);
  let b0 = max(i32(t2) - i32(p.w) + 1, 0);
  let b1 = min(i32(t2), i32(p.k) - 1);
  for (var a = a0; a <= a1; a++) {
    for (var b = b0; b <= b1; b++) {
      s += kern[u32(a) * p.k + u32(b)] * src[(c * p.h + t1 - u32(a)) * p.w + t2 - u32(b)];
    }
  }
  dst[e] = s;
}
