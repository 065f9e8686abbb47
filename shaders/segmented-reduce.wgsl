// Segmented tree reductions over workgroup memory, shared by attention.wgsl and attention-backward.wgsl
// (pulled in by an include line naming segmented-reduce). The including shader declares
//   var<workgroup> red: array<T, WG>   (T = f32 or vec4f: max and + act component-wise)
//   R: u32                             (lanes per segment, a power of two <= 256)
// seg_max / seg_sum leave red[row*R] = max / sum over red[row*R .. row*R + R). Unrolled with a barrier
// per level: lavapipe miscompiled a barrier inside a loop.
fn seg_step_max(l: u32, o: u32) {
  if (o < R && l % R < o) { red[l] = max(red[l], red[l + o]); }
  workgroupBarrier();
}
fn seg_max(l: u32) {
  seg_step_max(l, 128u); seg_step_max(l, 64u); seg_step_max(l, 32u); seg_step_max(l, 16u);
  seg_step_max(l, 8u); seg_step_max(l, 4u); seg_step_max(l, 2u); seg_step_max(l, 1u);
}
fn seg_step_sum(l: u32, o: u32) {
  if (o < R && l % R < o) { red[l] += red[l + o]; }
  workgroupBarrier();
}
fn seg_sum(l: u32) {
  seg_step_sum(l, 128u); seg_step_sum(l, 64u); seg_step_sum(l, 32u); seg_step_sum(l, 16u);
  seg_step_sum(l, 8u); seg_step_sum(l, 4u); seg_step_sum(l, 2u); seg_step_sum(l, 1u);
}
