// Linear layer for CPU SIMD adapters (lavapipe); same contract as linear.wgsl. One workgroup = one
// 8-lane group. Every storage load is a per-lane loop on lavapipe (see conv2d-sg.wgsl), so each weight
// is loaded once, as part of a vec4, by the lane that owns its output, and the other operand is loaded
// once per group and shared by subgroup shuffles. Rows are processed NB at a time (NB = 1, 2, 4 or 8).
enable subgroups;

// Interface in src/engine/ops/linear.ts: fwd reads x4, w4, bias and writes y; trans reads x1, w4, writes y4.
//#interface

override SILU: bool = false;
override SG8: bool = true;
override NB: u32 = 8u;

var<private> sgbase: u32;

fn bc(v: f32, j: u32) -> f32 {
  if (SG8) { return subgroupShuffle(v, j); }
  return subgroupShuffle(v, sgbase | j);
}

fn act(v: vec4f) -> vec4f {
  if (SILU) { return v / (1.0 + exp(-v)); }
  return v;
}

// y[n, o] = sum_k act(x[n, k]) W[o, k]; needs cin % 4 == 0. Lane L owns o = 8 * wid.x + L; per step of
// 32 inputs it loads its 8 weight vec4s and one x vec4 per row (x[n, k0 + 4L .. k0 + 4L + 3]).
// grid: (ceil(cout / 8), ceil(n / NB))
@compute @workgroup_size(8)
fn fwd(@builtin(subgroup_invocation_id) sl: u32, @builtin(workgroup_id) wid: vec3u) {
  sgbase = sl & ~7u;
  let lane = sl & 7u;
  let o = min(wid.x * 8u + lane, p.cout - 1u);
  let n0 = wid.y * NB;
  let c4 = p.cin / 4u;
  var acc: array<f32, 8>;
  for (var k4 = 0u; k4 < c4; k4 += 8u) {
    var xv: array<vec4f, 8>;
    for (var r = 0u; r < NB; r++) {
      let n = min(n0 + r, p.n - 1u);
      xv[r] = select(vec4f(0.0), act(x4[n * c4 + min(k4 + lane, c4 - 1u)]), k4 + lane < c4);
    }
    for (var j = 0u; j < 8u; j++) {
      let w = select(vec4f(0.0), w4[o * c4 + min(k4 + j, c4 - 1u)], k4 + j < c4);
      for (var r = 0u; r < NB; r++) {
        acc[r] += bc(xv[r].x, j) * w.x + bc(xv[r].y, j) * w.y + bc(xv[r].z, j) * w.z + bc(xv[r].w, j) * w.w;
      }
    }
  }
  if (wid.x * 8u + lane >= p.cout) { return; }
  for (var r = 0u; r < NB; r++) {
    let n = n0 + r;
    if (n < p.n) {
      var v = acc[r];
      if (BIAS && n < p.bias_batches) { v += bias[o]; }
      y[n * p.cout + o] = v;
    }
  }
}

// y[n, i] = sum_o x[n, o] W[o, i] (input gradient; here cin = Cout of W, cout = its Cin, cout % 4 == 0).
// Lane L owns outputs i = 32 * wid.x + 4L .. + 3; per step of 8 o's it loads one x value per row and
// 8 weight vec4s.
// grid: (ceil(cout / 32), ceil(n / NB))
@compute @workgroup_size(8)
fn trans(@builtin(subgroup_invocation_id) sl: u32, @builtin(workgroup_id) wid: vec3u) {
  sgbase = sl & ~7u;
  let lane = sl & 7u;
  let c4 = p.cout / 4u;
  let i4 = min(wid.x * 8u + lane, c4 - 1u);
  let n0 = wid.y * NB;
  var acc: array<vec4f, 8>;
  for (var o0 = 0u; o0 < p.cin; o0 += 8u) {
    var xv: array<f32, 8>;
    for (var r = 0u; r < NB; r++) {
      let n = min(n0 + r, p.n - 1u);
      xv[r] = select(0.0, x1[n * p.cin + min(o0 + lane, p.cin - 1u)], o0 + lane < p.cin);
    }
    for (var j = 0u; j < 8u; j++) {
      let w = w4[min(o0 + j, p.cin - 1u) * c4 + i4];
      for (var r = 0u; r < NB; r++) { acc[r] += bc(xv[r], j) * w; }
    }
  }
  if (wid.x * 8u + lane >= c4) { return; }
  for (var r = 0u; r < NB; r++) {
    let n = n0 + r;
    if (n < p.n) { y4[n * c4 + i4] = acc[r]; }
  }
}
