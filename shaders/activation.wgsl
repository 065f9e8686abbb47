// SiLU (x * sigmoid(x)) for K stacked forward-mode components, and its VJP.
// Layout: x is [K*M] as K blocks of M = size/K elements (component k of element i at k*M + i), which is
// the batch stacking [K*N, ...] of the engine seen flat.

//#include hyperdual

// Interface (uniform M: elements per component; silu4 and silu_backward4 count vec4s) declared in
// src/engine/ops/activation.ts. The vec4 entries read x4 / gy4 and write out4 / gx4: on lavapipe every load
// is a per-lane loop and a vec4 costs ~2.5 scalar loads: 2.5x (K = 1) to 1.7x (K = 4) less CPU time on
// 8M elements (bench/nonlinear.bench.ts).
//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

@compute @workgroup_size(256)
fn silu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.M) { return; }
  var v = vec4f(x[i], 0.0, 0.0, 0.0);
  if (K >= 2u) { v.y = x[p.M + i]; }
  if (K == 4u) { v.z = x[2u * p.M + i]; v.w = x[3u * p.M + i]; }
  let y = hd_silu(v);
  out[i] = y.x;
  if (K >= 2u) { out[p.M + i] = y.y; }
  if (K == 4u) { out[2u * p.M + i] = y.z; out[3u * p.M + i] = y.w; }
}

// gx = gy * silu'(x)
@compute @workgroup_size(256)
fn silu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.M) { return; }
  let v = x[i];
  let s = 1.0 / (1.0 + exp(-v));
  gx[i] = gy[i] * s * (1.0 + v * (1.0 - s));
}

@compute @workgroup_size(256)
fn silu4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.M) { return; }
  // element-wise hd_silu on four elements: X[k] = component k of the four
  var X = mat4x4f(x4[i], vec4f(0.0), vec4f(0.0), vec4f(0.0));
  if (K >= 2u) { X[1] = x4[p.M + i]; }
  if (K == 4u) { X[2] = x4[2u * p.M + i]; X[3] = x4[3u * p.M + i]; }
  let v = X[0];
  let s = 1.0 / (1.0 + exp(-v));
  out4[i] = v * s;
  if (K >= 2u) {
    let f1 = s * (1.0 + v * (1.0 - s));
    out4[p.M + i] = f1 * X[1];
    if (K == 4u) {
      let f2 = s * (1.0 - s) * (2.0 + v * (1.0 - 2.0 * s));
      out4[2u * p.M + i] = f1 * X[2];
      out4[3u * p.M + i] = f1 * X[3] + f2 * X[1] * X[2];
    }
  }
}

@compute @workgroup_size(256)
fn silu_backward4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.M) { return; }
  let v = x4[i];
  let s = 1.0 / (1.0 + exp(-v));
  gx4[i] = gy4[i] * s * (1.0 + v * (1.0 - s));
}
