// Mixed-radix (4, 2, 3, 5) Stockham FFT on interleaved complex data (vec2f = re, im).
//
// A batch of 1-D transforms of length N; transform b, element i lives at
//   (b / inner) * so + (b % inner) * si + i * es          (in vec2f units)
// which covers rows (es = 1) and columns (es = row length) of a stack of 2-D planes without a transpose.
//
// Stockham pass of radix r after sub-transforms of length p are done (p = product of earlier radices):
// butterfly i in [0, N/r), k = i mod p, reads u_m = x[i + m N/r], twiddles u_m by w^(m k N/(r p))
// (w = e^(∓2πi/N), from a float64-rounded table), takes the r-point DFT and writes
// y[(i - k) r + k + m p]. Autosorting: no bit reversal.
//
// fft_wg / fft_filter: ROWS whole transforms per workgroup, every pass in workgroup memory (ping-pong
// halves), one global read and write per element. fft_filter runs forward passes, multiplies by a
// filter spectrum (a column of an [N, si·...] complex array, see below) and runs inverse passes: the
// column stage of an FFT convolution in one dispatch. fft_pass: one radix pass in global memory, for
// lengths that do not fit in workgroup memory.

struct Params {
  batch: u32,     // number of transforms
  inner: u32,
  so: u32,
  si: u32,
  es: u32,
  n: u32,         // fft_pass: length (fft_wg uses the override N)
  r: u32,         // fft_pass: radix of this pass
  pp: u32,        // fft_pass: p of this pass
  dir: f32,       // -1 forward, +1 inverse
  scale: f32,     // applied to the output
  conj_filter: u32, // fft_filter: 1 multiplies by conj(filter) (correlation), 0 by filter (convolution)
  filter_stride: u32, // fft_filter: filter element (i, b % inner) at i * filter_stride + b % inner
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> data: array<vec2f>;
@group(0) @binding(2) var<storage, read> tw: array<vec2f>;   // e^(-2πi k/N), k < N
@group(0) @binding(3) var<storage, read_write> aux: array<vec2f>;  // fft_pass: output; fft_filter: filter

override N: u32 = 64u;
override ROWS: u32 = 1u;
override WG: u32 = 64u;
override NPASS: u32 = 3u;
override PLAN: u32 = 0x444u;   // radix of pass s in bits [4s, 4s+4)

var<workgroup> buf: array<vec2f, 2u * ROWS * N>;

fn cmul(a: vec2f, b: vec2f) -> vec2f {
  return vec2f(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}
// i·dir·a
fn rot(a: vec2f, dir: f32) -> vec2f {
  return vec2f(-a.y, a.x) * dir;
}

const C3: f32 = 0.8660254037844386;   // sin(2π/3)
const C51: f32 = 0.30901699437494745; // cos(2π/5)
const C52: f32 = -0.8090169943749475; // cos(4π/5)
const S51: f32 = 0.9510565162951535;  // sin(2π/5)
const S52: f32 = 0.5877852522924731;  // sin(4π/5)

// In-place r-point DFT of u[0..r) with sign dir.
fn dft(r: u32, u: ptr<function, array<vec2f, 5>>, dir: f32) {
  if (r == 2u) {
    let a = (*u)[0]; let b = (*u)[1];
    (*u)[0] = a + b; (*u)[1] = a - b;
  } else if (r == 4u) {
    let v0 = (*u)[0] + (*u)[2]; let v1 = (*u)[0] - (*u)[2];
    let v2 = (*u)[1] + (*u)[3]; let v3 = rot((*u)[1] - (*u)[3], dir);
    (*u)[0] = v0 + v2; (*u)[1] = v1 + v3; (*u)[2] = v0 - v2; (*u)[3] = v1 - v3;
  } else if (r == 3u) {
    let t1 = (*u)[1] + (*u)[2];
    let t2 = (*u)[0] - 0.5 * t1;
    let t3 = rot((*u)[1] - (*u)[2], dir) * C3;
    (*u)[0] = (*u)[0] + t1; (*u)[1] = t2 + t3; (*u)[2] = t2 - t3;
  } else if (r == 5u) {
    let u0 = (*u)[0];
    let a1 = (*u)[1] + (*u)[4]; let a2 = (*u)[2] + (*u)[3];
    let b1 = (*u)[1] - (*u)[4]; let b2 = (*u)[2] - (*u)[3];
    let t1 = u0 + C51 * a1 + C52 * a2;
    let t2 = u0 + C52 * a1 + C51 * a2;
    let q1 = rot(S51 * b1 + S52 * b2, dir);
    let q2 = rot(S52 * b1 - S51 * b2, dir);
    (*u)[0] = u0 + a1 + a2;
    (*u)[1] = t1 + q1; (*u)[4] = t1 - q1;
    (*u)[2] = t2 + q2; (*u)[3] = t2 - q2;
  }
}

fn twiddle(idx: u32, dir: f32) -> vec2f {
  let w = tw[idx];
  return vec2f(w.x, -dir * w.y);   // table holds e^(-2πi k/N); dir = +1 conjugates it
}

fn base_of(b: u32) -> u32 {
  return (b / p.inner) * p.so + (b % p.inner) * p.si;
}

// Row/element of the t-th load of a workgroup: rows contiguous in memory are read row by row, strided
// transforms (columns) element by element across the ROWS adjacent columns, so that neighbouring lanes
// touch neighbouring addresses either way.
fn load_pos(t: u32) -> vec2u {
  if (p.es == 1u) { return vec2u(t / N, t % N); }
  return vec2u(t % ROWS, t / ROWS);
}

// All passes of one direction on buf; `src` is the half holding the input; returns the half with the result.
fn passes(lid: u32, src0: u32, dir: f32) -> u32 {
  var src = src0;
  var pp = 1u;
  for (var s = 0u; s < NPASS; s++) {
    let r = (PLAN >> (4u * s)) & 15u;
    let dst = ROWS * N - src;
    let nr = N / r;
    let tstep = N / (r * pp);
    for (var bf = lid; bf < ROWS * nr; bf += WG) {
      let row = bf / nr;
      let i = bf % nr;
      let k = i % pp;
      let ib = src + row * N + i;
      var u: array<vec2f, 5>;
      for (var m = 0u; m < r; m++) {
        var v = buf[ib + m * nr];
        if (m > 0u && k > 0u) { v = cmul(v, twiddle(m * k * tstep, dir)); }
        u[m] = v;
      }
      dft(r, &u, dir);
      let ob = dst + row * N + (i - k) * r + k;
      for (var m = 0u; m < r; m++) { buf[ob + m * pp] = u[m]; }
    }
    workgroupBarrier();
    pp *= r;
    src = dst;
  }
  return src;
}

fn load_rows(lid: u32, first: u32) {
  for (var t = lid; t < ROWS * N; t += WG) {
    let q = load_pos(t);
    let b = first + q.x;
    var v = vec2f(0.0);
    if (b < p.batch) { v = data[base_of(b) + q.y * p.es]; }
    buf[q.x * N + q.y] = v;
  }
  workgroupBarrier();
}

fn store_rows(lid: u32, first: u32, src: u32) {
  for (var t = lid; t < ROWS * N; t += WG) {
    let q = load_pos(t);
    let b = first + q.x;
    if (b < p.batch) { data[base_of(b) + q.y * p.es] = buf[src + q.x * N + q.y] * p.scale; }
  }
}

@compute @workgroup_size(WG)
fn fft_wg(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let first = (wid.x + wid.y * nwg.x) * ROWS;
  load_rows(lid, first);
  let res = passes(lid, 0u, p.dir);
  store_rows(lid, first, res);
}

@compute @workgroup_size(WG)
fn fft_filter(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let first = (wid.x + wid.y * nwg.x) * ROWS;
  load_rows(lid, first);
  let mid = passes(lid, 0u, -1.0);
  for (var t = lid; t < ROWS * N; t += WG) {
    let row = t / N;
    let i = t % N;
    let b = first + row;
    if (b < p.batch) {
      var f = aux[i * p.filter_stride + b % p.inner];
      if (p.conj_filter == 1u) { f.y = -f.y; }
      buf[mid + t] = cmul(buf[mid + t], f);
    }
  }
  workgroupBarrier();
  let res = passes(lid, mid, 1.0);
  store_rows(lid, first, res);
}

// One radix-r pass in global memory: data → aux. One invocation per butterfly.
@compute @workgroup_size(256)
fn fft_pass(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = gid.x + gid.y * nwg.x * 256u;
  let r = p.r;
  let nr = p.n / r;
  if (g >= p.batch * nr) { return; }
  let b = g / nr;
  let i = g % nr;
  let k = i % p.pp;
  let base = base_of(b);
  let tstep = p.n / (r * p.pp);
  var u: array<vec2f, 5>;
  for (var m = 0u; m < r; m++) {
    var v = data[base + (i + m * nr) * p.es];
    if (m > 0u && k > 0u) { v = cmul(v, twiddle(m * k * tstep, p.dir)); }
    u[m] = v;
  }
  dft(r, &u, p.dir);
  let o = (i - k) * r + k;
  for (var m = 0u; m < r; m++) { aux[base + (o + m * p.pp) * p.es] = u[m] * p.scale; }
}
