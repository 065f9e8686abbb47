// The guided-diffusion UNetModel on WebGPU: forward, reverse mode (VJP), forward mode (JVP) and the
// hyper-dual pass for mixed second derivatives, all from one layer plan (architecture.ts).
//
// Forward mode stacks the K components of every activation along the batch axis ([K*N, C, H, W],
// component k of image n at k*N + n): convolutions and resampling are linear in x and run on the whole
// stack with their bias on the primal block only; GroupNorm (+SiLU, scale-shift) and attention get
// exact dual (K = 2) or hyper-dual (K = 4) arithmetic. The timestep path is constant in x and computed
// once per call on the primal batch.
//
// Reverse mode records, block by block, what the backward needs (block inputs of GroupNorm and attention,
// nothing else), then walks the plan backwards with transposed kernels.
import type { Engine, Tensor } from '../engine/index.js';
import { attention, attentionBackward } from '../engine/ops/attention.js';
import { conv2d, conv2dBackwardInput } from '../engine/ops/conv2d.js';
import { groupNorm, groupNormBackward } from '../engine/ops/groupnorm.js';
import {
  addChannelBias,
  avgPool2x,
  avgPool2xAdjoint,
  concatChannels,
  sliceChannels,
  upsample2x,
  upsample2xAdjoint,
} from '../engine/ops/layout.js';
import { linear } from '../engine/ops/linear.js';
import { axpby, copy } from '../engine/ops/vector.js';
import { buildArchitecture, type Block, type UNetPlan } from './architecture.js';
import type { UNetConfig } from './config.js';
import { timestepEmbedding } from './timestep.js';
import type { UNetWeights } from './weights.js';

type K = 1 | 2 | 4;
type ResBlock = Extract<Block, { kind: 'res' }>;
type AttnBlock = Extract<Block, { kind: 'attn' }>;

/** What one block's backward needs. */
interface Saved {
  block: Block;
  /** block input */
  x: Tensor;
  /** ResBlock: the input of the second GroupNorm (after emb bias when not scale-shift) */
  h?: Tensor;
  /** ResBlock: the emb projection [N, C or 2C] */
  embOut?: Tensor;
  /** attention: qkv */
  qkv?: Tensor;
}

interface Pass {
  K: K;
  /** images (the primal batch) */
  N: number;
  /** emb after time_embed, [N, timeEmbedDim] */
  emb: Tensor;
  /** record for reverse mode */
  tape?: Saved[];
  /** the caller's input (never freed here) */
  input?: Tensor;
}

export class UNet {
  readonly plan: UNetPlan;
  readonly config: UNetConfig;
  readonly imageShape: readonly [number, number, number];
  readonly outChannels: number;
  readonly learnSigma: boolean;
  private w: Map<string, Tensor>;

  constructor(
    readonly engine: Engine,
    weights: UNetWeights,
  ) {
    this.config = weights.config;
    this.plan = buildArchitecture(this.config);
    this.w = weights.tensors;
    const c = this.config;
    this.imageShape = [c.inChannels, c.imageSize, c.imageSize];
    this.outChannels = c.outChannels;
    this.learnSigma = c.learnSigma;
  }

  /** Frees the weights; the model cannot be used afterwards. */
  destroy(): void {
    this.engine.release(...this.w.values());
    this.w.clear();
  }

  private p(name: string): Tensor {
    const t = this.w.get(name);
    if (!t) throw new Error(`UNet: missing weight '${name}'`);
    return t;
  }

  // ------------------------------------------------------------------ public API

  forward(x: Tensor, t: readonly number[]): Tensor {
    this.checkInput(x, t, 'forward');
    const pass = this.begin(t, 1);
    const out = this.run(pass, x);
    this.end(pass);
    return out;
  }

  jvp(x: Tensor, t: readonly number[], v: Tensor): { out: Tensor; tangent: Tensor } {
    const N = this.checkInput(x, t, 'jvp');
    this.checkLike(v, x, 'jvp tangent v');
    const stack = this.stack([x, v]);
    const pass = this.begin(t, 2);
    const y = this.run(pass, stack);
    this.end(pass);
    this.engine.release(stack);
    const [out, tangent] = this.unstack(y, 2, N);
    return { out, tangent };
  }

  d2(x: Tensor, t: readonly number[], w: Tensor, v: Tensor): { out: Tensor; dw: Tensor; dv: Tensor; d2: Tensor } {
    const N = this.checkInput(x, t, 'd2');
    this.checkLike(w, x, 'd2 direction w');
    this.checkLike(v, x, 'd2 direction v');
    const zero = this.engine.upload(new Float32Array(x.size), x.shape, 'zero');
    const stack = this.stack([x, w, v, zero]);
    this.engine.release(zero);
    const pass = this.begin(t, 4);
    const y = this.run(pass, stack);
    this.end(pass);
    this.engine.release(stack);
    const [out, dw, dv, d2] = this.unstack(y, 4, N);
    return { out, dw, dv, d2 };
  }

  vjp(x: Tensor, t: readonly number[], u: Tensor): { out: Tensor; grad: Tensor } {
    const N = this.checkInput(x, t, 'vjp');
    const outShape = [N, this.outChannels, this.config.imageSize, this.config.imageSize];
    if (u.shape.join(',') !== outShape.join(','))
      throw new Error(`vjp: cotangent u must have the output shape [${outShape}], got [${u.shape}]`);
    const pass = this.begin(t, 1);
    pass.tape = [];
    pass.input = x;
    const out = this.run(pass, x);
    const grad = this.backward(pass, u);
    this.end(pass);
    return { out, grad };
  }

  /**
   * f(x) with the reverse-mode record kept: `backward(u)` (at most once) gives uᵀ∂f/∂x without a second
   * forward pass — what DPS-style guidance needs each step. `release()` frees the record either way.
   */
  forwardWithVjp(x: Tensor, t: readonly number[]): { out: Tensor; backward(u: Tensor): Tensor; release(): void } {
    this.checkInput(x, t, 'forwardWithVjp');
    const pass = this.begin(t, 1);
    pass.tape = [];
    pass.input = x;
    const out = this.run(pass, x);
    let done = false;
    return {
      out,
      backward: (u: Tensor) => {
        if (done) throw new Error('UNet.forwardWithVjp: backward() may be called once');
        done = true;
        const g = this.backward(pass, u);
        this.end(pass);
        return g;
      },
      release: () => {
        if (done) return;
        done = true;
        for (const rec of pass.tape!) {
          if (rec.x !== pass.input) this.engine.release(rec.x);
          this.engine.release(rec.h, rec.embOut, rec.qkv);
        }
        pass.tape = [];
        this.end(pass);
      },
    };
  }

  // ------------------------------------------------------------------ plumbing

  private checkInput(x: Tensor, t: readonly number[], what: string): number {
    const [C, H, W] = this.imageShape;
    if (x.shape.length !== 4 || x.shape[1] !== C || x.shape[2] !== H || x.shape[3] !== W) {
      throw new Error(`UNet.${what}: x must be [N, ${C}, ${H}, ${W}] for this model, got [${x.shape}]`);
    }
    if (t.length !== x.shape[0]) throw new Error(`UNet.${what}: ${t.length} timesteps for a batch of ${x.shape[0]}`);
    return x.shape[0];
  }

  private checkLike(a: Tensor, x: Tensor, what: string) {
    if (a.shape.join(',') !== x.shape.join(','))
      throw new Error(`UNet: ${what} must have shape [${x.shape}], got [${a.shape}]`);
  }

  /** concatenate along the batch axis */
  private stack(parts: Tensor[]): Tensor {
    const [n, ...rest] = parts[0].shape;
    const out = this.engine.tensor([n * parts.length, ...rest], 'stack');
    parts.forEach((p, k) => this.engine.release(copy(this.engine, p, out.view(k * p.size, p.shape))));
    return out;
  }

  private unstack(y: Tensor, k: number, N: number): Tensor[] {
    const per = y.size / k;
    const shape = [N, ...y.shape.slice(1)];
    const parts = Array.from({ length: k }, (_, i) => {
      const v = y.view(i * per, shape);
      const c = copy(this.engine, v);
      this.engine.release(v);
      return c;
    });
    this.engine.release(y);
    return parts;
  }

  private begin(t: readonly number[], K: K): Pass {
    const e = this.engine;
    const te = this.plan.timeEmbed;
    const sin = e.upload(timestepEmbedding(t, te.cin), [t.length, te.cin], 'timestep_embedding');
    const h = linear(e, sin, this.p('time_embed.0.weight'), this.p('time_embed.0.bias'));
    const emb = linear(e, h, this.p('time_embed.2.weight'), this.p('time_embed.2.bias'), { siluInput: true });
    e.release(sin, h);
    return { K, N: t.length, emb };
  }

  private end(pass: Pass) {
    this.engine.release(pass.emb);
  }

  /** the time embedding of a pass after `time_embed` (for parity tests) */
  timeEmbedding(t: readonly number[]): Tensor {
    return this.begin(t, 1).emb;
  }

  /** Runs the network on a [K*N, ...] stack. With `pass.tape`, records what backward() needs. */
  run(pass: Pass, x: Tensor, onBlock?: (name: string, h: Tensor) => void): Tensor {
    const e = this.engine;
    const skips: Tensor[] = [];
    let h = x;
    // The first layer of an input/middle block reads the caller's x or a skip that the output path still
    // needs, so only later layers may free their input.
    this.plan.inputBlocks.forEach((blocks, i) => {
      blocks.forEach((b, j) => (h = this.block(pass, b, h, j > 0)));
      onBlock?.(`input_blocks.${i}`, h);
      skips.push(h);
    });
    this.plan.middleBlock.forEach((b, j) => (h = this.block(pass, b, h, j > 0)));
    onBlock?.('middle_block', h);
    this.plan.outputBlocks.forEach((blocks, i) => {
      const skip = skips.pop()!;
      const cat = concatChannels(e, h, skip);
      // With a tape every skip is also the saved input of the next input block (freed by backward).
      if (!pass.tape) e.release(skip);
      e.release(h);
      h = cat;
      for (const b of blocks) h = this.block(pass, b, h, true);
      onBlock?.(`output_blocks.${i}`, h);
    });
    const o = this.plan.out;
    const a = groupNorm(e, h, this.p('out.0.weight'), this.p('out.0.bias'), { K: pass.K, silu: true });
    const out = conv2d(e, a, this.p('out.2.weight'), this.p('out.2.bias'), { pad: 1, biasBatches: pass.N });
    if (pass.tape)
      pass.tape.push({ block: { kind: 'conv', prefix: 'out', cin: o.cin, cout: o.cout, stride: 1 }, x: h });
    else e.release(h);
    e.release(a);
    return out;
  }

  /** One block; `ownsInput` says whether the input may be released (not the caller's x / a saved skip). */
  private block(pass: Pass, b: Block, x: Tensor, ownsInput: boolean): Tensor {
    const e = this.engine;
    let y: Tensor;
    switch (b.kind) {
      case 'conv':
      case 'down':
        y = conv2d(
          e,
          x,
          this.p(`${b.prefix}${b.kind === 'down' ? '.op' : ''}.weight`),
          this.p(`${b.prefix}${b.kind === 'down' ? '.op' : ''}.bias`),
          {
            pad: 1,
            stride: b.kind === 'down' ? 2 : b.stride,
            biasBatches: pass.N,
          },
        );
        pass.tape?.push({ block: b, x });
        break;
      case 'up': {
        const u = upsample2x(e, x);
        y = conv2d(e, u, this.p(`${b.prefix}.conv.weight`), this.p(`${b.prefix}.conv.bias`), {
          pad: 1,
          biasBatches: pass.N,
        });
        e.release(u);
        pass.tape?.push({ block: b, x });
        break;
      }
      case 'res':
        y = this.resBlock(pass, b, x);
        break;
      case 'attn':
        y = this.attnBlock(pass, b, x);
        break;
    }
    if (ownsInput && !pass.tape) e.release(x);
    return y;
  }

  private resBlock(pass: Pass, b: ResBlock, x: Tensor): Tensor {
    const e = this.engine;
    const P = b.prefix;
    let a = groupNorm(e, x, this.p(`${P}.in_layers.0.weight`), this.p(`${P}.in_layers.0.bias`), {
      K: pass.K,
      silu: true,
    });
    let xs = x;
    if (b.up || b.down) {
      const resample = b.up ? upsample2x : avgPool2x;
      const a2 = resample(e, a);
      e.release(a);
      a = a2;
      xs = resample(e, x);
    }
    let h = conv2d(e, a, this.p(`${P}.in_layers.2.weight`), this.p(`${P}.in_layers.2.bias`), {
      pad: 1,
      biasBatches: pass.N,
    });
    e.release(a);
    const embOut = linear(e, pass.emb, this.p(`${P}.emb_layers.1.weight`), this.p(`${P}.emb_layers.1.bias`), {
      siluInput: true,
    });
    let c: Tensor;
    if (b.scaleShift) {
      c = groupNorm(e, h, this.p(`${P}.out_layers.0.weight`), this.p(`${P}.out_layers.0.bias`), {
        K: pass.K,
        silu: true,
        scaleShift: embOut,
      });
    } else {
      const h2 = addChannelBias(e, h, embOut, pass.N);
      e.release(h);
      h = h2;
      c = groupNorm(e, h, this.p(`${P}.out_layers.0.weight`), this.p(`${P}.out_layers.0.bias`), {
        K: pass.K,
        silu: true,
      });
    }
    const skip = b.skip
      ? conv2d(e, xs, this.p(`${P}.skip_connection.weight`), this.p(`${P}.skip_connection.bias`), {
          pad: 0,
          biasBatches: pass.N,
        })
      : xs;
    const y = conv2d(e, c, this.p(`${P}.out_layers.3.weight`), this.p(`${P}.out_layers.3.bias`), {
      pad: 1,
      biasBatches: pass.N,
      residual: skip,
    });
    e.release(c);
    if (skip !== x) e.release(skip);
    if (xs !== x && xs !== skip) e.release(xs);
    if (pass.tape) pass.tape.push({ block: b, x, h, embOut });
    else e.release(h, embOut);
    return y;
  }

  private attnBlock(pass: Pass, b: AttnBlock, x: Tensor): Tensor {
    const e = this.engine;
    const P = b.prefix;
    const [n, C, H, W] = x.shape;
    const xt = x.reshape([n, C, H * W, 1]);
    const nx = groupNorm(e, xt, this.p(`${P}.norm.weight`), this.p(`${P}.norm.bias`), { K: pass.K });
    const qkv = conv2d(e, nx, this.w1d(`${P}.qkv.weight`), this.p(`${P}.qkv.bias`), { pad: 0, biasBatches: pass.N });
    e.release(nx);
    const a = attention(e, qkv.reshape([n, 3 * C, H * W]), b.heads, pass.K);
    const y = conv2d(e, a.reshape([n, C, H * W, 1]), this.w1d(`${P}.proj_out.weight`), this.p(`${P}.proj_out.bias`), {
      pad: 0,
      biasBatches: pass.N,
      residual: xt,
    });
    e.release(a);
    if (pass.tape) pass.tape.push({ block: b, x, qkv });
    else e.release(qkv);
    return y.reshape([n, C, H, W]);
  }

  /** Conv1d weight [Cout, Cin, 1] seen as a 1×1 conv2d weight. */
  private w1d(name: string): Tensor {
    const t = this.p(name);
    return t.reshape([t.shape[0], t.shape[1], 1, 1]);
  }

  // ------------------------------------------------------------------ reverse mode

  private backward(pass: Pass, u: Tensor): Tensor {
    const e = this.engine;
    const tape = pass.tape!;
    // out: conv(GN_silu(h))
    const outRec = tape.pop()!;
    const ga = conv2dBackwardInput(e, u, this.p('out.2.weight'), outRec.x.shape, { pad: 1 });
    let g = groupNormBackward(e, outRec.x, this.p('out.0.weight'), this.p('out.0.bias'), ga, { silu: true });
    e.release(ga, outRec.x);
    // output blocks in reverse: each consumed cat(h, skip)
    // output block j consumed the skip of input block (nIn - 1 - j)
    const nIn = this.plan.inputBlocks.length;
    const skipGrads: Tensor[] = new Array(nIn);
    for (let i = this.plan.outputBlocks.length - 1; i >= 0; i--) {
      for (const b of [...this.plan.outputBlocks[i]].reverse()) g = this.blockBackward(pass, tape.pop()!, b, g);
      const cin = g.shape[1];
      const cs = this.plan.skipChannels[i];
      const gh = sliceChannels(e, g, 0, cin - cs);
      skipGrads[nIn - 1 - i] = sliceChannels(e, g, cin - cs, cs);
      e.release(g);
      g = gh;
    }
    for (const b of [...this.plan.middleBlock].reverse()) g = this.blockBackward(pass, tape.pop()!, b, g);
    for (let i = nIn - 1; i >= 0; i--) {
      const sg = skipGrads[i];
      axpby(e, 1, sg, 1, g);
      e.release(sg);
      for (const b of [...this.plan.inputBlocks[i]].reverse()) g = this.blockBackward(pass, tape.pop()!, b, g);
    }
    if (tape.length) throw new Error(`UNet.vjp: internal error, ${tape.length} tape records left`);
    return g;
  }

  private blockBackward(pass: Pass, rec: Saved, b: Block, g: Tensor): Tensor {
    const e = this.engine;
    if (rec.block.prefix !== b.prefix)
      throw new Error(`UNet.vjp: tape out of order (${rec.block.prefix} vs ${b.prefix})`);
    let gx: Tensor;
    switch (b.kind) {
      case 'conv':
      case 'down': {
        const wname = `${b.prefix}${b.kind === 'down' ? '.op' : ''}.weight`;
        gx = conv2dBackwardInput(e, g, this.p(wname), rec.x.shape, {
          pad: 1,
          stride: b.kind === 'down' ? 2 : b.stride,
        });
        break;
      }
      case 'up': {
        const [n, c, h, w] = rec.x.shape;
        const gu = conv2dBackwardInput(e, g, this.p(`${b.prefix}.conv.weight`), [n, c, 2 * h, 2 * w], { pad: 1 });
        gx = upsample2xAdjoint(e, gu);
        e.release(gu);
        break;
      }
      case 'res':
        gx = this.resBackward(rec, b, g);
        break;
      case 'attn':
        gx = this.attnBackward(rec, b, g);
        break;
    }
    e.release(g);
    if (rec.x !== pass.input) e.release(rec.x);
    return gx;
  }

  private resBackward(rec: Saved, b: ResBlock, g: Tensor): Tensor {
    const e = this.engine;
    const P = b.prefix;
    const x = rec.x;
    const h = rec.h!;
    const gc = conv2dBackwardInput(e, g, this.p(`${P}.out_layers.3.weight`), h.shape, { pad: 1 });
    const gh = groupNormBackward(e, h, this.p(`${P}.out_layers.0.weight`), this.p(`${P}.out_layers.0.bias`), gc, {
      silu: true,
      scaleShift: b.scaleShift ? rec.embOut : undefined,
    });
    e.release(gc, h, rec.embOut);
    // in_layers conv input is the (resampled) GN_silu(x)
    const [n, , H, W] = x.shape;
    const aShape = b.up ? [n, b.cin, 2 * H, 2 * W] : b.down ? [n, b.cin, H / 2, W / 2] : [n, b.cin, H, W];
    let ga = conv2dBackwardInput(e, gh, this.p(`${P}.in_layers.2.weight`), aShape, { pad: 1 });
    e.release(gh);
    // skip path gradient (w.r.t. the resampled x)
    let gxs = b.skip
      ? conv2dBackwardInput(e, g, this.p(`${P}.skip_connection.weight`), aShape, { pad: 0 })
      : copy(e, g);
    if (b.up || b.down) {
      const adj = b.up ? upsample2xAdjoint : avgPool2xAdjoint;
      const ga2 = adj(e, ga);
      const gxs2 = adj(e, gxs);
      e.release(ga, gxs);
      ga = ga2;
      gxs = gxs2;
    }
    const gx = groupNormBackward(e, x, this.p(`${P}.in_layers.0.weight`), this.p(`${P}.in_layers.0.bias`), ga, {
      silu: true,
    });
    e.release(ga);
    axpby(e, 1, gxs, 1, gx);
    e.release(gxs);
    return gx;
  }

  private attnBackward(rec: Saved, b: AttnBlock, g: Tensor): Tensor {
    const e = this.engine;
    const P = b.prefix;
    const [n, C, H, W] = rec.x.shape;
    const T = H * W;
    const gt = g.reshape([n, C, T, 1]);
    const ga = conv2dBackwardInput(e, gt, this.w1d(`${P}.proj_out.weight`), [n, C, T, 1], { pad: 0 });
    const gqkv = attentionBackward(e, rec.qkv!.reshape([n, 3 * C, T]), b.heads, ga.reshape([n, C, T]));
    e.release(ga, rec.qkv);
    const gn = conv2dBackwardInput(e, gqkv.reshape([n, 3 * C, T, 1]), this.w1d(`${P}.qkv.weight`), [n, C, T, 1], {
      pad: 0,
    });
    e.release(gqkv);
    const gx = groupNormBackward(
      e,
      rec.x.reshape([n, C, T, 1]),
      this.p(`${P}.norm.weight`),
      this.p(`${P}.norm.bias`),
      gn,
    );
    e.release(gn);
    axpby(e, 1, gt, 1, gx);
    return gx.reshape([n, C, H, W]);
  }
}
