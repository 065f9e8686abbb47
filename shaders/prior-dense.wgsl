// Batched dense matrix-vector products for the lab's small linear operators: out[n, i] = Σⱼ A[i, j] x[n, j].
// One invocation per output element (count = N·rows); rows are short (≤ a few hundred), no barriers.

//#interface

@compute @workgroup_size(256)
fn matvec(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= p.count) { return; }
  let i = idx % p.rows;
  let n = idx / p.rows;
  var acc = 0.0;
  for (var j = 0u; j < p.cols; j++) { acc += a[i * p.cols + j] * x[n * p.cols + j]; }
  out[idx] = acc;
}
