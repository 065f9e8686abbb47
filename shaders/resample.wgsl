// Nearest ×2 upsampling and 2×2 average pooling on NCHW planes, and their adjoints (the VJPs).
// One invocation per output element; all four are linear, so forward-mode stacks run through unchanged.

//#interface

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// out [planes, 2h, 2w] = x[.., i/2, j/2]
@compute @workgroup_size(256)
fn upsample2x(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let W = 2u * p.w;
  let HW = 4u * p.h * p.w;
  if (i >= p.planes * HW) { return; }
  let pl = i / HW;
  let r = i % HW;
  let y = r / W;
  let xx = r % W;
  out[i] = x[pl * p.h * p.w + (y / 2u) * p.w + xx / 2u];
}

// adjoint of upsample2x: out [planes, h, w] = sum of the 2x2 block of x [planes, 2h, 2w]
@compute @workgroup_size(256)
fn upsample2x_adjoint(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let HW = p.h * p.w;
  if (i >= p.planes * HW) { return; }
  let pl = i / HW;
  let r = i % HW;
  let y = r / p.w;
  let xx = r % p.w;
  let W2 = 2u * p.w;
  let b = pl * 4u * HW + 2u * y * W2 + 2u * xx;
  out[i] = (x[b] + x[b + 1u]) + (x[b + W2] + x[b + W2 + 1u]);
}

// out [planes, h/2, w/2] = mean of the 2x2 block (avg_pool2d(kernel 2, stride 2); h, w even)
@compute @workgroup_size(256)
fn avgpool2x(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let Wo = p.w / 2u;
  let HWo = (p.h / 2u) * Wo;
  if (i >= p.planes * HWo) { return; }
  let pl = i / HWo;
  let r = i % HWo;
  let y = r / Wo;
  let xx = r % Wo;
  let b = pl * p.h * p.w + 2u * y * p.w + 2u * xx;
  out[i] = 0.25 * ((x[b] + x[b + 1u]) + (x[b + p.w] + x[b + p.w + 1u]));
}

// adjoint of avgpool2x: out [planes, h, w] = x[.., i/2, j/2] / 4
@compute @workgroup_size(256)
fn avgpool2x_adjoint(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let HW = p.h * p.w;
  if (i >= p.planes * HW) { return; }
  let pl = i / HW;
  let r = i % HW;
  let y = r / p.w;
  let xx = r % p.w;
  let Wo = p.w / 2u;
  out[i] = 0.25 * x[pl * (p.h / 2u) * Wo + (y / 2u) * Wo + xx / 2u];
}
