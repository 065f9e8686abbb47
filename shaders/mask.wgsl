// Masks and index permutations (inpainting operator, SVD spectral layouts).

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// dst[n, q] = src[n, idx[q]], or 0 where idx[q] = 0xffffffff (scatter into zeros = gather with holes).
@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let n = e / p.per_out;
  let id = aux[e % p.per_out];
  var v = 0.0;
  if (id != 0xffffffffu) { v = src[n * p.per_in + id]; }
  dst[e] = v;
}

// dst = src ⊙ mask, the mask (length per_out) repeated over the leading axes (channels, batch).
@compute @workgroup_size(256)
fn apply_mask(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  dst[e] = src[e] * bitcast<f32>(aux[e % p.per_out]);
}
