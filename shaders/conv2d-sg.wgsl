// Convolution tuned for CPU SIMD adapters (lavapipe): NCHW activations, OIHW weights, f32.
// Dispatcher and the measurements behind this design: src/engine/ops/conv2d.ts.
//
// Why it looks like this: on lavapipe every storage-buffer load is a per-lane loop with a bounds check
// (~14 instructions per lane and element, uniform or not), while a subgroup shuffle is one vpermd and an
// FMA on 8 lanes is two instructions. So each element is loaded by exactly one lane and shared by
// shuffles: a workgroup is one 8-lane group; lane L owns 4 consecutive output pixels of a row (a vec4,
// 32 pixels per group) and loads the input row under them; the kx = 0/2 taps come from its neighbours'
// vec4s by shuffle. Weights of 8 output channels are loaded one per lane and broadcast by shuffle.
// Each loop iteration handles one (input channel, kernel row) pair; CMB = 2 blocks of 8 output channels
// share the loaded input row. Measured alternatives, all slower (lavapipe, 2 cores): all 9 taps per
// iteration (-20 %: 18-40 KiB loop bodies fall out of the instruction cache), 4 blocks of output
// channels or 2-4 pixel groups per workgroup (-30 to -60 %: 128-256 accumulator registers spill and
// every loop-carried value costs a masked blend per iteration), vec4 weight loads (no gain: a vec4
// load is four bounds-checked scalar loads), 64-lane workgroups (idle groups at 8x8 resolution).
// Weights from a uniform buffer (branch-free gathers, ~5x fewer instructions per load) gained only
// 0-25 %, not enough for repacked weight copies within 64 KiB uniform bindings.
//
// Requirements checked by the caller: output width % 4 == 0 (input width % 8 for stride 2), 3x3 pad 1
// or 1x1 pad 0, subgroup size a multiple of 8. TRANS: weights read transposed and flipped, i.e. this
// computes the input gradient of a stride-1 conv (gx = conv(gy, flip(w)ᵀ)).
enable subgroups;

//#interface

override STRIDE: u32 = 1u;
override CMB: u32 = 2u;     // blocks of 8 output channels per workgroup (1 or 2)
override HALO: bool = false; // 32-pixel groups may start/end mid-row (32 % wo != 0)
override TRANS: bool = false;
override SG8: bool = true;   // subgroup size is exactly 8: constant shuffle indices

alias A8 = array<vec4f, 8>;
struct Taps { l: vec4f, c: vec4f, r: vec4f }

var<private> sgbase: u32;

fn bc(v: f32, j: u32) -> f32 {
  if (SG8) { return subgroupShuffle(v, j); }
  return subgroupShuffle(v, sgbase | j);
}

// a[j] += w_j.x * t.l + w_j.y * t.c + w_j.z * t.r, w_j = lane j's weights (output channel co0 + j)
fn fma3(a: ptr<function, A8>, w: vec3f, t: Taps) {
  (*a)[0] += bc(w.x, 0u) * t.l + bc(w.y, 0u) * t.c + bc(w.z, 0u) * t.r;
  (*a)[1] += bc(w.x, 1u) * t.l + bc(w.y, 1u) * t.c + bc(w.z, 1u) * t.r;
  (*a)[2] += bc(w.x, 2u) * t.l + bc(w.y, 2u) * t.c + bc(w.z, 2u) * t.r;
  (*a)[3] += bc(w.x, 3u) * t.l + bc(w.y, 3u) * t.c + bc(w.z, 3u) * t.r;
  (*a)[4] += bc(w.x, 4u) * t.l + bc(w.y, 4u) * t.c + bc(w.z, 4u) * t.r;
  (*a)[5] += bc(w.x, 5u) * t.l + bc(w.y, 5u) * t.c + bc(w.z, 5u) * t.r;
  (*a)[6] += bc(w.x, 6u) * t.l + bc(w.y, 6u) * t.c + bc(w.z, 6u) * t.r;
  (*a)[7] += bc(w.x, 7u) * t.l + bc(w.y, 7u) * t.c + bc(w.z, 7u) * t.r;
}

// a[j] += w_j * v
fn fma1(a: ptr<function, A8>, w: f32, v: vec4f) {
  (*a)[0] += bc(w, 0u) * v;
  (*a)[1] += bc(w, 1u) * v;
  (*a)[2] += bc(w, 2u) * v;
  (*a)[3] += bc(w, 3u) * v;
  (*a)[4] += bc(w, 4u) * v;
  (*a)[5] += bc(w, 5u) * v;
  (*a)[6] += bc(w, 6u) * v;
  (*a)[7] += bc(w, 7u) * v;
}

// Weights of output channel o (clamped: lanes past cout compute garbage that is never stored),
// input channel ci, kernel row ky: (kx = 0, 1, 2).
fn wrow(o: u32, ci: u32, ky: u32) -> vec3f {
  let oc = min(o, p.cout - 1u);
  if (TRANS) {
    // forward weight w[ci][oc][2 - ky][2 - kx] (forward: cin = p.cout, cout = p.cin)
    let b = (ci * p.cout + oc) * 9u + (2u - ky) * 3u;
    return vec3f(wt[b + 2u], wt[b + 1u], wt[b]);
  }
  let b = (oc * p.cin + ci) * 9u + ky * 3u;
  return vec3f(wt[b], wt[b + 1u], wt[b + 2u]);
}

fn wone(o: u32, ci: u32) -> f32 {
  let oc = min(o, p.cout - 1u);
  if (TRANS) { return wt[ci * p.cout + oc]; }
  return wt[oc * p.cin + ci];
}

struct Pix { n: u32, r: u32, oy: u32, ox: u32, live: bool }

fn pixel(g: u32, lane: u32) -> Pix {
  let pix = g * 32u + lane * 4u;
  let pc = min(pix, p.npix - 4u);
  var q: Pix;
  q.live = pix < p.npix;
  q.n = pc / p.pp;
  q.r = pc % p.pp;
  q.oy = q.r / p.wo;
  q.ox = q.r % p.wo;
  return q;
}

fn store8(a: ptr<function, A8>, co0: u32, q: Pix) {
  if (!q.live) { return; }
  for (var c = 0u; c < 8u; c++) {
    let co = co0 + c;
    if (co < p.cout) {
      let i = ((q.n * p.cout + co) * p.pp + q.r) / 4u;
      var v = (*a)[c];
      if (BIAS && q.n < p.bias_batches) { v += bias[co]; }
      if (RES) { v += res4[i]; }
      y4[i] = v;
    }
  }
}

// 3x3, pad 1, stride 1 or 2. grid: (ceil(npix / 32), ceil(cout / (8 * CMB))).
@compute @workgroup_size(8)
fn conv3(@builtin(subgroup_invocation_id) sl: u32, @builtin(workgroup_id) wid: vec3u) {
  sgbase = sl & ~7u;
  let lane = sl & 7u;
  let q = pixel(wid.x, lane);
  let o0 = wid.y * CMB * 8u + lane;  // this lane's output channel in block 0
  let lok = q.ox > 0u;               // a left neighbour column exists (else zero padding)
  let rok = q.ox + 4u < p.wo;        // a right neighbour column exists (stride 1)
  // halo: lane 0 fetches the column left of the group, lane 7 the one right of it
  let hcol = select(i32(q.ox * STRIDE) + 4, i32(q.ox * STRIDE) - 1, lane == 0u);
  let hok = select(rok, lok, lane == 0u);
  let hw = p.h * p.w;
  var a0: A8;
  var a1: A8;
  let nk = p.cin * 3u;
  for (var k = 0u; k < nk; k++) {
    let ci = k / 3u;
    let ky = k - ci * 3u;
    let iy = i32(q.oy * STRIDE + ky) - 1;
    let rowok = iy >= 0 && iy < i32(p.h);
    let ri = (q.n * p.cin + ci) * hw + u32(max(iy, 0)) * p.w;  // start of the input row
    var t: Taps;
    if (STRIDE == 1u) {
      let v = select(vec4f(0.0), x4[(ri + q.ox) / 4u], rowok);
      var hv = 0.0;
      if (HALO) { hv = select(0.0, x1[u32(i32(ri) + hcol)], rowok && hok); }
      let ln = select(bc(v.w, (lane + 7u) & 7u), hv, lane == 0u);
      let rn = select(bc(v.x, (lane + 1u) & 7u), hv, lane == 7u);
      t = Taps(vec4f(select(0.0, ln, lok), v.xyz), v, vec4f(v.yzw, select(0.0, rn, rok)));
    } else {
      // input columns 2*ox - 1 .. 2*ox + 7
      let c0 = (ri + 2u * q.ox) / 4u;
      let a = select(vec4f(0.0), x4[c0], rowok);
      let b = select(vec4f(0.0), x4[c0 + 1u], rowok);
      var hv = 0.0;
      if (HALO) { hv = select(0.0, x1[u32(i32(ri) + hcol)], rowok && lok); }
      let ln = select(bc(b.w, (lane + 7u) & 7u), hv, lane == 0u);
      t = Taps(vec4f(select(0.0, ln, lok), a.y, a.w, b.y), vec4f(a.x, a.z, b.x, b.z), vec4f(a.y, a.w, b.y, b.w));
    }
    fma3(&a0, wrow(o0, ci, ky), t);
    if (CMB > 1u) { fma3(&a1, wrow(o0 + 8u, ci, ky), t); }
  }
  let cb = wid.y * CMB * 8u;
  store8(&a0, cb, q);
  if (CMB > 1u) { store8(&a1, cb + 8u, q); }
}

// 1x1 (pixels flattened, so [N, C, T, 1] tensors work too). grid as for conv3.
@compute @workgroup_size(8)
fn conv1(@builtin(subgroup_invocation_id) sl: u32, @builtin(workgroup_id) wid: vec3u) {
  sgbase = sl & ~7u;
  let lane = sl & 7u;
  let q = pixel(wid.x, lane);
  let o0 = wid.y * CMB * 8u + lane;
  var a0: A8;
  var a1: A8;
  // x1 is never read here (HALO is 0 for 1x1), but referencing it keeps one bind group layout for
  // conv1 and conv3 (layout 'auto' drops bindings an entry point does not mention)
  if (HALO) { a0[0] = vec4f(x1[0]); }
  let xb = (q.n * p.cin * p.pp + q.r) / 4u;
  let cs = p.pp / 4u;
  for (var ci = 0u; ci < p.cin; ci++) {
    let v = x4[xb + ci * cs];
    fma1(&a0, wone(o0, ci), v);
    if (CMB > 1u) { fma1(&a1, wone(o0 + 8u, ci), v); }
  }
  let cb = wid.y * CMB * 8u;
  store8(&a0, cb, q);
  if (CMB > 1u) { store8(&a1, cb + 8u, q); }
}
