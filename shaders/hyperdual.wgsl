// Hyper-dual arithmetic, shared by the nonlinear kernels (spliced into them by the include directive of
// src/engine/shaders.ts).
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
