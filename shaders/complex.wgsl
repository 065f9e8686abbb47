// Elementwise complex helpers for the FFT operators (interleaved vec2f = re, im).

struct Params {
  n: u32,      // complex elements to process
  per: u32,    // elements per plane (filter length)
  conj: u32,   // 1: use conj(filter)
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> data: array<vec2f>;
@group(0) @binding(2) var<storage, read> filt: array<vec2f>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// data[i] *= filter[i % per]  (or conj(filter))
@compute @workgroup_size(256)
fn mul_filter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  var f = filt[i % p.per];
  if (p.conj == 1u) { f.y = -f.y; }
  let a = data[i];
  data[i] = vec2f(a.x * f.x - a.y * f.y, a.x * f.y + a.y * f.x);
}
