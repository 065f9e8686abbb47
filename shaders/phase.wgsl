// Phase retrieval |F x_pad| with the centred orthonormal 2-D DFT of fastMRI's fft2c (ifftshift → fft2 →
// fftshift), as DPS's PhaseRetrievalOperator. Planes are l1×l2 = (h + 2 pad)×(w + 2 pad); complex grids
// are interleaved f32 (re, im). The shifts are folded into index maps:
//   grid k ← padded image t = (k + ⌊l/2⌋) mod l     (ifftshift before the transform)
//   output j ← grid k = (j + ⌈l/2⌉) mod l           (fftshift after it)
// Real input: planes 2q and 2q+1 share complex grid q (W = F(a + i b)); their spectra separate by
// Hermitian symmetry, A[k] = (W[k] + conj W[−k]) / 2, B[k] = (W[k] − conj W[−k]) / 2i.

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

fn shifted_pixel(c: u32, k1: u32, k2: u32) -> f32 {
  if (c >= p.planes) { return 0.0; }
  let t1 = (k1 + p.l1 / 2u) % p.l1;
  let t2 = (k2 + p.l2 / 2u) % p.l2;
  if (t1 >= p.pad && t1 < p.pad + p.h && t2 >= p.pad && t2 < p.pad + p.w) {
    return src[(c * p.h + t1 - p.pad) * p.w + t2 - p.pad];
  }
  return 0.0;
}

// x [planes, h, w] → grid [⌈planes/2⌉, l1, l2]: planes 2q, 2q+1 zero-padded and ifftshifted as re, im.
@compute @workgroup_size(256)
fn pack_shift(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let k2 = e % p.l2;
  let k1 = (e / p.l2) % p.l1;
  let q = e / (p.l1 * p.l2);
  dst[2u * e] = shifted_pixel(2u * q, k1, k2);
  dst[2u * e + 1u] = shifted_pixel(2u * q + 1u, k1, k2);
}

fn load_c(buf_index: u32) -> vec2f {
  return vec2f(src[2u * buf_index], src[2u * buf_index + 1u]);
}

// Spectrum of plane 2q + part at grid (k1, k2), from the packed grid in `src`.
fn split(q: u32, k1: u32, k2: u32, part: u32) -> vec2f {
  let base = q * p.l1;
  let w = load_c((base + k1) * p.l2 + k2);
  let m = load_c((base + (p.l1 - k1) % p.l1) * p.l2 + (p.l2 - k2) % p.l2);
  let mc = vec2f(m.x, -m.y);
  if (part == 0u) { return 0.5 * (w + mc); }
  let d = 0.5 * (w - mc);
  return vec2f(d.y, -d.x);   // d / i
}

// packed grid → y [planes, l1, l2] = |spectrum| fftshifted.
@compute @workgroup_size(256)
fn magnitude(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let j2 = e % p.l2;
  let j1 = (e / p.l2) % p.l1;
  let c = e / (p.l1 * p.l2);
  let k1 = (j1 + (p.l1 + 1u) / 2u) % p.l1;
  let k2 = (j2 + (p.l2 + 1u) / 2u) % p.l2;
  dst[e] = length(split(c / 2u, k1, k2, c % 2u));
}

// Cotangent of |·| at grid k of plane c: u[j(k)] · Z[k] / |Z[k]| (0 where Z = 0: torch's subgradient).
fn cotangent(c: u32, k1: u32, k2: u32, z: vec2f) -> vec2f {
  let m = length(z);
  if (c >= p.planes || m == 0.0) { return vec2f(0.0); }
  let j1 = (k1 + p.l1 / 2u) % p.l1;
  let j2 = (k2 + p.l2 / 2u) % p.l2;
  return z * (grid[(c * p.l1 + j1) * p.l2 + j2] / m);
}

// src = packed spectrum W, grid = u [planes, l1, l2] → dst = H_a + i·H_b with H = (G[k] + conj G[−k]) / 2
// (the Hermitian part of the cotangent G), so that the inverse FFT gives Re(Fᴴ G) of both planes at once.
@compute @workgroup_size(256)
fn vjp_weight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let k2 = e % p.l2;
  let k1 = (e / p.l2) % p.l1;
  let q = e / (p.l1 * p.l2);
  let n1 = (p.l1 - k1) % p.l1;
  let n2 = (p.l2 - k2) % p.l2;
  var h = array<vec2f, 2>(vec2f(0.0), vec2f(0.0));
  for (var part = 0u; part < 2u; part++) {
    let c = 2u * q + part;
    let g = cotangent(c, k1, k2, split(q, k1, k2, part));
    let gm = cotangent(c, n1, n2, split(q, n1, n2, part));
    h[part] = 0.5 * (g + vec2f(gm.x, -gm.y));
  }
  // H_a + i·H_b
  dst[2u * e] = h[0].x - h[1].y;
  dst[2u * e + 1u] = h[0].y + h[1].x;
}

// packed grid → real [planes, h, w]: part (c % 2) of grid c / 2, un-shifted and cropped.
@compute @workgroup_size(256)
fn unpack_real(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let j = e % p.w;
  let i = (e / p.w) % p.h;
  let c = e / (p.h * p.w);
  let k1 = (i + p.pad + (p.l1 + 1u) / 2u) % p.l1;
  let k2 = (j + p.pad + (p.l2 + 1u) / 2u) % p.l2;
  dst[e] = src[2u * (((c / 2u) * p.l1 + k1) * p.l2 + k2) + c % 2u];
}
