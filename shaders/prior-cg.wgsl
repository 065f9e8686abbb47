// Batched conjugate-gradient updates with one CG instance per row (image): the step sizes are ratios of
// per-row dot products that stay on the GPU (no read-back per iteration). A zero denominator (a converged
// row) gives a zero step.

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

fn ratio(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 0.0; }
  return a / b;
}

// x += α p, r −= α q, α = rz[row] / pq[row]

@compute @workgroup_size(256)
fn cg_update_xr(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  let row = i / p.n;
  let a = ratio(xr_rz[row], xr_pq[row]);
  xr_x[i] += a * xr_p[i];
  xr_r[i] -= a * xr_q[i];
}

// p = z + β p, β = rzNew[row] / rz[row]

@compute @workgroup_size(256)
fn cg_update_p(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  let row = i / p.n;
  pp_p[i] = pp_z[i] + ratio(pp_new[row], pp_old[row]) * pp_p[i];
}
