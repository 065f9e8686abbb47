// Two-input vector ops: out = f(x, y).
//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// out = a*x + b*y
@compute @workgroup_size(256)
fn lincomb(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i < p.n) { out[i] = p.a * x[i] + p.b * y[i]; }
}

//#include tree-reduce

// out[row] = sum_j x[row*n+j] * y[row*n+j], one workgroup per row.
@compute @workgroup_size(256)
fn row_dot(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let base = wid.x * p.n;
  var s = 0.0;
  for (var j = lid.x; j < p.n; j += 256u) { s += x[base + j] * y[base + j]; }
  partial[lid.x] = s;
  workgroupBarrier();
  tree_reduce(lid.x);
  if (lid.x == 0u) { out[wid.x] = partial[0]; }
}
