// SiLU (x * sigmoid(x)) for K stacked forward-mode components, and its VJP.
// Layout: x is [K*M] as K blocks of M = size/K elements (component k of element i at k*M + i), which is
// the batch stacking [K*N, ...] of the engine seen flat.

// ---- hyper-dual helpers (kept identical in groupnorm/activation/attention .wgsl; test checks) ----
// A hyper-dual number p + a e1 + b e2 + c e1e2 (e1^2 = e2^2 = 0) is a vec4f (p, a, b, c).
// K = 1: plain f32 (only p), K = 2: dual number (p, a), K = 4: all four components. The K tests are
// constants at pipeline creation, so the unused arithmetic folds away.
override K: u32 = 1u;

fn hd_mul(x: vec4f, y: vec4f) -> vec4f {
  if (K == 1u) { return vec4f(x.x * y.x, 0.0, 0.0, 0.0); }
  if (K == 2u) { return vec4f(x.x * y.x, x.x * y.y + x.y * y.x, 0.0, 0.0); }
  return vec4f(x.x * y.x, x.x * y.y + x.y * y.x, x.x * y.z + x.z * y.x,
               x.x * y.w + x.y * y.z + x.z * y.y + x.w * y.x);
}

// f(x) for a scalar f, given f(p), f'(p), f''(p): (f, f' a, f' b, f' c + f'' a b)
fn hd_apply(x: vec4f, f0: f32, f1: f32, f2: f32) -> vec4f {
  if (K == 1u) { return vec4f(f0, 0.0, 0.0, 0.0); }
  if (K == 2u) { return vec4f(f0, f1 * x.y, 0.0, 0.0); }
  return vec4f(f0, f1 * x.y, f1 * x.z, f1 * x.w + f2 * x.y * x.z);
}

fn hd_scale(x: vec4f, s: f32) -> vec4f {
  if (K == 1u) { return vec4f(x.x * s, 0.0, 0.0, 0.0); }
  if (K == 2u) { return vec4f(x.x * s, x.y * s, 0.0, 0.0); }
  return x * s;
}

// silu(p) = p s, s = sigmoid(p); silu' = s (1 + p (1 - s)); silu'' = s (1 - s) (2 + p (1 - 2 s))
fn hd_silu(x: vec4f) -> vec4f {
  let p = x.x;
  let s = 1.0 / (1.0 + exp(-p));
  return hd_apply(x, p * s, s * (1.0 + p * (1.0 - s)), s * (1.0 - s) * (2.0 + p * (1.0 - 2.0 * s)));
}

fn hd_exp(x: vec4f) -> vec4f {
  let e = exp(x.x);
  return hd_apply(x, e, e, e);
}

fn hd_inv(x: vec4f) -> vec4f {
  let r = 1.0 / x.x;
  return hd_apply(x, r, -r * r, 2.0 * r * r * r);
}
// ---- end of hyper-dual helpers ----

struct Params {
  M: u32,   // elements per component
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// silu
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
// silu_backward
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;
// silu4, silu_backward4: the same on vec4s (M % 4 == 0; p.M counts vec4s). On lavapipe every load is a
// per-lane loop and a vec4 costs ~2.5 scalar loads: 2.5x (K = 1) to 1.7x (K = 4) less CPU time on
// 8M elements (bench/nonlinear.bench.ts).
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4f>;
@group(0) @binding(2) var<storage, read> gy4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> gx4: array<vec4f>;

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
