// A small dense matrix applied along one image axis of a stack of planes: the separable bicubic
// resize (DPS's Resizer) and its adjoint / pseudo-inverse, and the 1-D factors of separable SVDs.
// Rows of M are banded: row o has non-zeros only in [band[2o], band[2o+1]) (full rows for SVD factors).

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// out[b, o, w] = Σ_h M[o, h] x[b, h, w]   (x: [planes, n_in, other])
@compute @workgroup_size(256)
fn along_h(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let w = e % p.other;
  let o = (e / p.other) % p.n_out;
  let b = e / (p.other * p.n_out);
  let xb = b * p.n_in * p.other + w;
  var s = 0.0;
  for (var h = band[2u * o]; h < band[2u * o + 1u]; h++) { s += m[o * p.n_in + h] * x[xb + h * p.other]; }
  out[e] = s;
}

// out[b, h, o] = Σ_w M[o, w] x[b, h, w]   (x: [planes, other, n_in])
@compute @workgroup_size(256)
fn along_w(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let o = e % p.n_out;
  let row = e / p.n_out;   // b * other + h
  let xb = row * p.n_in;
  var s = 0.0;
  for (var w = band[2u * o]; w < band[2u * o + 1u]; w++) { s += m[o * p.n_in + w] * x[xb + w]; }
  out[e] = s;
}
