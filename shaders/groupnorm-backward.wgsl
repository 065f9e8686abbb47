// VJP of GroupNorm (+ scale-shift, + SiLU), K = 1. With xhat = (x - mu) r, z = xhat*A + B
// (A = gamma (1+scale), B = beta (1+scale) + shift), y = silu(z) or z, and g = dL/dxhat = gy silu'(z) A:
//   gx = r (g - mean(g) - xhat mean(g xhat))        (means over the group; docs/autodiff.md)
// Dispatches: gnb_reduce (per chunk partial sums of g and g*xhat), gnb_finalize (per group means),
// gnb_apply (per element). mu, r come from groupnorm.wgsl's gn_stats/gn_finalize with K = 1.
// Layout as in groupnorm.wgsl (cs = N*C*S, groups contiguous, L elements each).

const WG: u32 = 256u;
const E: u32 = 32u;
const CHUNK: u32 = WG * E;    // must equal GN_CHUNK in src/engine/ops/groupnorm.ts

override SILU: bool = false;

// Interface (uniforms, bindings per entry) in src/engine/ops/groupnorm.ts.
//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// (xhat, g = dL/dxhat) of flat element i in channel c of image n, group ng
fn grad_xhat(i: u32, n: u32, c: u32, ng: u32) -> vec2f {
  let xhat = (x[i] - stats[2u * ng].x) * stats[2u * ng + 1u].x;
  var a = gamma[c];
  var b = beta[c];
  if (SS) {
    let sc = 1.0 + ss[n * 2u * p.C + c];
    a *= sc;
    b = b * sc + ss[n * 2u * p.C + p.C + c];
  }
  var g = gy[i];
  if (SILU) {
    let z = xhat * a + b;
    let s = 1.0 / (1.0 + exp(-z));
    g *= s * (1.0 + z * (1.0 - s));
  }
  return vec2f(xhat, g * a);
}

var<workgroup> red: array<vec4f, WG>;

// Sum of red[0..256) into red[0]. Unrolled: lavapipe crashes on barriers inside a loop.
fn tree_sum(l: u32) {
  if (l < 128u) { red[l] += red[l + 128u]; }
  workgroupBarrier();
  if (l < 64u) { red[l] += red[l + 64u]; }
  workgroupBarrier();
  if (l < 32u) { red[l] += red[l + 32u]; }
  workgroupBarrier();
  if (l < 16u) { red[l] += red[l + 16u]; }
  workgroupBarrier();
  if (l < 8u) { red[l] += red[l + 8u]; }
  workgroupBarrier();
  if (l < 4u) { red[l] += red[l + 4u]; }
  workgroupBarrier();
  if (l < 2u) { red[l] += red[l + 2u]; }
  workgroupBarrier();
  if (l < 1u) { red[l] += red[l + 1u]; }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn gnb_reduce(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let l = lid.x;
  let chunk = wid.x;
  let ng = wid.y;
  let n = ng / p.G;
  let g = ng % p.G;
  let base = n * p.C * p.S + g * p.L;
  let c0 = g * (p.C / p.G);
  var s = vec4f(0.0);
  for (var j = 0u; j < E; j++) {
    let o = chunk * CHUNK + j * WG + l;
    if (o < p.L) {
      let xg = grad_xhat(base + o, n, c0 + o / p.S, ng);
      s += vec4f(xg.y, xg.y * xg.x, 0.0, 0.0);
    }
  }
  red[l] = s;
  workgroupBarrier();
  tree_sum(l);
  if (l == 0u) { part[ng * p.nChunks + chunk] = red[0]; }
}

@compute @workgroup_size(WG)
fn gnb_finalize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let ng = flat(gid, nwg);
  if (ng >= p.N * p.G) { return; }
  var s = vec4f(0.0);
  for (var j = 0u; j < p.nChunks; j++) { s += fin_part[ng * p.nChunks + j]; }
  fin_sums[ng] = s / f32(p.L);
}

// grid [ceil(S / WG), N*C] like gn_apply
@compute @workgroup_size(WG)
fn gnb_apply(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let sp = gid.x;
  if (sp >= p.S) { return; }
  let nc = wid.y;
  let c = nc % p.C;
  let n = nc / p.C;
  let i = nc * p.S + sp;
  let ng = n * p.G + c / (p.C / p.G);
  let xg = grad_xhat(i, n, c, ng);
  let m = sums[ng];
  gx[i] = stats[2u * ng + 1u].x * (xg.y - m.x - xg.x * m.y);
}

// ----------------------------------------------------------------- gnb_group (CPU SIMD adapters)
// One dispatch, one 8-lane workgroup per (image, group), grid [N*G], like gn_group in groupnorm.wgsl
// (why: see there): pass 1 the group's mean and r (shifted sums, one 8-way reduction), pass 2 the
// means of g and g*xhat (second reduction), pass 3 gx. Reads x three times and gy twice instead of
// storing per-element intermediates; S % 4 == 0 (vec4 rows).

const GL: u32 = 8u;     // lanes per workgroup
const BLK: u32 = 64u;   // vec4s per lane per summation block (accuracy, see groupnorm.wgsl)

var<workgroup> redA: array<vec2f, GL>;
var<workgroup> redB: array<vec2f, GL>;

// A = gamma (1 + scale), B = beta (1 + scale) + shift of channel c, image n
fn affine_ab(n: u32, c: u32) -> vec2f {
  var a = gamma[c];
  var b = beta[c];
  if (SS) {
    let sc = 1.0 + ss[n * 2u * p.C + c];
    a *= sc;
    b = b * sc + ss[n * 2u * p.C + p.C + c];
  }
  return vec2f(a, b);
}

// g = dL/dxhat = gy silu'(z) A for four elements (xhat given)
fn grad4(xhat: vec4f, gyv: vec4f, ab: vec2f) -> vec4f {
  var g = gyv;
  if (SILU) {
    let z = xhat * ab.x + ab.y;
    let s = 1.0 / (1.0 + exp(-z));
    g *= s * (1.0 + z * (1.0 - s));
  }
  return g * ab.x;
}

fn sum8(r: ptr<workgroup, array<vec2f, GL>>) -> vec2f {
  var t = vec2f(0.0);
  for (var j = 0u; j < GL; j++) { t += (*r)[j]; }
  return t;
}

@compute @workgroup_size(GL)
fn gnb_group(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let l = lid.x;
  let ng = wid.x;
  let n = ng / p.G;
  let g = ng % p.G;
  let base = n * p.C * p.S + g * p.L;
  let b4 = base / 4u;
  let L4 = p.L / 4u;
  let sh = xs[base];

  // pass 1: mean and r = (var + eps)^(-1/2) from sums around the shift
  var s = vec2f(0.0);
  for (var b0 = 0u; b0 < L4; b0 += GL * BLK) {
    let b1 = min(b0 + GL * BLK, L4);
    var bs = vec4f(0.0);
    var bq = vec4f(0.0);
    for (var i = b0 + l; i < b1; i += GL) {
      let d = x4[b4 + i] - sh;
      bs += d;
      bq += d * d;
    }
    s += vec2f(dot(bs, vec4f(1.0)), dot(bq, vec4f(1.0)));
  }
  redA[l] = s;
  workgroupBarrier();
  let S12 = sum8(&redA);
  let Lf = f32(p.L);
  let dm = S12.x / Lf;
  let mu = sh + dm;
  let r = inverseSqrt(max((S12.y - Lf * dm * dm) / Lf, 0.0) + p.eps);

  // pass 2: sums of g and g xhat
  let cpg = p.C / p.G;
  let S4 = p.S / 4u;
  var m = vec2f(0.0);
  for (var cc = 0u; cc < cpg; cc++) {
    let ab = affine_ab(n, g * cpg + cc);
    let c4 = b4 + cc * S4;
    var a1 = vec4f(0.0);
    var a2 = vec4f(0.0);
    for (var i = l; i < S4; i += GL) {
      let xhat = (x4[c4 + i] - mu) * r;
      let gg = grad4(xhat, gy4[c4 + i], ab);
      a1 += gg;
      a2 += gg * xhat;
    }
    m += vec2f(dot(a1, vec4f(1.0)), dot(a2, vec4f(1.0)));
  }
  redB[l] = m;
  workgroupBarrier();
  let M = sum8(&redB) / Lf;

  // pass 3: gx = r (g - mean(g) - xhat mean(g xhat))
  for (var cc = 0u; cc < cpg; cc++) {
    let ab = affine_ab(n, g * cpg + cc);
    let c4 = b4 + cc * S4;
    for (var i = l; i < S4; i += GL) {
      let xhat = (x4[c4 + i] - mu) * r;
      let gg = grad4(xhat, gy4[c4 + i], ab);
      gx4[c4 + i] = r * (gg - M.x - xhat * M.y);
    }
  }
}
