// Elementwise complex helpers for the FFT operators (interleaved vec2f = re, im).

//#interface

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
