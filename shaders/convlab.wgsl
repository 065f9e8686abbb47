enable subgroups;
struct Params { iters: u32, stride: u32, a: u32, b: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// pure register FMAs: 16 scalar accumulators
@compute @workgroup_size(64)
fn fma_only(@builtin(global_invocation_id) gid: vec3u) {
  var acc: array<vec4f, 4>;
  let s = f32(gid.x) * 1e-3;
  var a = vec4f(s, s + 1.0, s + 2.0, s + 3.0);
  for (var c = 0u; c < 4u; c++) { acc[c] = vec4f(f32(c) + src[0]); }
  for (var i = 0u; i < p.iters; i++) {
    let w = f32(i) * 1e-6;
    acc[0] += a * vec4f(w);
    acc[1] += a * vec4f(w + 1.0);
    acc[2] += a * vec4f(w + 2.0);
    acc[3] += a * vec4f(w + 3.0);
  }
  dst[gid.x] = acc[0].x + acc[1].y + acc[2].z + acc[3].w;
}

// uniform loads of weights + divergent loads of x
@compute @workgroup_size(64)
fn uni_div(@builtin(global_invocation_id) gid: vec3u) {
  var acc: array<vec4f, 4>;
  for (var c = 0u; c < 4u; c++) { acc[c] = vec4f(0.0); }
  for (var i = 0u; i < p.iters; i++) {
    let xb = (i * p.stride + gid.x) & 0xffffu;
    let a = vec4f(src[xb], src[xb + 1u], src[xb + 2u], src[xb + 3u]);
    let wb = (i * 4u) & 0xffffu;
    acc[0] += a * vec4f(src[wb]);
    acc[1] += a * vec4f(src[wb + 1u]);
    acc[2] += a * vec4f(src[wb + 2u]);
    acc[3] += a * vec4f(src[wb + 3u]);
  }
  dst[gid.x] = acc[0].x + acc[1].y + acc[2].z + acc[3].w;
}

