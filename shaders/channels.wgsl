// Channel bookkeeping on NCHW tensors: the UNet's skip concatenation (and its adjoint, the split) and
// the per-image channel bias that adds the timestep embedding when scale-shift norm is off.

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// out [batch, ca+cb, hw] = cat(a [batch, ca, hw], b [batch, cb, hw], dim=1)
@compute @workgroup_size(256)
fn concat(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let per = (p.ca + p.cb) * p.hw;
  if (i >= p.batch * per) { return; }
  let n = i / per;
  let r = i % per;
  let c = r / p.hw;
  let s = r % p.hw;
  if (c < p.ca) {
    out[i] = a[(n * p.ca + c) * p.hw + s];
  } else {
    out[i] = b[(n * p.cb + (c - p.ca)) * p.hw + s];
  }
}

// out [batch, C=ca, hw] = a + b[n % primal... ] : a [batch, C, hw], b [primal, C] added to images n < primal
@compute @workgroup_size(256)
fn add_channel_bias(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let per = p.ca * p.hw;
  if (i >= p.batch * per) { return; }
  let n = i / per;
  let c = (i % per) / p.hw;
  var v = a[i];
  if (n < p.primal) { v += b[n * p.ca + c]; }
  out[i] = v;
}
