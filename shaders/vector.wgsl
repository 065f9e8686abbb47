// Level-1 vector math on flat f32 tensors (sampler updates, residual adds, norms).
// Grid: 1-D, 256 lanes per workgroup, 4 elements per lane for the elementwise entries.

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// out = a*x + b*out   (in place on `out`)
@compute @workgroup_size(256)
fn axpby(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i < p.n) { out[i] = p.a * x[i] + p.b * out[i]; }
}

// out = clamp(a*x + b, c, d)
@compute @workgroup_size(256)
fn affine_clamp(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i < p.n) { out[i] = clamp(p.a * x[i] + p.b, p.c, p.d); }
}

// out = out * x
@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i < p.n) { out[i] = out[i] * x[i]; }
}

// out = x  (copy)
@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i < p.n) { out[i] = x[i]; }
}

//#include tree-reduce

// out[row] = a * sum_j x[row*n + j]^2 ... one workgroup per row (grid.x = rows).
@compute @workgroup_size(256)
fn row_sumsq(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let base = wid.x * p.n;
  var s = 0.0;
  for (var j = lid.x; j < p.n; j += 256u) { let v = x[base + j]; s += v * v; }
  partial[lid.x] = s;
  workgroupBarrier();
  tree_reduce(lid.x);
  if (lid.x == 0u) { out[wid.x] = partial[0]; }
}
