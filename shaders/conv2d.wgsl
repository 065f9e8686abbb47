// Convolution as a tiled implicit GEMM (NCHW activations, OIHW weights, f32): the portable path, used on
// GPUs and for shapes the lavapipe kernels (conv2d-sg.wgsl) do not cover. Dispatcher: src/engine/ops/conv2d.ts.
//
// GEMM view: M = output channels, N = output pixels (n, oy, ox), K = cin * KS * KS.
// 8x8 invocations, each a 4x4 register tile (strided by 8 so that lanes read adjacent words), BM = BN = 32,
// BK = 16 (2 x 2 KiB of workgroup memory). A = weights, B = im2col of the input, built by the loaders
// with zero padding by bounds test. TRANS computes the input gradient of a conv (transposed conv,
// any stride): B[(c, ky, kx), (n, iy, ix)] = gy[n, c, (iy + pad - ky) / S, (ix + pad - kx) / S] when the
// division is exact and in range, A[o, (c, ky, kx)] = w[c, o, ky, kx].

//#interface

override KS: u32 = 3u;
override STRIDE: u32 = 1u;
override TRANS: bool = false;
// split-K: workgroup z sums the BK-aligned K range z of SPLITK and writes a partial GEMM (no bias or
// residual) to y[z * n * cout * pp + ...]; `splitk_reduce` adds the partials, bias and residual. It gives
// the low-resolution convs (8x8 and 16x16 pixels, K up to 9216) enough workgroups to fill a large GPU.
override SPLITK: u32 = 1u;

const BM = 32u;
const BN = 32u;
const BK = 16u;
var<workgroup> As: array<f32, 512>;  // [BK][BM]
var<workgroup> Bs: array<f32, 512>;  // [BK][BN]

fn im2col(k: u32, n: u32, oy: i32, ox: i32) -> f32 {
  if (k >= p.kdim) { return 0.0; }
  let kk = KS * KS;
  let c = k / kk;
  let t = k - c * kk;
  let ky = i32(t / KS);
  let kx = i32(t % KS);
  var iy: i32;
  var ix: i32;
  if (TRANS) {
    let sy = oy + i32(p.pad) - ky;
    let sx = ox + i32(p.pad) - kx;
    if (sy < 0 || sx < 0 || sy % i32(STRIDE) != 0 || sx % i32(STRIDE) != 0) { return 0.0; }
    iy = sy / i32(STRIDE);
    ix = sx / i32(STRIDE);
  } else {
    iy = oy * i32(STRIDE) + ky - i32(p.pad);
    ix = ox * i32(STRIDE) + kx - i32(p.pad);
  }
  if (iy < 0 || iy >= i32(p.h) || ix < 0 || ix >= i32(p.w)) { return 0.0; }
  return x[((n * p.cin + c) * p.h + u32(iy)) * p.w + u32(ix)];
}

fn weight(o: u32, k: u32) -> f32 {
  if (o >= p.cout || k >= p.kdim) { return 0.0; }
  if (TRANS) {
    let kk = KS * KS;
    let c = k / kk;
    return wt[(c * p.cout + o) * kk + (k - c * kk)];
  }
  return wt[o * p.kdim + k];
}

// grid: (ceil(npix / 32), ceil(cout / 32))
@compute @workgroup_size(8, 8)
fn tiled(@builtin(local_invocation_index) li: u32, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let pix0 = wid.x * BN;
  let o0 = wid.y * BM;
  // B loader: a fixed pixel column, rows brow + 2r
  let bcol = li % BN;
  let brow = li / BN;
  let pix = pix0 + bcol;
  let pc = min(pix, p.npix - 1u);
  let bn = pc / p.pp;
  let pr = pc % p.pp;
  let boy = i32(pr / p.wo);
  let box = i32(pr % p.wo);
  let pvalid = pix < p.npix;
  // A loader: a fixed output channel, columns acol + 2r
  let arow = li % BM;
  let acol = li / BM;

  var acc: array<vec4f, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4f(0.0); }
  // this workgroup's K range (all of it without split-K); a multiple of BK, so tiles never straddle splits
  let kchunk = ((p.kdim + BK * SPLITK - 1u) / (BK * SPLITK)) * BK;
  let kbeg = wid.z * kchunk;
  let kend = min(kbeg + kchunk, p.kdim);
  for (var k0 = kbeg; k0 < kend; k0 += BK) {
    for (var r = 0u; r < 8u; r++) {
      let kb = brow + 2u * r;
      var v = 0.0;
      if (pvalid) { v = im2col(k0 + kb, bn, boy, box); }
      Bs[kb * BN + bcol] = v;
      let ka = acol + 2u * r;
      As[ka * BM + arow] = weight(o0 + arow, k0 + ka);
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
    let o = o0 + lid.y + 8u * i;
    if (o >= p.cout) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let px = pix0 + lid.x + 8u * j;
      if (px >= p.npix) { continue; }
      let n = px / p.pp;
      let idx = (n * p.cout + o) * p.pp + px % p.pp;
      var v = acc[i][j];
      if (SPLITK > 1u) {
        y[wid.z * p.npix * p.cout + idx] = v;
        continue;
      }
      if (BIAS && n < p.bias_batches) { v += bias[o]; }
      if (RES) { v += res[idx]; }
      y[idx] = v;
    }
  }
}

// Split-K epilogue: y[i] = sum of the SPLITK partials in x (the tiled pass's output) + bias + residual.
// grid: 64-invocation workgroups over n * cout * pp (x, then y past 65535): small workgroups, because the
// split convs are the small ones and their epilogue must still spread over every compute unit.
@compute @workgroup_size(64)
fn splitk_reduce(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let total = p.npix * p.cout;
  if (i >= total) { return; }
  var v = 0.0;
  for (var z = 0u; z < SPLITK; z++) { v += x[z * total + i]; }
  let n = i / (p.cout * p.pp);
  let o = (i / p.pp) % p.cout;
  if (BIAS && n < p.bias_batches) { v += bias[o]; }
  if (RES) { v += res[i]; }
  // wt is not read here, but naming it keeps it in the auto layout of the bindings both entries declare
  if (p.kdim == 0u) { v += wt[0]; }
  y[i] = v;
}
