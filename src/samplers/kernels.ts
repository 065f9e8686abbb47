// The samplers' WGSL interfaces (shaders/diffusion.wgsl, ddrm.wgsl, sampler-rows.wgsl): uniforms and
// bindings declared once; the shaders' `struct Params` and bindings are generated from these.
import { defineKernels } from '../engine/kernel.js';

// mo = the model output [N, out_c, H, W]: ε in channels [0, c), the learned-range value v in [c, 2c).
// z: the step's N(0, I) noise, optional (override NOISE: none at the last step); x0_pullback reads its
// cotangent g = ∂L/∂x̂₀ through the same binding.
const STEP = { x: 'read', mo: 'read', z: { optional: 'NOISE' } } as const;
const SHAPE = ['total', 'chw', 'out_chw', 'clip', 'd01', 'f0', 'f1'] as const;
export const DIFFUSION = defineKernels('diffusion', {
  uniforms: {
    total: 'u32', // elements of the iterated tensor (see each entry)
    chw: 'u32', // c*h*w of one image
    out_chw: 'u32', // out_c*h*w of one model output image
    learned: 'u32', // 1: learned-range variance from v; 0: fixed log-variance f6
    clip: 'u32', // 1: clamp x̂₀ to [-1, 1] (clip_denoised)
    d01: 'f32', // sqrt(1/ᾱ) − sqrt(1/ᾱ − 1), from float64 (see x0_raw)
    f0: 'f32', // sqrt(1/ᾱ)
    f1: 'f32', // sqrt(1/ᾱ - 1)
    f2: 'f32', // p_sample: posterior mean coef1 | ddim: sqrt(ᾱ_prev)
    f3: 'f32', // p_sample: posterior mean coef2 | ddim: sqrt(1 - ᾱ_prev - σ²)
    f4: 'f32', // p_sample: min log variance (clipped β̃) | ddim: σ (noise std, 0 at the last step)
    f5: 'f32', // p_sample: max log variance (log β)
    f6: 'f32', // p_sample: fixed log variance
    f7: 'f32', // p_sample: 1 to add noise, 0 at the last step
  },
  entries: {
    // o1 = x̂₀, o2 = the sample
    p_sample: { bindings: { ...STEP, o1: 'read_write', o2: 'read_write' } },
    // o1 = x̂₀, o2 = mean, o3 = mean + σ z
    ddim_step: {
      uniforms: [...SHAPE, 'f2', 'f3', 'f4'],
      bindings: { ...STEP, o1: 'read_write', o2: 'read_write', o3: 'read_write' },
    },
    // o1 = the model-output cotangent, o2 = the direct term
    x0_pullback: {
      uniforms: SHAPE,
      bindings: { x: 'read', mo: 'read', g: { wgsl: 'z' }, o1: 'read_write', o2: 'read_write' },
    },
  },
});

export const DDRM = defineKernels('ddrm', {
  uniforms: {
    total: 'u32', // N·D
    d: 'u32', // D
    rank: 'u32',
    sigma_next: 'f32', // step: σ_{t−1}; init: σ_T
    sigma_0: 'f32', // measurement noise std
    eta_a: 'f32', // η   (entries less noisy than y)
    eta_b: 'f32', // η_b (entries noisier than y)
    eta_c: 'f32', // η   (entries A does not see)
  },
  entries: {
    // Vᵀx̂₀, Vᵀε̂ [N, D]; Uᵀy [N, rank]; singular values [rank]; z N(0, I) [N, D] (none at the last step);
    // out = Vᵀ x_{t−1}/sqrt(ᾱ_{t−1})
    ddrm_step: {
      bindings: { vx0: 'read', veps: 'read', uty: 'read', sv: 'read', z: { optional: 'NOISE' }, out: 'read_write' },
    },
    ddrm_init: {
      uniforms: ['total', 'd', 'rank', 'sigma_next', 'sigma_0'],
      bindings: {
        uty: { wgsl: 'i_uty' },
        sv: { wgsl: 'i_sv' },
        z: { wgsl: 'i_z' },
        out: { access: 'read_write', wgsl: 'i_out' },
      },
    },
  },
});

// A row is `per` consecutive elements of x; c holds one scalar per row.
const XCO = { x: 'read', c: 'read', out: 'read_write' } as const;
const ROW = ['total', 'per', 'a'] as const;
export const SAMPLER_ROWS = defineKernels('sampler-rows', {
  uniforms: {
    total: 'u32', // elements iterated
    per: 'u32', // elements per row (or: rank for spectral_lift, cols for matvec)
    mode: 'u32', // coef: which function; spectral_lift: numerator power of s (0 or 1); matvec: transpose
    aux: 'u32', // copy_range: source offset; spectral_lift: D (row length of out); matvec: rows of A
    aux2: 'u32', // copy_range: destination offset
    a: 'f32',
    b: 'f32',
  },
  entries: {
    row_scale: { uniforms: ROW, bindings: XCO },
    row_axpy: { uniforms: ROW, bindings: XCO },
    coef: { uniforms: ['total', 'mode', 'a', 'b'], bindings: XCO },
    copy_range: {
      uniforms: ['total', 'aux', 'aux2'],
      bindings: { x: 'read', out: { access: 'read_write', wgsl: 'copy_dst' } },
    },
    spectral_lift: { uniforms: ['total', 'per', 'mode', 'aux', 'a', 'b'], bindings: XCO },
    matvec: { uniforms: ['total', 'per', 'mode', 'aux', 'a'], bindings: XCO },
    fill: { uniforms: ['total', 'a'], bindings: { out: { access: 'read_write', wgsl: 'fill_out' } } },
  },
});
