// GroupNorm (guided-diffusion GroupNorm32: biased variance, eps inside the sqrt) with ADM's optional
// scale-shift (out = GN(x)*(1+scale) + shift) and fused SiLU, for K stacked forward-mode components.
//
// Layout: x is [K*N, C, S] (S = H*W or T), component k of image n at batch index k*N + n, so component k
// of flat element i (i < N*C*S) is x[k*cs + i] with cs = N*C*S. A group of image n is the contiguous
// range of L = (C/G)*S elements at n*C*S + g*L in every component.
//
// Three dispatches (see src/engine/ops/groupnorm.ts):
//   gn_stats    grid [nChunks, N*G]: per CHUNK of a group, its hyper-dual mean m_j and centred
//               second moment Q_j = sum (x - m_j)^2, in one pass of sums around a shift (the chunk's
//               first element): Q_j = sum (x - sh)^2 - n (m_j - sh)^2, which cancels little because
//               the shift is a sample, unlike the raw E[x^2] - mu^2 (one tree reduction, no registers)
//   gn_finalize one lane per (n, g): Chan's merge of the chunks, then mu and r = (var + eps)^(-1/2)
//   gn_apply    one lane per element, grid [S/256, N*C]: y = (x - mu) r, affine, scale-shift, SiLU
// Hyper-dual arithmetic is a commutative ring, so the textbook variance algebra (and Chan's merge)
// carries over unchanged to all four components; docs/autodiff.md has the derivation.
//
// Bindings: entry points use different storage variables at the same binding numbers (each entry
// point's auto layout only sees what it uses; the executor binds 1..n in order).

//#include hyperdual

const WG: u32 = 256u;
const E: u32 = 32u;           // elements per lane per chunk
const CHUNK: u32 = WG * E;    // must equal GN_CHUNK in src/engine/ops/groupnorm.ts

override SILU: bool = false;

// Interface (uniforms, bindings per entry) in src/engine/ops/groupnorm.ts.
//#interface

fn ld_x(i: u32) -> vec4f {
  var v = vec4f(x[i], 0.0, 0.0, 0.0);
  if (K >= 2u) { v.y = x[p.cs + i]; }
  if (K == 4u) { v.z = x[2u * p.cs + i]; v.w = x[3u * p.cs + i]; }
  return v;
}

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

var<workgroup> red: array<vec4f, WG>;
var<workgroup> red2: array<vec4f, WG>;

// Sums of red[0..256) and red2[0..256) into red[0], red2[0]. Unrolled: lavapipe crashes on barriers
// inside a loop.
fn tree_sum2(l: u32) {
  if (l < 128u) { red[l] += red[l + 128u]; red2[l] += red2[l + 128u]; }
  workgroupBarrier();
  if (l < 64u) { red[l] += red[l + 64u]; red2[l] += red2[l + 64u]; }
  workgroupBarrier();
  if (l < 32u) { red[l] += red[l + 32u]; red2[l] += red2[l + 32u]; }
  workgroupBarrier();
  if (l < 16u) { red[l] += red[l + 16u]; red2[l] += red2[l + 16u]; }
  workgroupBarrier();
  if (l < 8u) { red[l] += red[l + 8u]; red2[l] += red2[l + 8u]; }
  workgroupBarrier();
  if (l < 4u) { red[l] += red[l + 4u]; red2[l] += red2[l + 4u]; }
  workgroupBarrier();
  if (l < 2u) { red[l] += red[l + 2u]; red2[l] += red2[l + 2u]; }
  workgroupBarrier();
  if (l < 1u) { red[l] += red[l + 1u]; red2[l] += red2[l + 1u]; }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn gn_stats(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let l = lid.x;
  let chunk = wid.x;
  let ng = wid.y;
  let base = (ng / p.G) * p.C * p.S + (ng % p.G) * p.L;
  let start = chunk * CHUNK;
  let cnt = min(CHUNK, p.L - start);
  // One pass around a shift: the chunk's first element (within a few sigma of the mean, so the
  // correction below cancels little).
  let sh = ld_x(base + start);
  var s = vec4f(0.0);
  var q = vec4f(0.0);
  for (var j = 0u; j < E; j++) {
    let o = start + j * WG + l;
    if (o < p.L) { let d = ld_x(base + o) - sh; s += d; q += hd_mul(d, d); }
  }
  red[l] = s;
  red2[l] = q;
  workgroupBarrier();
  tree_sum2(l);
  if (l == 0u) {
    let n = f32(cnt);
    let dm = red[0] / n;          // chunk mean - shift
    let o = (ng * p.nChunks + chunk) * 2u;
    part[o] = sh + dm;
    part[o + 1u] = red2[0] - n * hd_mul(dm, dm);
  }
}

@compute @workgroup_size(WG)
fn gn_finalize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let ng = flat(gid, nwg);
  if (ng >= p.N * p.G) { return; }
  let b = ng * p.nChunks * 2u;
  let L = f32(p.L);
  var mu = vec4f(0.0);
  for (var j = 0u; j < p.nChunks; j++) {
    mu += f32(min(CHUNK, p.L - j * CHUNK)) * fin_part[b + 2u * j];
  }
  mu /= L;
  // Chan's merge: sum (x - mu)^2 = sum_j [Q_j + n_j (m_j - mu)^2]  (the cross term sums to zero)
  var q = vec4f(0.0);
  for (var j = 0u; j < p.nChunks; j++) {
    let d = fin_part[b + 2u * j] - mu;
    q += fin_part[b + 2u * j + 1u] + f32(min(CHUNK, p.L - j * CHUNK)) * hd_mul(d, d);
  }
  let v = q / L;
  // r = (v + eps)^(-1/2): f' = -r^3 / 2, f'' = 3 r^5 / 4 (max: rounding must not make var negative)
  let r = inverseSqrt(max(v.x, 0.0) + p.eps);
  let r3 = r * r * r;
  fin_stats[2u * ng] = mu;
  fin_stats[2u * ng + 1u] = hd_apply(v, r, -0.5 * r3, 0.75 * r3 * r * r);
}

// grid [ceil(S / WG), N*C]: the channel comes from the workgroup, so no lane divides (lavapipe runs
// integer division one lane at a time).
@compute @workgroup_size(WG)
fn gn_apply(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let sp = gid.x;
  if (sp >= p.S) { return; }
  let nc = wid.y;
  let c = nc % p.C;
  let n = nc / p.C;
  let i = nc * p.S + sp;
  let ng = n * p.G + c / (p.C / p.G);
  let y = hd_mul(ld_x(i) - stats[2u * ng], stats[2u * ng + 1u]);
  // affine (+ scale-shift); beta and shift are constants: primal only
  var a = gamma[c];
  var b = beta[c];
  if (SS) {
    let sc = 1.0 + ss[n * 2u * p.C + c];
    a *= sc;
    b = b * sc + ss[n * 2u * p.C + p.C + c];
  }
  var z = hd_scale(y, a);
  z.x += b;
  if (SILU) { z = hd_silu(z); }
  out[i] = z.x;
  if (K >= 2u) { out[p.cs + i] = z.y; }
  if (K == 4u) { out[2u * p.cs + i] = z.z; out[3u * p.cs + i] = z.w; }
}

// ------------------------------------------------------------------ gn_group (CPU SIMD adapters)
// One dispatch, one 8-lane workgroup per (image, group), grid [N*G]: shifted sums over the group (the
// shift is the group's first element, all components), one 8-way reduction through workgroup memory,
// then the normalisation of the group's channels. Needs S % 4 == 0 (vec4 loads and stores).
// Why: on lavapipe every storage load is a per-lane loop with a bounds check (a vec4 costs ~2.5 scalar
// loads), a dispatch costs ~0.1-0.3 ms and each barrier switches every 8-lane chunk of a workgroup, so
// the three-dispatch 256-lane path above idles and waits more than it computes (1-3 ms per call on
// adm-tiny's 16x16 maps; measured in bench/nonlinear.bench.ts). 32 groups per image are plenty of
// workgroups for a CPU. Accuracy: each lane sums its elements in blocks of BLK vec4s before adding the
// block to its running total (error ~ (BLK + L/(32 BLK)) ulps, not L/32).
//
// Four consecutive elements travel as a mat4x4f X with X[k] = component k of the four (vec4 lanes).

const GL: u32 = 8u;     // lanes per workgroup
const BLK: u32 = 64u;   // vec4s per lane per summation block

var<workgroup> redS: array<vec4f, GL>;
var<workgroup> redQ: array<vec4f, GL>;

fn ld_x4(i4: u32) -> mat4x4f {
  let cs4 = p.cs / 4u;
  var m = mat4x4f(x4[i4], vec4f(0.0), vec4f(0.0), vec4f(0.0));
  if (K >= 2u) { m[1] = x4[cs4 + i4]; }
  if (K == 4u) { m[2] = x4[2u * cs4 + i4]; m[3] = x4[3u * cs4 + i4]; }
  return m;
}

fn splat4(v: vec4f) -> mat4x4f {
  return mat4x4f(vec4f(v.x), vec4f(v.y), vec4f(v.z), vec4f(v.w));
}

// X * y (y one hyper-dual number), element-wise hd_mul
fn hd4_mul1(X: mat4x4f, y: vec4f) -> mat4x4f {
  var r = mat4x4f(X[0] * y.x, vec4f(0.0), vec4f(0.0), vec4f(0.0));
  if (K >= 2u) { r[1] = X[0] * y.y + X[1] * y.x; }
  if (K == 4u) {
    r[2] = X[0] * y.z + X[2] * y.x;
    r[3] = X[0] * y.w + X[1] * y.z + X[2] * y.y + X[3] * y.x;
  }
  return r;
}

// X * X element-wise
fn hd4_sq(X: mat4x4f) -> mat4x4f {
  var r = mat4x4f(X[0] * X[0], vec4f(0.0), vec4f(0.0), vec4f(0.0));
  if (K >= 2u) { r[1] = 2.0 * X[0] * X[1]; }
  if (K == 4u) { r[2] = 2.0 * X[0] * X[2]; r[3] = 2.0 * (X[0] * X[3] + X[1] * X[2]); }
  return r;
}

// the sum of the four elements as one hyper-dual number
fn hd4_sum(X: mat4x4f) -> vec4f {
  let one = vec4f(1.0);
  return vec4f(dot(X[0], one), dot(X[1], one), dot(X[2], one), dot(X[3], one));
}

// element-wise hd_silu
fn hd4_silu(X: mat4x4f) -> mat4x4f {
  let x = X[0];
  let s = 1.0 / (1.0 + exp(-x));
  let f1 = s * (1.0 + x * (1.0 - s));
  var r = mat4x4f(x * s, vec4f(0.0), vec4f(0.0), vec4f(0.0));
  if (K >= 2u) { r[1] = f1 * X[1]; }
  if (K == 4u) {
    let f2 = s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s));
    r[2] = f1 * X[2];
    r[3] = f1 * X[3] + f2 * X[1] * X[2];
  }
  return r;
}

@compute @workgroup_size(GL)
fn gn_group(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let l = lid.x;
  let ng = wid.x;
  let n = ng / p.G;
  let g = ng % p.G;
  let base = n * p.C * p.S + g * p.L;
  let L4 = p.L / 4u;
  var sh = vec4f(xs[base], 0.0, 0.0, 0.0);
  if (K >= 2u) { sh.y = xs[p.cs + base]; }
  if (K == 4u) { sh.z = xs[2u * p.cs + base]; sh.w = xs[3u * p.cs + base]; }
  let SH = splat4(sh);

  // per lane: sum (X - sh) and sum (X - sh)^2, blockwise
  var s = mat4x4f();
  var q = mat4x4f();
  for (var b0 = 0u; b0 < L4; b0 += GL * BLK) {
    let b1 = min(b0 + GL * BLK, L4);
    var bs = mat4x4f();
    var bq = mat4x4f();
    for (var i = b0 + l; i < b1; i += GL) {
      let d = ld_x4(base / 4u + i) - SH;
      bs += d;
      bq += hd4_sq(d);
    }
    s += bs;
    q += bq;
  }
  redS[l] = hd4_sum(s);
  redQ[l] = hd4_sum(q);
  workgroupBarrier();
  var S1 = vec4f(0.0);
  var S2 = vec4f(0.0);
  for (var j = 0u; j < GL; j++) { S1 += redS[j]; S2 += redQ[j]; }
  let Lf = f32(p.L);
  let dm = S1 / Lf;                                   // mean - shift
  let mu = sh + dm;
  let v = (S2 - Lf * hd_mul(dm, dm)) / Lf;            // centred: the shift cancels (docs/autodiff.md)
  // r = (v + eps)^(-1/2): f' = -r^3 / 2, f'' = 3 r^5 / 4 (max: rounding must not make var negative)
  let r0 = inverseSqrt(max(v.x, 0.0) + p.eps);
  let r3 = r0 * r0 * r0;
  let r = hd_apply(v, r0, -0.5 * r3, 0.75 * r3 * r0 * r0);
  let MU = splat4(mu);

  // normalise, affine (+ scale-shift; beta and shift on the primal only), SiLU
  let cpg = p.C / p.G;
  let S4 = p.S / 4u;
  let cs4 = p.cs / 4u;
  for (var cc = 0u; cc < cpg; cc++) {
    let c = g * cpg + cc;
    var a = gamma[c];
    var b = beta[c];
    if (SS) {
      let sc = 1.0 + ss[n * 2u * p.C + c];
      a *= sc;
      b = b * sc + ss[n * 2u * p.C + p.C + c];
    }
    let c4 = (base + cc * p.S) / 4u;
    for (var i = l; i < S4; i += GL) {
      var Z = hd4_mul1(ld_x4(c4 + i) - MU, r) * a;
      Z[0] += vec4f(b);
      if (SILU) { Z = hd4_silu(Z); }
      out4[c4 + i] = Z[0];
      if (K >= 2u) { out4[cs4 + c4 + i] = Z[1]; }
      if (K == 4u) { out4[2u * cs4 + c4 + i] = Z[2]; out4[3u * cs4 + c4 + i] = Z[3]; }
    }
  }
}
