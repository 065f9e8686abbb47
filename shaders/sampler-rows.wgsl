// Per-image ("row") arithmetic for the samplers: every image of a batch gets its own scalar (its own
// residual norm, CG step length, …) without a round trip to the CPU. A row is `per` consecutive elements;
// `c` holds one scalar per row. Also strided copies and a small dense matvec.

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// out = a·c[row]·x
@compute @workgroup_size(256)
fn row_scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  out[i] = p.a * c[i / p.per] * x[i];
}

// out += a·c[row]·x
@compute @workgroup_size(256)
fn row_axpy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  out[i] = out[i] + p.a * c[i / p.per] * x[i];
}

// Per-row scalars from two per-row inputs s1 (= x) and s2 (= c); total = rows.
//   mode 0: a·s1/s2, 0 where |s2| ≤ b          (ratios)
//   mode 1: a·s1/sqrt(max(s2, b))              (weight / norm from a sum of squares)
//   mode 2: a·sqrt(max(s1, 0))                 (norm from a sum of squares)
//   mode 3: a·sqrt(max(s1, 0))/max(sqrt(s2), b) (ratio of two norms)
@compute @workgroup_size(64)
fn coef(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  if (n >= p.total) { return; }
  let s1 = x[n];
  let s2 = c[n];
  var v = 0.0;
  switch (p.mode) {
    case 0u: { if (abs(s2) > p.b) { v = p.a * s1 / s2; } }
    case 1u: { v = p.a * s1 / sqrt(max(s2, p.b)); }
    case 2u: { v = p.a * sqrt(max(s1, 0.0)); }
    default: { v = p.a * sqrt(max(s1, 0.0)) / max(sqrt(max(s2, 0.0)), p.b); }
  }
  out[n] = v;
}

// copy_dst[aux2 + i] = x[aux + i] for i < total (batch assembly at any element offset).
@compute @workgroup_size(256)
fn copy_range(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  copy_dst[p.aux2 + i] = x[p.aux + i];
}

// Spectral multiply with zero padding: w [N, rank] (x), singular values s [rank] (c) → out [N, D]
//   out[n, j] = w[n, j]·s_j^mode/(a·s_j² + b) for j < rank, 0 beyond (0 where the denominator is 0).
// total = N·D, per = rank, aux = D.
@compute @workgroup_size(256)
fn spectral_lift(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  let n = i / p.aux;
  let j = i % p.aux;
  if (j >= p.per) { out[i] = 0.0; return; }
  let s = c[j];
  let den = p.a * s * s + p.b;
  var num = x[n * p.per + j];
  if (p.mode == 1u) { num = num * s; }
  if (den == 0.0) { out[i] = 0.0; } else { out[i] = num / den; }
}

// Dense y[n, r] = a·Σ_k A[r, k]·v[n, k] for tiny problems (tests, low-dimensional priors). x = A [rows, per],
// c = v [N, per], out = y [N, rows]; total = N·rows, per = cols, aux = rows. mode 1: use Aᵀ (A is [per, aux]).
@compute @workgroup_size(64)
fn matvec(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.total) { return; }
  let n = i / p.aux;
  let r = i % p.aux;
  var s = 0.0;
  for (var k = 0u; k < p.per; k++) {
    var a = 0.0;
    if (p.mode == 1u) { a = x[k * p.aux + r]; } else { a = x[r * p.per + k]; }
    s += a * c[n * p.per + k];
  }
  out[i] = p.a * s;
}

// fill_out[i] = a
@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  fill_out[i] = p.a;
}
