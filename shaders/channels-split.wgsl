// Adjoint of the channel concatenation: take channels [c0, c0+cn) of x [batch, ctot, hw].
//#interface

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let per = p.cn * p.hw;
  if (i >= p.batch * per) { return; }
  let n = i / per;
  let r = i % per;
  out[i] = x[(n * p.ctot + p.c0) * p.hw + r];
}
