// Batched dense matrix-vector products for the lab's small linear operators: out[n, i] = Σⱼ A[i, j] x[n, j].
// One invocation per output element (count = N·rows); rows are short (≤ a few hundred), no barriers.

struct Params {
  count: u32,
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

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
