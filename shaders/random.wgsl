// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, the Random123 generator that
// cuRAND/JAX/PyTorch use). Output element i comes from block g = i / 4, word i % 4 of
//   philox(counter = (g, 0, offset_lo, offset_hi), key = (seed_lo, seed_hi)),
// so a value depends only on (seed, offset, i): the same on every GPU, at any shape, and equal to the
// CPU generator in src/engine/ops/random.ts. One invocation computes one block (4 outputs).

//#interface

// (hi, lo) of the 64-bit product a*b from 16-bit halves (WGSL has no 64-bit integers).
fn mulhilo(a: u32, b: u32) -> vec2u {
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
  return vec2u(hi, a * b);
}

fn philox(ctr: vec4u, key: vec2u) -> vec4u {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let m0 = mulhilo(0xD2511F53u, c.x);
    let m1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4u(m1.x ^ c.y ^ k.x, m1.y, m0.x ^ c.w ^ k.y, m0.y);
    k = k + vec2u(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

fn block(g: u32) -> vec4u {
  return philox(vec4u(g, 0u, p.off_lo, p.off_hi), vec2u(p.seed_lo, p.seed_hi));
}

// Uniform in (0, 1), exact in f32: (k + 0.5) / 2^23 with k the top 23 bits. Never 0 (safe for log).
fn to_unit(u: vec4u) -> vec4f {
  return (vec4f(u >> vec4u(9u)) + 0.5) * (1.0 / 8388608.0);
}

fn store4(g: u32, v: vec4f) {
  let i = g * 4u;
  if (i + 3u < p.n) {
    out[i] = v.x; out[i + 1u] = v.y; out[i + 2u] = v.z; out[i + 3u] = v.w;
  } else {
    if (i < p.n) { out[i] = v.x; }
    if (i + 1u < p.n) { out[i + 1u] = v.y; }
    if (i + 2u < p.n) { out[i + 2u] = v.z; }
  }
}

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

const TWO_PI: f32 = 6.283185307179586;

// Standard normals by Box–Muller on the pairs (u0, u1), (u2, u3): out = b + a * z.
@compute @workgroup_size(256)
fn randn(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat(gid, nwg);
  if (g * 4u >= p.n) { return; }
  let u = to_unit(block(g));
  let r0 = sqrt(-2.0 * log(u.x));
  let r1 = sqrt(-2.0 * log(u.z));
  let t0 = TWO_PI * u.y;
  let t1 = TWO_PI * u.w;
  let z = vec4f(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1));
  store4(g, p.b + p.a * z);
}

// Uniform in (a, b).
@compute @workgroup_size(256)
fn rand_uniform(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat(gid, nwg);
  if (g * 4u >= p.n) { return; }
  let u = to_unit(block(g));
  store4(g, p.a + (p.b - p.a) * u);
}

// ±a with probability 1/2 each (top bit of each word).
@compute @workgroup_size(256)
fn rademacher(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat(gid, nwg);
  if (g * 4u >= p.n) { return; }
  let bits = block(g) >> vec4u(31u);
  store4(g, p.a * (1.0 - 2.0 * vec4f(bits)));
}

// ------------------------------------------------------------------ Poisson measurement noise (DPS)

struct UniformStream { e: u32, block: u32, word: u32, w: vec4f }

fn next_uniform(s: ptr<function, UniformStream>) -> f32 {
  if ((*s).word == 4u) {
    (*s).w = to_unit(philox(vec4u((*s).e, (*s).block + 1u, p.off_lo, p.off_hi), vec2u(p.seed_lo, p.seed_hi)));
    (*s).block += 1u;
    (*s).word = 0u;
  }
  let v = (*s).w[(*s).word];
  (*s).word += 1u;
  return v;
}

// log Γ(k + 1) = log k!: exact sums below 10, Stirling's series above (error < 1e-7 relative).
fn log_factorial(k: f32) -> f32 {
  if (k < 10.0) {
    var s = 0.0;
    for (var i = 2.0; i <= k; i += 1.0) { s += log(i); }
    return s;
  }
  let x = k + 1.0;
  let x2 = x * x;
  return (x - 0.5) * log(x) - x + 0.91893853320467274 + 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x2);
}

// Poisson(λ): multiplication method for λ < 10, Hörmann's PTRS (numpy's random_poisson_ptrs) above.
fn poisson(lam: f32, s: ptr<function, UniformStream>) -> f32 {
  if (lam <= 0.0) { return 0.0; }
  if (lam < 10.0) {
    let l = exp(-lam);
    var k = 0.0;
    var prod = next_uniform(s);
    for (var it = 0u; it < 1000u && prod > l; it++) { k += 1.0; prod *= next_uniform(s); }
    return k;
  }
  let slam = sqrt(lam);
  let loglam = log(lam);
  let b = 0.931 + 2.53 * slam;
  let a = -0.059 + 0.02483 * b;
  let invalpha = 1.1239 + 1.1328 / (b - 3.4);
  let vr = 0.9277 - 3.6224 / (b - 2.0);
  for (var it = 0u; it < 1000u; it++) {
    let u = next_uniform(s) - 0.5;
    let v = next_uniform(s);
    let us = 0.5 - abs(u);
    let k = floor((2.0 * a / us + b) * u + lam + 0.43);
    if (us >= 0.07 && v <= vr) { return k; }
    if (k < 0.0 || (us < 0.013 && v > us)) { continue; }
    if (log(v) + log(invalpha) - log(a / (us * us) + b) <= -lam + k * loglam - log_factorial(k)) { return k; }
  }
  return lam;
}

// DPS PoissonNoise: x ∈ [-1, 1] → clamp((x+1)/2, 0, 1) → Poisson(· 255 rate) / (255 rate) → ·2 − 1 → clamp.
// p.a = rate. Element e draws from its own Philox counters (e, 1, 2, …).
@compute @workgroup_size(256)
fn poisson_dps(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat(gid, nwg);
  if (e >= p.n) { return; }
  let scale = 255.0 * p.a;
  let lam = clamp((src[e] + 1.0) * 0.5, 0.0, 1.0) * scale;
  var s = UniformStream(e, 0u, 4u, vec4f(0.0));
  let k = poisson(lam, &s);
  out[e] = clamp(k / scale * 2.0 - 1.0, -1.0, 1.0);
}
