import { ModelConfigError, type UNetConfig } from './config.ts';

/**
 * Layer plan of guided-diffusion's `UNetModel` (openai/guided-diffusion, guided_diffusion/unet.py),
 * as plain data. It is the single source of truth for both the weight converter (the exact
 * state_dict keys/shapes, via architectureTensors) and the model builder (which layers to run).
 *
 * Structure mirrored from UNetModel.__init__ (dims=2, conv_resample=True, num_classes=None):
 *  - time_embed: Linear(C, 4C) -> SiLU -> Linear(4C, 4C)        (C = model_channels)
 *  - input_blocks[0] = 3x3 conv in_channels -> ch0 (ch0 = int(channel_mult[0] * C))
 *    then per level: num_res_blocks x [ResBlock(ch -> mult*C), +AttentionBlock if ds in attentionDs],
 *    and between levels one downsampler: ResBlock(down=True) if resblock_updown else a stride-2
 *    3x3 conv ("op"). Every input block's output channels are pushed to `inputChannels` (the skips).
 *  - middle_block: ResBlock, AttentionBlock, ResBlock at the lowest resolution.
 *  - output_blocks: levels reversed, num_res_blocks + 1 blocks each; each starts with
 *    ResBlock(ch + skip -> mult*C) on the concatenation [h, skip] (skip popped from inputChannels,
 *    recorded in `skipChannels`), +AttentionBlock (heads from num_heads_upsample), and the last block
 *    of every level but level 0 ends with an upsampler: ResBlock(up=True) or nearest-2x + 3x3 conv.
 *  - out: GroupNorm(32, ch) -> SiLU -> 3x3 conv ch0 -> out_channels.
 * Every `prefix` is the state_dict path of the module, e.g. "output_blocks.5.2".
 */
export type Block =
  /** 3x3 conv, padding 1 (input_blocks.0.0) */
  | { kind: 'conv'; prefix: string; cin: number; cout: number; stride: 1 | 2 }
  /**
   * ResBlock. `skip` = has a 1x1 skip_connection conv (only when cin != cout; UNetModel never sets
   * use_conv, so it is never 3x3). `up`/`down`: nearest-2x / 2x2 avg-pool applied to both h (between
   * in_layers' SiLU and conv) and x. `emb` = time-embedding width; the emb projection outputs
   * 2*cout (scale, shift) when scaleShift.
   */
  | {
      kind: 'res';
      prefix: string;
      cin: number;
      cout: number;
      emb: number;
      scaleShift: boolean;
      up?: boolean;
      down?: boolean;
      skip: boolean;
    }
  /** AttentionBlock with the legacy head order (QKVAttentionLegacy); qkv/proj_out are 1x1 Conv1d. */
  | { kind: 'attn'; prefix: string; channels: number; heads: number }
  /** Downsample(use_conv=True): 3x3 conv, stride 2, padding 1, param name "op". */
  | { kind: 'down'; prefix: string; channels: number; useConv: true }
  /** Upsample(use_conv=True): nearest 2x then 3x3 conv, param name "conv". */
  | { kind: 'up'; prefix: string; channels: number };

export interface UNetPlan {
  config: UNetConfig;
  timeEmbedDim: number;
  /** time_embed.0: Linear(modelChannels, timeEmbedDim); time_embed.2: Linear(timeEmbedDim, timeEmbedDim) */
  timeEmbed: { prefix: 'time_embed'; cin: number; dim: number };
  inputBlocks: Block[][];
  /** output channels of each input block, i.e. the skip tensors in push order */
  inputChannels: number[];
  middleBlock: Block[];
  outputBlocks: Block[][];
  /** channels of the skip concatenated onto h before output block i */
  skipChannels: number[];
  /** out.0: GroupNorm(normChannels); out.2: 3x3 conv cin -> cout */
  out: { prefix: 'out'; normChannels: number; cin: number; cout: number };
}

function heads(channels: number, numHeads: number, numHeadChannels: number, where: string): number {
  if (numHeadChannels === -1) return numHeads;
  if (channels % numHeadChannels !== 0) {
    throw new ModelConfigError(
      `${where}: attention channels ${channels} are not divisible by num_head_channels ${numHeadChannels}`,
    );
  }
  return channels / numHeadChannels;
}

export function buildArchitecture(cfg: UNetConfig): UNetPlan {
  const C = cfg.modelChannels;
  const ted = C * 4;
  const scaleShift = cfg.useScaleShiftNorm;
  const res = (prefix: string, cin: number, cout: number, extra: { up?: boolean; down?: boolean } = {}): Block => ({
    kind: 'res',
    prefix,
    cin,
    cout,
    emb: ted,
    scaleShift,
    ...extra,
    skip: cin !== cout,
  });
  const levelCh = (mult: number) => Math.trunc(mult * C); // Python int() truncates (channel_mult may hold 0.5)

  let ch = levelCh(cfg.channelMult[0]);
  const inputCh = ch;
  const inputBlocks: Block[][] = [
    [{ kind: 'conv', prefix: 'input_blocks.0.0', cin: cfg.inChannels, cout: ch, stride: 1 }],
  ];
  const inputChannels = [ch];
  let ds = 1;
  cfg.channelMult.forEach((mult, level) => {
    for (let r = 0; r < cfg.numResBlocks; r++) {
      const p = `input_blocks.${inputBlocks.length}`;
      const layers: Block[] = [res(`${p}.0`, ch, levelCh(mult))];
      ch = levelCh(mult);
      if (cfg.attentionDs.includes(ds)) {
        layers.push({
          kind: 'attn',
          prefix: `${p}.1`,
          channels: ch,
          heads: heads(ch, cfg.numHeads, cfg.numHeadChannels, p),
        });
      }
      inputBlocks.push(layers);
      inputChannels.push(ch);
    }
    if (level !== cfg.channelMult.length - 1) {
      const p = `input_blocks.${inputBlocks.length}.0`;
      inputBlocks.push([
        cfg.resblockUpdown ? res(p, ch, ch, { down: true }) : { kind: 'down', prefix: p, channels: ch, useConv: true },
      ]);
      inputChannels.push(ch);
      ds *= 2;
    }
  });

  const middleBlock: Block[] = [
    res('middle_block.0', ch, ch),
    {
      kind: 'attn',
      prefix: 'middle_block.1',
      channels: ch,
      heads: heads(ch, cfg.numHeads, cfg.numHeadChannels, 'middle_block'),
    },
    res('middle_block.2', ch, ch),
  ];

  const outputBlocks: Block[][] = [];
  const skipChannels: number[] = [];
  const pending = [...inputChannels];
  for (let level = cfg.channelMult.length - 1; level >= 0; level--) {
    const mult = cfg.channelMult[level];
    for (let i = 0; i <= cfg.numResBlocks; i++) {
      const p = `output_blocks.${outputBlocks.length}`;
      const ich = pending.pop()!;
      skipChannels.push(ich);
      const layers: Block[] = [res(`${p}.0`, ch + ich, levelCh(mult))];
      ch = levelCh(mult);
      if (cfg.attentionDs.includes(ds)) {
        layers.push({
          kind: 'attn',
          prefix: `${p}.1`,
          channels: ch,
          heads: heads(ch, cfg.numHeadsUpsample, cfg.numHeadChannels, p),
        });
      }
      if (level > 0 && i === cfg.numResBlocks) {
        const q = `${p}.${layers.length}`;
        layers.push(cfg.resblockUpdown ? res(q, ch, ch, { up: true }) : { kind: 'up', prefix: q, channels: ch });
        ds /= 2;
      }
      outputBlocks.push(layers);
    }
  }

  return {
    config: cfg,
    timeEmbedDim: ted,
    timeEmbed: { prefix: 'time_embed', cin: C, dim: ted },
    inputBlocks,
    inputChannels,
    middleBlock,
    outputBlocks,
    skipChannels,
    out: { prefix: 'out', normChannels: ch, cin: inputCh, cout: cfg.outChannels },
  };
}

type Entry = [name: string, shape: number[]];

function linear(prefix: string, cin: number, cout: number): Entry[] {
  return [
    [`${prefix}.weight`, [cout, cin]],
    [`${prefix}.bias`, [cout]],
  ];
}
function conv(prefix: string, cin: number, cout: number, k: number, dims: 1 | 2 = 2): Entry[] {
  return [
    [`${prefix}.weight`, dims === 2 ? [cout, cin, k, k] : [cout, cin, k]],
    [`${prefix}.bias`, [cout]],
  ];
}
function norm(prefix: string, c: number): Entry[] {
  return [
    [`${prefix}.weight`, [c]],
    [`${prefix}.bias`, [c]],
  ];
}

/** Parameters of one block, in the module-registration (= state_dict) order of unet.py. */
export function blockTensors(b: Block): Entry[] {
  switch (b.kind) {
    case 'conv':
      return conv(b.prefix, b.cin, b.cout, 3);
    case 'res':
      return [
        ...norm(`${b.prefix}.in_layers.0`, b.cin),
        ...conv(`${b.prefix}.in_layers.2`, b.cin, b.cout, 3),
        ...linear(`${b.prefix}.emb_layers.1`, b.emb, b.scaleShift ? 2 * b.cout : b.cout),
        ...norm(`${b.prefix}.out_layers.0`, b.cout),
        ...conv(`${b.prefix}.out_layers.3`, b.cout, b.cout, 3),
        ...(b.skip ? conv(`${b.prefix}.skip_connection`, b.cin, b.cout, 1) : []),
      ];
    case 'attn':
      return [
        ...norm(`${b.prefix}.norm`, b.channels),
        ...conv(`${b.prefix}.qkv`, b.channels, 3 * b.channels, 1, 1),
        ...conv(`${b.prefix}.proj_out`, b.channels, b.channels, 1, 1),
      ];
    case 'down':
      return conv(`${b.prefix}.op`, b.channels, b.channels, 3);
    case 'up':
      return conv(`${b.prefix}.conv`, b.channels, b.channels, 3);
  }
}

/** Exact state_dict keys and shapes of UNetModel for this config, in state_dict order. */
export function architectureTensors(cfg: UNetConfig): Entry[] {
  const plan = buildArchitecture(cfg);
  const blocks = [...plan.inputBlocks.flat(), ...plan.middleBlock, ...plan.outputBlocks.flat()];
  return [
    ...linear('time_embed.0', plan.timeEmbed.cin, plan.timeEmbed.dim),
    ...linear('time_embed.2', plan.timeEmbed.dim, plan.timeEmbed.dim),
    ...blocks.flatMap(blockTensors),
    ...norm('out.0', plan.out.normChannels),
    ...conv('out.2', plan.out.cin, plan.out.cout, 3),
  ];
}

export function countParams(tensors: ReadonlyArray<readonly [string, readonly number[]]>): number {
  return tensors.reduce((s, [, shape]) => s + shape.reduce((a, d) => a * d, 1), 0);
}
