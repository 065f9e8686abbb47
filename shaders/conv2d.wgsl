// LAB: conv2d variants (NCHW activations, OIHW weights), f32.

struct Params {
  n: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, pad: u32,
  kdim: u32,      // cin * k * k
  quads: u32,     // ceil(wo / 4)
  nquads: u32,    // n * ho * quads
  bias_batches: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override CM: u32 = 4u;     // output channels per invocation
override WG: u32 = 64u;

fn xat(base: u32, iy: i32, ix: i32) -> f32 {
  if (iy < 0 || iy >= i32(p.h) || ix < 0 || ix >= i32(p.w)) { return 0.0; }
  return x[base + u32(iy) * p.w + u32(ix)];
}

// Direct 3x3 stride-1 conv: each invocation computes CM output channels x 4 consecutive output pixels of a row.
// Output channel block is uniform across the workgroup, so weight loads are uniform (broadcast).
@compute @workgroup_size(WG)
fn direct3(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let q = gid.x;
  let co0 = wid.y * CM;
  let live = q < p.nquads;
  let qq = min(q, p.nquads - 1u);
  let xq = qq % p.quads;
  let r = qq / p.quads;
  let oy = r % p.ho;
  let n = r / p.ho;
  let ox0 = i32(xq * 4u);
  var acc: array<vec4f, 8>;
  for (var c = 0u; c < CM; c++) { acc[c] = vec4f(0.0); }
  let hw = p.h * p.w;
  for (var ci = 0u; ci < p.cin; ci++) {
    let base = (n * p.cin + ci) * hw;
    for (var ky = 0u; ky < 3u; ky++) {
      let iy = i32(oy + ky) - i32(p.pad);
      let a0 = xat(base, iy, ox0 - 1);
      let a1 = xat(base, iy, ox0);
      let a2 = xat(base, iy, ox0 + 1);
      let a3 = xat(base, iy, ox0 + 2);
      let a4 = xat(base, iy, ox0 + 3);
      let a5 = xat(base, iy, ox0 + 4);
      let v0 = vec4f(a0, a1, a2, a3);
      let v1 = vec4f(a1, a2, a3, a4);
      let v2 = vec4f(a2, a3, a4, a5);
      let kb = ci * 9u + ky * 3u;
      for (var c = 0u; c < CM; c++) {
        let wb = min(co0 + c, p.cout - 1u) * p.kdim + kb;
        acc[c] += wt[wb] * v0 + wt[wb + 1u] * v1 + wt[wb + 2u] * v2;
      }
    }
  }
  if (!live) { return; }
  let P = p.ho * p.wo;
  for (var c = 0u; c < CM; c++) {
    let co = co0 + c;
    if (co >= p.cout) { break; }
    var b = 0.0;
    if (n < p.bias_batches) { b = bias[co]; }
    let ob = (n * p.cout + co) * P + oy * p.wo;
    for (var j = 0u; j < 4u; j++) {
      let ox = u32(ox0) + j;
      if (ox < p.wo) { y[ob + ox] = acc[c][j] + b; }
    }
  }
}

// Classic tiled implicit GEMM: M = cout, N = n*ho*wo pixels, K = cin*9. 8x8 invocations x 4x4 outputs.
const BM = 32u;
const BN = 32u;
const BK = 16u;
var<workgroup> As: array<f32, 512>;  // [BK][BM]
var<workgroup> Bs: array<f32, 512>;  // [BK][BN]

@compute @workgroup_size(8, 8)
fn tiled3(@builtin(local_invocation_index) li: u32, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let P = p.ho * p.wo;
  let npix = p.n * P;
  let pix0 = wid.x * BN;
  let co0 = wid.y * BM;
  // this invocation's B-loading column (fixed) and rows li/32 + 2r
  let bcol = li % BN;
  let brow = li / BN;
  let pix = pix0 + bcol;
  let pvalid = pix < npix;
  let pc = min(pix, npix - 1u);
  let bn = pc / P;
  let prem = pc % P;
  let boy = i32(prem / p.wo) - i32(p.pad);
  let box = i32(prem % p.wo) - i32(p.pad);
  // A-loading: row (co) li % 32, cols li/32 + 2r
  let arow = li % BM;
  let acol = li / BM;
  let aco = min(co0 + arow, p.cout - 1u);

  var acc: array<vec4f, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4f(0.0); }
  let hw = p.h * p.w;
  for (var k0 = 0u; k0 < p.kdim; k0 += BK) {
    for (var r = 0u; r < 8u; r++) {
      let kk = brow + 2u * r;
      let k = k0 + kk;
      let ci = k / 9u;
      let t = k % 9u;
      let iy = boy + i32(t / 3u);
      let ix = box + i32(t % 3u);
      var v = 0.0;
      if (pvalid && k < p.kdim && iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) {
        v = x[(bn * p.cin + ci) * hw + u32(iy) * p.w + u32(ix)];
      }
      Bs[kk * BN + bcol] = v;
      let ka = k0 + acol + 2u * r;
      var wv = 0.0;
      if (ka < p.kdim) { wv = wt[aco * p.kdim + ka]; }
      As[(acol + 2u * r) * BM + arow] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = vec4f(As[kk * BM + lid.y], As[kk * BM + lid.y + 8u], As[kk * BM + lid.y + 16u], As[kk * BM + lid.y + 24u]);
      let b = vec4f(Bs[kk * BN + lid.x], Bs[kk * BN + lid.x + 8u], Bs[kk * BN + lid.x + 16u], Bs[kk * BN + lid.x + 24u]);
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let co = co0 + lid.y + 8u * i;
    if (co >= p.cout) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let px = pix0 + lid.x + 8u * j;
      if (px >= npix) { continue; }
      let n = px / P;
      var b = 0.0;
      if (n < p.bias_batches) { b = bias[co]; }
      y[(n * p.cout + co) * P + px % P] = acc[i][j] + b;
    }
  }
}
