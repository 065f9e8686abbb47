// y[n, o] = sum_k act(x[n, k]) * W[o, k] (+ bias[o] for n < bias_batches): the portable path, one
// output per invocation. TRANS: y[n, o] = sum_k x[n, k] * W[k, o], the input gradient of a linear layer.
// Dispatcher: src/engine/ops/linear.ts (lavapipe uses linear-sg.wgsl).

//#interface

override TRANS: bool = false;
override SILU: bool = false;   // apply SiLU to x on load (ADM's emb_layers: SiLU then Linear)

fn act(v: f32) -> f32 {
  if (SILU) { return v / (1.0 + exp(-v)); }
  return v;
}

// grid: (ceil(cout / 64), n)
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let o = gid.x;
  let n = gid.y;
  if (o >= p.cout) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.cin; k++) {
    var w: f32;
    if (TRANS) { w = wt[k * p.cout + o]; } else { w = wt[o * p.cin + k]; }
    s += act(x[n * p.cin + k]) * w;
  }
  if (BIAS && n < p.bias_batches) { s += bias[o]; }
  y[n * p.cout + o] = s;
}
