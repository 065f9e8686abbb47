// Measurement log-likelihood gradients with respect to the predicted measurement a = A(x).

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// ∂/∂a log Poisson(k | λ(a)) with k = (y+1)/2·s, λ = clamp((a+1)/2, 0, 1)·s (DPS's rate model):
// (k/λ − 1)·s/2 inside (−1, 1), 0 where the clamp is active.
@compute @workgroup_size(256)
fn poisson_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.n) { return; }
  let t = (a[e] + 1.0) * 0.5;
  var g = 0.0;
  if (t > 0.0 && t < 1.0) {
    let k = max((y[e] + 1.0) * 0.5, 0.0) * p.scale;
    let lam = max(t * p.scale, p.floor_);
    g = (k / lam - 1.0) * p.scale * 0.5;
  }
  out[e] = g;
}
