// Gaussian-mixture prior p₀ = Σₖ πₖ N(μₖ, Σₖ), Σₖ = Qₖ diag(λₖ) Qₖᵀ, diffused: pₜ = Σₖ πₖ N(aμₖ, a²Σₖ + σ²I).
// ε(x) = −σ ∇log pₜ(x) = σ Σₖ wₖ(x) Pₖ (x − aμₖ), Pₖ = Qₖ diag(gₖ) Qₖᵀ, gₖⱼ = 1/(a²λₖⱼ + σ²),
// wₖ = softmax(ℓ), ℓₖ = log πₖ − ½ Σⱼ log(a²λₖⱼ + σ²) − ½ (x − aμₖ)ᵀ Pₖ (x − aμₖ).
//
// Everything is carried in hyper-dual numbers vec4f(f, ∂_w f, ∂_v f, ∂²_{wv} f) for the input x + w·e₁ + v·e₂,
// so one pass yields ε, Dε[w], Dε[v] and D²ε[w, v]. Three kernels, no workgroup barriers:
//   gmm_project: Ys[n,k,j] = gₖⱼ · (Qₖᵀ (x − aμₖ), Qₖᵀ w, Qₖᵀ v)ⱼ          (one invocation per n, k, j)
//   gmm_logits:  L[n,k] = ℓₖ as a hyper-dual number                         (one per n, k)
//   gmm_eps:     ε[n,i] = σ Σₖ wₖ (Qₖ Ysₖ)ᵢ, softmax derivatives in closed form (one per n, i)
// Layouts: x, w, v [N, D]; Q [K, D, D] row-major (eigenvectors in columns); lam, mu [K, D];
// logpi [K]; prm [N, 2] = (a, σ) per image.

//#interface

const MAXK: u32 = 16u;   // components held per invocation in gmm_eps (checked on the host)

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// ---------------------------------------------------------------- gmm_project

@compute @workgroup_size(256)
fn gmm_project(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  if (idx >= p.count) { return; }
  let j = idx % p.d;
  let k = (idx / p.d) % p.k;
  let n = idx / (p.d * p.k);
  let as_ = pj_prm[n];
  let xb = n * p.d;
  let qb = k * p.d * p.d + j;
  let mb = k * p.d;
  var y = vec3f(0.0);
  for (var i = 0u; i < p.d; i++) {
    let q = pj_q[qb + i * p.d];
    y += q * vec3f(pj_x[xb + i] - as_.x * pj_mu[mb + i], pj_w[xb + i], pj_v[xb + i]);
  }
  let g = 1.0 / (as_.x * as_.x * pj_lam[mb + j] + as_.y * as_.y);
  pj_ys[idx] = vec4f(g * y, g);
}

// ---------------------------------------------------------------- gmm_logits

@compute @workgroup_size(256)
fn gmm_logits(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  if (idx >= p.count) { return; }
  let k = idx % p.k;
  let base = idx * p.d;
  // with s = g·y: g·y² = s²/g, g·y·yw = s·sw/g, g·yw·yv = sw·sv/g
  var quad = 0.0;
  var lw = 0.0;
  var lv = 0.0;
  var lwv = 0.0;
  var logdet = 0.0;
  for (var j = 0u; j < p.d; j++) {
    let s = lg_ys[base + j];
    let ig = 1.0 / s.w;
    quad += s.x * s.x * ig;
    lw += s.x * s.y * ig;
    lv += s.x * s.z * ig;
    lwv += s.y * s.z * ig;
    logdet += log(ig);
  }
  lg_out[idx] = vec4f(lg_logpi[k] - 0.5 * logdet - 0.5 * quad, -lw, -lv, -lwv);
}

// ---------------------------------------------------------------- gmm_eps

// The softmax derivatives are formed from centred logit derivatives δₖ = ℓₖ' − Σⱼ wⱼℓⱼ' rather than by
// hyper-dual division: ∂w wₖ = wₖδₖʷ, ∂²wₖ = wₖ(δₖʷδₖᵛ + ℓₖʷᵛ − ℓ̄ʷᵛ − Σⱼ wⱼδⱼʷδⱼᵛ). Division would cancel
// terms of size |∇ℓ|² in float32 where one component dominates (the exact value there is ≈ 0).
@compute @workgroup_size(256)
fn gmm_eps(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  if (idx >= p.count) { return; }
  let i = idx % p.d;
  let n = idx / p.d;
  let lb = n * p.k;
  var m = -3.0e38;
  for (var k = 0u; k < p.k; k++) { m = max(m, ep_l[lb + k].x); }
  var sum = 0.0;
  var mean = vec3f(0.0);   // Σ eₖ (ℓʷ, ℓᵛ, ℓʷᵛ)
  for (var k = 0u; k < p.k; k++) {
    let l = ep_l[lb + k];
    let ek = exp(l.x - m);
    sum += ek;
    mean += ek * l.yzw;
  }
  mean /= sum;
  var cov = 0.0;
  for (var k = 0u; k < p.k; k++) {
    let l = ep_l[lb + k];
    cov += exp(l.x - m) * (l.y - mean.x) * (l.z - mean.y);
  }
  cov /= sum;
  // zₖ = (Pₖdₖ, Pₖw, Pₖv)ᵢ; the weight derivatives sum to zero, so they multiply zₖ − z̄ (less cancellation
  // where the components' zₖ nearly agree, e.g. at large t)
  var zs: array<vec3f, MAXK>;
  var zbar = vec3f(0.0);
  for (var k = 0u; k < p.k; k++) {
    let qb = (k * p.d + i) * p.d;
    let yb = (n * p.k + k) * p.d;
    var z = vec3f(0.0);
    for (var j = 0u; j < p.d; j++) { z += ep_q[qb + j] * ep_ys[yb + j].xyz; }
    zs[k] = z;
    zbar += (exp(ep_l[lb + k].x - m) / sum) * z;
  }
  var acc = vec4f(zbar.x, 0.0, 0.0, 0.0);
  for (var k = 0u; k < p.k; k++) {
    let l = ep_l[lb + k];
    let w = exp(l.x - m) / sum;
    let dw = l.y - mean.x;
    let dv = l.z - mean.y;
    let zc = zs[k] - zbar;
    let zk = zs[k];
    // value: Σwz (above); ∂_w: Σ wδʷ(z − z̄) + w zʷ; ∂_v likewise; ∂²: Σ w''(z − z̄) + wδʷ(zᵛ − z̄ᵛ) + wδᵛ(zʷ − z̄ʷ)
    acc.y += w * (dw * zc.x + zk.y);
    acc.z += w * (dv * zc.x + zk.z);
    acc.w += w * ((dw * dv + l.w - mean.z - cov) * zc.x + dw * zc.z + dv * zc.y);
  }
  let r = ep_prm[n].y * acc;
  ep_out[idx] = r.x;
  ep_dw[idx] = r.y;
  ep_dv[idx] = r.z;
  ep_d2[idx] = r.w;
}
