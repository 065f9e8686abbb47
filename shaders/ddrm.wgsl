// DDRM (Kawar et al. 2022, reference code bahjat-kawar/ddrm `efficient_generalized_steps`) in the spectral
// coordinates of A = U S Vᵀ. Rows are images; a row has D = C·H·W spectral entries, the first `rank` of
// which pair with the singular values s. σ's are in the VE scale x/sqrt(ᾱ) (σₜ = sqrt(1−ᾱₜ)/sqrt(ᾱₜ)).

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

@compute @workgroup_size(256)
fn ddrm_step(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  let n = i / p.d;
  let j = i % p.d;
  let sn = p.sigma_next;
  let x0 = vx0[i];
  // entries A does not see (and the default): DDIM-like with η_c
  let std_c = sn * p.eta_c;
  var zi = 0.0;   // no noise at the last step (σ_{t−1} = 0)
  if (NOISE) { zi = z[i]; }
  var v = x0 + sqrt(max(sn * sn - std_c * std_c, 0.0)) * veps[i] + std_c * zi;
  if (j < p.rank) {
    let s = sv[j];
    let u = uty[n * p.rank + j];
    if (s * sn < p.sigma_0) {
      // less noisy than y: pull toward y's spectral residual
      let std_a = sn * p.eta_a;
      v = x0 + sqrt(max(sn * sn - std_a * std_a, 0.0)) * (u - s * x0) / p.sigma_0 + std_a * zi;
    } else if (s * sn > p.sigma_0) {
      // noisier than y: mix y/s in with weight η_b
      let var_b = sn * sn - p.sigma_0 * p.sigma_0 / (s * s) * p.eta_b * p.eta_b;
      v = p.eta_b * u / s + (1.0 - p.eta_b) * x0 + sqrt(max(var_b, 0.0)) * zi;
    }
  }
  out[i] = v;
}

// x_T's spectral coordinates: y/s where s·σ_T > σ₀ (with the remaining variance from z), z elsewhere,
// all divided by σ_T (the reference's `init_y / largest_sigmas`).

@compute @workgroup_size(256)
fn ddrm_init(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.total) { return; }
  let n = i / p.d;
  let j = i % p.d;
  let st = p.sigma_next;
  var base = 0.0;
  var inv = 0.0;
  if (j < p.rank) {
    let s = i_sv[j];
    if (s * st > p.sigma_0) {
      base = i_uty[n * p.rank + j] / s;
      inv = p.sigma_0 / s;
    }
  }
  i_out[i] = (base + sqrt(max(st * st - inv * inv, 0.0)) * i_z[i]) / st;
}
