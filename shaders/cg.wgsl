// Batched conjugate gradients, one independent system per row (image), with every scalar kept on the GPU
// so an iteration needs no read-back (src/operators/cg.ts; used by the operators' pseudo-inverses, the
// samplers' solves and the validation lab's exact guidance).

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// a/b, or 0 when b is not a positive finite number (a converged row stays put)
fn ratio(a: f32, b: f32) -> f32 {
  if (!(b > 0.0) || b > 3.0e38) { return 0.0; }
  return a / b;
}

// Step length per row: α = rᵀz / pᵀAp, 0 for a converged row (rᵀz = 0). A row whose pᵀAp is not positive
// (CURV: whose Rayleigh quotient pᵀAp/pᵀp is not above curv, e.g. a network Hessian that is not definite
// along p) is frozen: α = 0 from then on, keeping its iterate. total = rows.
@compute @workgroup_size(64)
fn cg_alpha(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  if (n >= p.total) { return; }
  let rz = rz_in[n];
  let pap = pap_in[n];
  var f = frozen[n];
  var a = 0.0;
  if (f == 0.0 && rz > 0.0 && rz <= 3.0e38) {
    var bound = 0.0;
    if (CURV) { bound = p.curv * pp[n]; }
    if (pap > bound && pap <= 3.0e38) { a = rz / pap; } else { f = 1.0; }
  }
  frozen[n] = f;
  alpha_out[n] = a;
}

// x += α p, r −= α Ap. total = rows · per.
@compute @workgroup_size(256)
fn cg_update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  let a = alpha[i / p.per];
  x[i] += a * dir[i];
  r[i] -= a * ap[i];
}

// p = z + β p, β = rᵀz (new) / rᵀz (old). total = rows · per.
@compute @workgroup_size(256)
fn cg_direction(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  let row = i / p.per;
  dir_out[i] = z[i] + ratio(rz_new[row], rz_old[row]) * dir_out[i];
}
