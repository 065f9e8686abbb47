// Phase retrieval |F x_pad| with the centred orthonormal 2-D DFT of fastMRI's fft2c (ifftshift → fft2 →
// fftshift), as DPS's PhaseRetrievalOperator. Planes are l1×l2 = (h + 2 pad)×(w + 2 pad); complex grids
// are interleaved f32 (re, im). The shifts are folded into index maps:
//   grid k ← padded image t = (k + ⌊l/2⌋) mod l     (ifftshift before the transform)
//   output j ← grid k = (j + ⌈l/2⌉) mod l           (fftshift after it)

struct Params {
  total: u32,
  h: u32,
  w: u32,
  pad: u32,
  l1: u32,
  l2: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// x [planes, h, w] → grid [planes, l1, l2] complex: zero-padded, ifftshifted, imaginary part 0.
@compute @workgroup_size(256)
fn pack_shift(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let k2 = e % p.l2;
  let k1 = (e / p.l2) % p.l1;
  let c = e / (p.l1 * p.l2);
  let t1 = (k1 + p.l1 / 2u) % p.l1;
  let t2 = (k2 + p.l2 / 2u) % p.l2;
  var v = 0.0;
  if (t1 >= p.pad && t1 < p.pad + p.h && t2 >= p.pad && t2 < p.pad + p.w) {
    v = src[(c * p.h + t1 - p.pad) * p.w + t2 - p.pad];
  }
  dst[2u * e] = v;
  dst[2u * e + 1u] = 0.0;
}

// grid → y [planes, l1, l2] = |grid| fftshifted.
@compute @workgroup_size(256)
fn magnitude(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let j2 = e % p.l2;
  let j1 = (e / p.l2) % p.l1;
  let c = e / (p.l1 * p.l2);
  let k1 = (j1 + (p.l1 + 1u) / 2u) % p.l1;
  let k2 = (j2 + (p.l2 + 1u) / 2u) % p.l2;
  let g = (c * p.l1 + k1) * p.l2 + k2;
  dst[e] = length(vec2f(src[2u * g], src[2u * g + 1u]));
}

// In place on the grid (dst): Z[k] ← u[j(k)] · Z[k] / |Z[k]| (0 where Z = 0: torch's abs subgradient),
// the cotangent of |·| before the inverse transform.
@compute @workgroup_size(256)
fn vjp_weight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let k2 = e % p.l2;
  let k1 = (e / p.l2) % p.l1;
  let c = e / (p.l1 * p.l2);
  let j1 = (k1 + p.l1 / 2u) % p.l1;
  let j2 = (k2 + p.l2 / 2u) % p.l2;
  let u = src[(c * p.l1 + j1) * p.l2 + j2];
  let z = vec2f(dst[2u * e], dst[2u * e + 1u]);
  let m = length(z);
  var g = vec2f(0.0);
  if (m > 0.0) { g = z * (u / m); }
  dst[2u * e] = g.x;
  dst[2u * e + 1u] = g.y;
}

// grid → real [planes, h, w]: real part, un-shifted and cropped (adjoint of pack_shift).
@compute @workgroup_size(256)
fn unpack_real(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let j = e % p.w;
  let i = (e / p.w) % p.h;
  let c = e / (p.h * p.w);
  let k1 = (i + p.pad + (p.l1 + 1u) / 2u) % p.l1;
  let k2 = (j + p.pad + (p.l2 + 1u) / 2u) % p.l2;
  dst[e] = src[2u * ((c * p.l1 + k1) * p.l2 + k2)];
}
