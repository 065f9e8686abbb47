// Workgroup sum over 256 lanes, shared by vector.wgsl and vector2.wgsl (via their include line).
// Each lane writes partial[l], calls workgroupBarrier(), then tree_reduce(l); partial[0] holds the sum.
// Unrolled: lavapipe crashes on barriers inside a loop.
var<workgroup> partial: array<f32, 256>;

fn tree_reduce(l: u32) {
  if (l < 128u) { partial[l] += partial[l + 128u]; }
  workgroupBarrier();
  if (l < 64u) { partial[l] += partial[l + 64u]; }
  workgroupBarrier();
  if (l < 32u) { partial[l] += partial[l + 32u]; }
  workgroupBarrier();
  if (l < 16u) { partial[l] += partial[l + 16u]; }
  workgroupBarrier();
  if (l < 8u) { partial[l] += partial[l + 8u]; }
  workgroupBarrier();
  if (l < 4u) { partial[l] += partial[l + 4u]; }
  workgroupBarrier();
  if (l < 2u) { partial[l] += partial[l + 2u]; }
  workgroupBarrier();
  if (l < 1u) { partial[l] += partial[l + 1u]; }
  workgroupBarrier();
}
