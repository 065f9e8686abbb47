// Adjoint of the channel concatenation: take channels [c0, c0+cn) of x [batch, ctot, hw].
struct Params {
  batch: u32,
  ctot: u32,
  c0: u32,
  cn: u32,
  hw: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let per = p.cn * p.hw;
  if (i >= p.batch * per) { return; }
  let n = i / per;
  let r = i % per;
  out[i] = x[(n * p.ctot + p.c0) * p.hw + r];
}
