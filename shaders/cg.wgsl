// Conjugate-gradient vector updates with the step sizes kept on the GPU (one scalar per batch row), so a
// CG solve runs without reading anything back.

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// num/den, or 0 when den is not a positive finite number (converged rows stay put)
fn ratio(row: u32) -> f32 {
  let d = den[row];
  if (!(d > 0.0) || d > 3.0e38) { return 0.0; }
  return num[row] / d;
}

// α = num/den (r·r / p·Ap): x += α p (a), r −= α Ap (b)
@compute @workgroup_size(256)
fn cg_update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  let al = ratio(e / p.per);
  xv[e] += al * a[e];
  rv[e] -= al * b[e];
}

// β = num/den (r_new·r_new / r_old·r_old): p (b) = r (a) + β p
@compute @workgroup_size(256)
fn cg_direction(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.total) { return; }
  b[e] = a[e] + ratio(e / p.per) * b[e];
}
