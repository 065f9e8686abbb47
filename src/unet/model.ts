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
  /** block input (for an output block's first ResBlock fed without concatenation: the h part) */
  x: Tensor;
  /** that ResBlock's skip part (owned by the tape record of the block that produced it) */
  skipIn?: Tensor;
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
  /** weights split along their input channels for the concat-free output blocks (made on first use) */
  private parts = new Map<string, [Tensor, Tensor]>();

  /**
   * Output blocks without torch.cat([h, skip]) where no GroupNorm group straddles h and skip (splitsAt):
   * true always; false never (the reference formulation; tests compare the two); 'auto' (default) only
   * where the concatenation would exceed the storage binding limit (FFHQ-256's 256x256 hyper-dual pass:
   * 256 MiB). Elsewhere concatenating is cheaper: the split doubles those blocks' GroupNorm and conv
   * dispatches and halves the convs' channel blocks (bench/step.bench.ts on lavapipe: 10-15 % more CPU time
   * per pass; on an H100 ~100 more dispatches per FFHQ-256 forward at ~6 us each).
   */
  concatFree: boolean | 'auto' = 'auto';

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

  /**
   * Does an output block's first ResBlock take h (ch channels) and its skip separately? Only where
   * torch.cat([h, skip]) would put no GroupNorm group across both (its 32 groups of cin/32 channels), so
   * that GN(cat) = cat(GN(h) with ch/(cin/32) groups, GN(skip) with the rest).
   */
  private splitsAt(b: Block, h: Tensor): boolean {
    const ch = h.shape[1];
    if (b.kind !== 'res' || b.up || b.down || !b.skip || ch % (b.cin / 32) !== 0) return false;
    if (this.concatFree !== 'auto') return this.concatFree;
    const e = this.engine;
    return (h.size / ch) * b.cin * 4 > e.limits.maxStorageBufferBindingSize;
  }

  /** weight `name` split at input channel c0 (NCHW view of [Cout, Cin, ...] or of a [Cin] vector) */
  private split(name: string, c0: number): [Tensor, Tensor] {
    const key = `${name}@${c0}`;
    let hit = this.parts.get(key);
    if (!hit) {
      const t = this.p(name);
      const w4 = t.shape.length === 1 ? t.reshape([1, t.shape[0], 1, 1]) : t;
      const c = w4.shape[1];
      const a = sliceChannels(this.engine, w4, 0, c0);
      const b = sliceChannels(this.engine, w4, c0, c - c0);
      hit = t.shape.length === 1 ? [a.reshape([c0]), b.reshape([c - c0])] : [a, b];
      this.parts.set(key, hit);
    }
    return hit;
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
      const first = blocks[0] as ResBlock;
      let rest = blocks;
      if (this.splitsAt(first, h)) {
        // the first ResBlock takes h and skip as they are (saves h on its tape record; the skip is
        // already saved by the block that produced it)
        const y = this.resBlock(pass, first, h, skip);
        if (!pass.tape) e.release(h, skip);
        h = y;
        rest = blocks.slice(1);
      } else {
        const cat = concatChannels(e, h, skip);
        // With a tape every skip is also the saved input of the next input block (freed by backward).
        if (!pass.tape) e.release(skip);
        e.release(h);
        h = cat;
      }
      for (const b of rest) h = this.block(pass, b, h, true);
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

  /**
   * `s`: the skip part when the block's input is torch.cat([x, s]) fed unconcatenated (splitsAt): GN and
   * SiLU per part, and each conv as conv(part 1) + conv(part 2) through the conv's fused residual add.
   */
  private resBlock(pass: Pass, b: ResBlock, x: Tensor, s?: Tensor): Tensor {
    if (s) return this.resBlockSplit(pass, b, x, s);
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
    const h = conv2d(e, a, this.p(`${P}.in_layers.2.weight`), this.p(`${P}.in_layers.2.bias`), {
      pad: 1,
      biasBatches: pass.N,
    });
    e.release(a);
    const y = this.resOut(pass, b, h, (c) => {
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
      if (skip !== x) e.release(skip);
      if (xs !== x && xs !== skip) e.release(xs);
      return y;
    });
    pass.tape?.push({ block: b, x, ...y.saved });
    return y.out;
  }

  /** resBlock with its input torch.cat([x, s]) fed as two parts. */
  private resBlockSplit(pass: Pass, b: ResBlock, x: Tensor, s: Tensor): Tensor {
    const e = this.engine;
    const P = b.prefix;
    const c1 = x.shape[1];
    const gs = b.cin / 32;
    const [g1, g2] = this.split(`${P}.in_layers.0.weight`, c1);
    const [b1, b2] = this.split(`${P}.in_layers.0.bias`, c1);
    const a1 = groupNorm(e, x, g1, b1, { K: pass.K, silu: true, groups: c1 / gs });
    const a2 = groupNorm(e, s, g2, b2, { K: pass.K, silu: true, groups: (b.cin - c1) / gs });
    const [w1, w2] = this.split(`${P}.in_layers.2.weight`, c1);
    const h1 = conv2d(e, a1, w1, null, { pad: 1 });
    const h = conv2d(e, a2, w2, this.p(`${P}.in_layers.2.bias`), { pad: 1, biasBatches: pass.N, residual: h1 });
    e.release(a1, a2, h1);
    const y = this.resOut(pass, b, h, (c) => {
      const [s1, s2] = this.split(`${P}.skip_connection.weight`, c1);
      const k1 = conv2d(e, x, s1, null, { pad: 0 });
      const skip = conv2d(e, s, s2, this.p(`${P}.skip_connection.bias`), {
        pad: 0,
        biasBatches: pass.N,
        residual: k1,
      });
      e.release(k1);
      const y = conv2d(e, c, this.p(`${P}.out_layers.3.weight`), this.p(`${P}.out_layers.3.bias`), {
        pad: 1,
        biasBatches: pass.N,
        residual: skip,
      });
      e.release(skip);
      return y;
    });
    pass.tape?.push({ block: b, x, skipIn: s, ...y.saved });
    return y.out;
  }

  /**
   * A ResBlock after its in_layers: h = in_layers(x) (consumed); emb projection, out_layers' GroupNorm
   * (scale-shift or bias) + SiLU, then `finish(c)` = out_layers' conv + the skip path.
   */
  private resOut(
    pass: Pass,
    b: ResBlock,
    h: Tensor,
    finish: (c: Tensor) => Tensor,
  ): { out: Tensor; saved: { h?: Tensor; embOut?: Tensor } } {
    const e = this.engine;
    const P = b.prefix;
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
    const y = finish(c);
    e.release(c);
    if (pass.tape) return { out: y, saved: { h, embOut } };
    e.release(h, embOut);
    return { out: y, saved: {} };
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
      const [first, ...rest] = this.plan.outputBlocks[i];
      for (const b of rest.reverse()) g = this.blockBackward(pass, tape.pop()!, b, g);
      const rec = tape.pop()!;
      if (rec.skipIn) {
        // fed without concatenation: the gradients of h and of the skip come out separately
        if (rec.block.prefix !== first.prefix)
          throw new Error(`UNet.vjp: tape out of order (${rec.block.prefix} vs ${first.prefix})`);
        const [gh, gs] = this.resBackwardSplit(rec, first as ResBlock, g);
        e.release(g, rec.x);
        skipGrads[nIn - 1 - i] = gs;
        g = gh;
        continue;
      }
      g = this.blockBackward(pass, rec, first, g);
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
    const adj = b.up ? upsample2xAdjoint : b.down ? avgPool2xAdjoint : null;
    if (adj) {
      const ga2 = adj(e, ga);
      e.release(ga);
      ga = ga2;
    }
    const gx = groupNormBackward(e, x, this.p(`${P}.in_layers.0.weight`), this.p(`${P}.in_layers.0.bias`), ga, {
      silu: true,
    });
    e.release(ga);
    // + the skip path's gradient: through the 1x1 skip conv (its input gradient adds gx by the fused
    // residual) or the identity, then the resampling adjoint
    const skipW = this.w.get(`${P}.skip_connection.weight`);
    if (b.skip && !adj) {
      const out = conv2dBackwardInput(e, g, skipW!, aShape, { pad: 0, residual: gx });
      e.release(gx);
      return out;
    }
    let gs = b.skip ? conv2dBackwardInput(e, g, skipW!, aShape, { pad: 0 }) : g;
    if (adj) {
      const t = adj(e, gs);
      if (gs !== g) e.release(gs);
      gs = t;
    }
    axpby(e, 1, gs, 1, gx);
    if (gs !== g) e.release(gs);
    return gx;
  }

  /** resBackward for a ResBlock fed torch.cat([x, skip]) as two parts: [gradient of x, of skip]. */
  private resBackwardSplit(rec: Saved, b: ResBlock, g: Tensor): [Tensor, Tensor] {
    const e = this.engine;
    const P = b.prefix;
    const x = rec.x,
      s = rec.skipIn!,
      h = rec.h!;
    const gc = conv2dBackwardInput(e, g, this.p(`${P}.out_layers.3.weight`), h.shape, { pad: 1 });
    const gh = groupNormBackward(e, h, this.p(`${P}.out_layers.0.weight`), this.p(`${P}.out_layers.0.bias`), gc, {
      silu: true,
      scaleShift: b.scaleShift ? rec.embOut : undefined,
    });
    e.release(gc, h, rec.embOut);
    const c1 = x.shape[1];
    const gs = b.cin / 32;
    const grads = ([x, s] as const).map((part, k) => {
      const w = this.split(`${P}.in_layers.2.weight`, c1)[k];
      const ga = conv2dBackwardInput(e, gh, w, part.shape, { pad: 1 });
      const gamma = this.split(`${P}.in_layers.0.weight`, c1)[k];
      const beta = this.split(`${P}.in_layers.0.bias`, c1)[k];
      const gx = groupNormBackward(e, part, gamma, beta, ga, { silu: true, groups: part.shape[1] / gs });
      e.release(ga);
      // + the skip connection's input gradient, added by the conv's fused residual
      const out = conv2dBackwardInput(e, g, this.split(`${P}.skip_connection.weight`, c1)[k], part.shape, {
        pad: 0,
        residual: gx,
      });
      e.release(gx);
      return out;
    });
    e.release(gh);
    return [grads[0], grads[1]];
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
