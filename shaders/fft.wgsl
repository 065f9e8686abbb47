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

//#interface

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

const C3_: f32 = 0.8660254037844386;   // sin(2π/3)
const C51: f32 = 0.30901699437494745; // cos(2π/5)
const C52: f32 = -0.8090169943749475; // cos(4π/5)
const S51: f32 = 0.9510565162951535;  // sin(2π/5)
const S52: f32 = 0.5877852522924731;  // sin(4π/5)

// r-point DFTs with sign dir, on explicit registers (no dynamically indexed arrays: those spill).
struct C2 { a: vec2f, b: vec2f }
struct C3 { a: vec2f, b: vec2f, c: vec2f }
struct C4 { a: vec2f, b: vec2f, c: vec2f, d: vec2f }
struct C5 { a: vec2f, b: vec2f, c: vec2f, d: vec2f, e: vec2f }

fn dft2(u0: vec2f, u1: vec2f) -> C2 {
  return C2(u0 + u1, u0 - u1);
}
fn dft4(u0: vec2f, u1: vec2f, u2: vec2f, u3: vec2f, dir: f32) -> C4 {
  let v0 = u0 + u2; let v1 = u0 - u2;
  let v2 = u1 + u3; let v3 = rot(u1 - u3, dir);
  return C4(v0 + v2, v1 + v3, v0 - v2, v1 - v3);
}
fn dft3(u0: vec2f, u1: vec2f, u2: vec2f, dir: f32) -> C3 {
  let t1 = u1 + u2;
  let t2 = u0 - 0.5 * t1;
  let t3 = rot(u1 - u2, dir) * C3_;
  return C3(u0 + t1, t2 + t3, t2 - t3);
}
fn dft5(u0: vec2f, u1: vec2f, u2: vec2f, u3: vec2f, u4: vec2f, dir: f32) -> C5 {
  let a1 = u1 + u4; let a2 = u2 + u3;
  let b1 = u1 - u4; let b2 = u2 - u3;
  let t1 = u0 + C51 * a1 + C52 * a2;
  let t2 = u0 + C52 * a1 + C51 * a2;
  let q1 = rot(S51 * b1 + S52 * b2, dir);
  let q2 = rot(S52 * b1 - S51 * b2, dir);
  return C5(u0 + a1 + a2, t1 + q1, t2 + q2, t2 - q2, t1 - q1);
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

// One radix-r pass over every butterfly of the workgroup's rows: buf[src..] → buf[dst..].
fn wg_pass(lid: u32, r: u32, src: u32, dst: u32, pp: u32, dir: f32) {
  let nr = N / r;
  let tstep = N / (r * pp);
  for (var bf = lid; bf < ROWS * nr; bf += WG) {
    let row = bf / nr;
    let i = bf - row * nr;
    let k = i % pp;
    let ib = src + row * N + i;
    let ob = dst + row * N + (i - k) * r + k;
    let kt = k * tstep;
    if (r == 4u) {
      let y = dft4(buf[ib], cmul(buf[ib + nr], twiddle(kt, dir)), cmul(buf[ib + 2u * nr], twiddle(2u * kt, dir)),
                   cmul(buf[ib + 3u * nr], twiddle(3u * kt, dir)), dir);
      buf[ob] = y.a; buf[ob + pp] = y.b; buf[ob + 2u * pp] = y.c; buf[ob + 3u * pp] = y.d;
    } else if (r == 2u) {
      let y = dft2(buf[ib], cmul(buf[ib + nr], twiddle(kt, dir)));
      buf[ob] = y.a; buf[ob + pp] = y.b;
    } else if (r == 3u) {
      let y = dft3(buf[ib], cmul(buf[ib + nr], twiddle(kt, dir)), cmul(buf[ib + 2u * nr], twiddle(2u * kt, dir)), dir);
      buf[ob] = y.a; buf[ob + pp] = y.b; buf[ob + 2u * pp] = y.c;
    } else {
      let y = dft5(buf[ib], cmul(buf[ib + nr], twiddle(kt, dir)), cmul(buf[ib + 2u * nr], twiddle(2u * kt, dir)),
                   cmul(buf[ib + 3u * nr], twiddle(3u * kt, dir)), cmul(buf[ib + 4u * nr], twiddle(4u * kt, dir)), dir);
      buf[ob] = y.a; buf[ob + pp] = y.b; buf[ob + 2u * pp] = y.c; buf[ob + 3u * pp] = y.d; buf[ob + 4u * pp] = y.e;
    }
  }
}

// All passes of one direction on buf; `src` is the half holding the input; returns the half with the result.
fn passes(lid: u32, src0: u32, dir: f32) -> u32 {
  var src = src0;
  var pp = 1u;
  for (var s = 0u; s < NPASS; s++) {
    let r = (PLAN >> (4u * s)) & 15u;
    let dst = ROWS * N - src;
    wg_pass(lid, r, src, dst, pp, dir);
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
fn at(base: u32, i: u32) -> u32 {
  return base + i * p.es;
}

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
  let kt = k * (p.n / (r * p.pp));
  let o = (i - k) * r + k;
  let pp = p.pp;
  let sc = p.scale;
  let dir = p.dir;
  if (r == 4u) {
    let y = dft4(data[at(base, i)], cmul(data[at(base, i + nr)], twiddle(kt, dir)), cmul(data[at(base, i + 2u * nr)], twiddle(2u * kt, dir)),
                 cmul(data[at(base, i + 3u * nr)], twiddle(3u * kt, dir)), dir);
    aux[at(base, o)] = y.a * sc; aux[at(base, o + pp)] = y.b * sc; aux[at(base, o + 2u * pp)] = y.c * sc; aux[at(base, o + 3u * pp)] = y.d * sc;
  } else if (r == 2u) {
    let y = dft2(data[at(base, i)], cmul(data[at(base, i + nr)], twiddle(kt, dir)));
    aux[at(base, o)] = y.a * sc; aux[at(base, o + pp)] = y.b * sc;
  } else if (r == 3u) {
    let y = dft3(data[at(base, i)], cmul(data[at(base, i + nr)], twiddle(kt, dir)), cmul(data[at(base, i + 2u * nr)], twiddle(2u * kt, dir)), dir);
    aux[at(base, o)] = y.a * sc; aux[at(base, o + pp)] = y.b * sc; aux[at(base, o + 2u * pp)] = y.c * sc;
  } else {
    let y = dft5(data[at(base, i)], cmul(data[at(base, i + nr)], twiddle(kt, dir)), cmul(data[at(base, i + 2u * nr)], twiddle(2u * kt, dir)),
                 cmul(data[at(base, i + 3u * nr)], twiddle(3u * kt, dir)), cmul(data[at(base, i + 4u * nr)], twiddle(4u * kt, dir)), dir);
    aux[at(base, o)] = y.a * sc; aux[at(base, o + pp)] = y.b * sc; aux[at(base, o + 2u * pp)] = y.c * sc;
    aux[at(base, o + 3u * pp)] = y.d * sc; aux[at(base, o + 4u * pp)] = y.e * sc;
  }
}
