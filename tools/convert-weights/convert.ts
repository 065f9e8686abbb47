// Convert a guided-diffusion UNet checkpoint (.pt/.pth or .safetensors) into the engine's weight file:
// a safetensors file with every tensor as F32, in state_dict order, and the resolved UNetConfig in
// its metadata. The architecture computed from the config is checked against the checkpoint key by
// key and shape by shape, so that a wrong config fails here (with every difference listed) instead
// of producing a model that silently computes garbage.
import { basename } from 'node:path';
import {
  firstNonFinite,
  parseSafetensors,
  tensorToFloat32,
  type SerializableTensor,
} from '../../src/engine/safetensors.ts';
import { readFileBytes } from '../../src/engine/safetensors-node.ts';
import { writeSafetensorsFile } from '../../src/io/atomic.ts';
import { architectureTensors, countParams } from '../../src/unet/architecture.ts';
import { modelConfigToJson, parseFlatYaml, parseModelConfig, type UNetConfig } from '../../src/unet/config.ts';
import { diffusionToJson, parseDiffusionConfig, type DiffusionSettings } from '../../src/samplers/diffusion-config.ts';
import { loadTorchCheckpoint } from './pt.ts';

export const WEIGHTS_FORMAT = 'webgpu-dps-unet';
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64', 'float32', 'float16', 'bfloat16', 'float64']);

export interface MisshapedTensor {
  name: string;
  checkpoint: number[];
  expected: number[];
}

export class ConfigMismatchError extends Error {
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly misshaped: MisshapedTensor[],
  ) {
    super(message);
    this.name = 'ConfigMismatchError';
  }
}

export interface ConvertedModel {
  config: UNetConfig;
  /** the config's diffusion settings (stored as metadata `diffusion`), null when it names none */
  diffusion: DiffusionSettings | null;
  /** architecture (= state_dict) order */
  tensors: Map<string, SerializableTensor>;
  metadata: Record<string, string>;
  numParams: number;
  /** things worth telling the user (which state dict was used, stripped prefixes, ...) */
  notes: string[];
}

type LoadedTensor = { shape: number[]; data: Float32Array; dtype: string };

/** Load tensors from checkpoint bytes; the format is sniffed from the content, not the extension. */
function loadTensors(
  bytes: Uint8Array,
  label: string,
  notes: string[],
): { tensors: Map<string, LoadedTensor>; stateDictKey: string } {
  // safetensors: an 8-byte little-endian header length that fits the file (anything else is left to the torch
  // reader, which names zip, legacy-torch and foreign files).
  const isZip = bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b;
  const headerLen = bytes.length >= 8 ? new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true) : -1n;
  const looksSafetensors =
    !isZip &&
    ((bytes.length >= 9 && bytes[8] === 0x7b) /* '{' */ || (headerLen >= 0n && headerLen <= BigInt(bytes.length - 8)));
  if (looksSafetensors) {
    const st = parseSafetensors(bytes, label);
    const tensors = new Map<string, LoadedTensor>();
    for (const [name, t] of st.tensors) tensors.set(name, { shape: t.shape, data: tensorToFloat32(t), dtype: t.dtype });
    return { tensors, stateDictKey: '' };
  }
  const ck = loadTorchCheckpoint(bytes, label);
  if (ck.stateDictKey !== null) notes.push(ck.note);
  return { tensors: ck.tensors, stateDictKey: ck.stateDictKey ?? '' };
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Guess the create_model options a checkpoint was built with, from a few telltale shapes. */
function hints(got: Map<string, LoadedTensor>, cfg: UNetConfig): string[] {
  const h: string[] = [];
  const te = got.get('time_embed.0.weight')?.shape;
  if (te?.length === 2 && te[1] !== cfg.modelChannels)
    h.push(`the checkpoint has num_channels = ${te[1]} (config: ${cfg.modelChannels})`);
  const inConv = got.get('input_blocks.0.0.weight')?.shape;
  if (inConv?.length === 4 && inConv[1] !== cfg.inChannels)
    h.push(`the checkpoint has in_channels = ${inConv[1]} (config: ${cfg.inChannels})`);
  const outConv = got.get('out.2.weight')?.shape;
  if (outConv?.length === 4 && outConv[0] !== cfg.outChannels) {
    h.push(`the checkpoint has out_channels = ${outConv[0]} (config: ${cfg.outChannels}; learn_sigma doubles it)`);
  }
  const emb = got.get('input_blocks.1.0.emb_layers.1.weight')?.shape;
  const norm = got.get('input_blocks.1.0.out_layers.0.weight')?.shape;
  if (emb && norm && (emb[0] === 2 * norm[0]) !== cfg.useScaleShiftNorm) {
    h.push(`the checkpoint has use_scale_shift_norm = ${emb[0] === 2 * norm[0]} (config: ${cfg.useScaleShiftNorm})`);
  }
  return h;
}

function checkAgainstConfig(got: Map<string, LoadedTensor>, cfg: UNetConfig, label: string): void {
  const expected = architectureTensors(cfg);
  const expectedNames = new Set(expected.map(([n]) => n));
  const missing: string[] = [];
  const misshaped: MisshapedTensor[] = [];
  for (const [name, shape] of expected) {
    const t = got.get(name);
    if (!t) missing.push(name);
    else if (fmt(t.shape) !== fmt(shape)) misshaped.push({ name, checkpoint: t.shape, expected: shape });
  }
  const unexpected = [...got.keys()].filter((n) => !expectedNames.has(n));
  if (!missing.length && !unexpected.length && !misshaped.length) return;

  const LIMIT = 20;
  const list = (title: string, items: string[]) =>
    items.length === 0
      ? ''
      : `\n${title} (${items.length}):\n` +
        items
          .slice(0, LIMIT)
          .map((s) => `  ${s}`)
          .join('\n') +
        (items.length > LIMIT ? `\n  ... and ${items.length - LIMIT} more` : '');
  const hs = hints(got, cfg);
  const message =
    `${label}: the weights do not match the model config (image_size ${cfg.imageSize}, num_channels ${cfg.modelChannels}, ` +
    `num_res_blocks ${cfg.numResBlocks}, channel_mult ${cfg.channelMult.join(',')}, attention ds ${cfg.attentionDs.join(',') || 'none'}, ` +
    `in/out channels ${cfg.inChannels}/${cfg.outChannels}): ${missing.length} missing, ${unexpected.length} unexpected and ` +
    `${misshaped.length} mis-shaped tensors. ` +
    (hs.length ? `Hints: ${hs.join('; ')}. ` : '') +
    `Fix the config (num_channels, num_res_blocks, channel_mult, attention_resolutions, num_head_channels, ` +
    `use_scale_shift_norm, resblock_updown, learn_sigma, in_channels/out_channels) to the one the checkpoint was trained with.` +
    list('missing from the checkpoint', missing) +
    list('unexpected in the checkpoint', unexpected) +
    list(
      'mis-shaped',
      misshaped.map((m) => `${m.name}: checkpoint ${fmt(m.checkpoint)}, config expects ${fmt(m.expected)}`),
    );
  throw new ConfigMismatchError(message, missing, unexpected, misshaped);
}

/**
 * Pure conversion on bytes (no file access): checkpoint bytes + config -> verified tensors and
 * metadata. Serialize with serializeSafetensors(result.tensors, result.metadata).
 */
export function convertCheckpointBytes(
  bytes: Uint8Array,
  config: string | object,
  opts: { sourceName?: string } = {},
): ConvertedModel {
  const source = opts.sourceName ?? 'checkpoint';
  const raw = typeof config === 'string' ? parseConfigText(config) : config;
  const cfg = parseModelConfig(raw as string | object);
  const notes: string[] = [];
  const { tensors: loaded, stateDictKey } = loadTensors(bytes, source, notes);

  // nn.DataParallel / DistributedDataParallel save every key as "module.<key>".
  let got = loaded;
  if (got.size > 0 && [...got.keys()].every((k) => k.startsWith('module.'))) {
    got = new Map([...got].map(([k, v]) => [k.slice('module.'.length), v]));
    notes.push('stripped the "module." prefix (DataParallel checkpoint)');
  }
  checkAgainstConfig(got, cfg, source);
  // after the architecture check: a wrong learn_sigma is reported there, with every mismatch
  const diffusion = diffusionSection(raw, cfg.learnSigma);

  // A UNet's parameters are floating point; an integer tensor where a weight belongs is a corrupt or foreign
  // file (its integers would silently become weights).
  for (const [name, t] of got) {
    if (!FLOAT_DTYPES.has(t.dtype))
      throw new Error(`${source}: tensor "${name}" has dtype ${t.dtype}; model weights must be floating point`);
  }
  const tensors = new Map<string, SerializableTensor>();
  const dtypes = new Set<string>();
  const arch = architectureTensors(cfg);
  for (const [name, shape] of arch) {
    const t = got.get(name)!;
    const bad = firstNonFinite(t.data);
    if (bad >= 0)
      throw new Error(
        `${source}: tensor "${name}" holds a non-finite value (${t.data[bad]} at index ${bad}); the checkpoint is corrupt`,
      );
    dtypes.add(t.dtype);
    tensors.set(name, { shape, data: t.data });
  }
  const numParams = countParams(arch);
  const metadata: Record<string, string> = {
    format: WEIGHTS_FORMAT,
    format_version: '1',
    config: modelConfigToJson(cfg),
    source: basename(source),
    source_state_dict: stateDictKey,
    source_dtype: [...dtypes].join(','),
    num_params: String(numParams),
  };
  if (diffusion) metadata.diffusion = diffusionToJson(diffusion);
  else notes.push('the config names no diffusion settings: samplers will assume guided-diffusion defaults');
  return { config: cfg, diffusion, tensors, metadata, numParams, notes };
}

export interface ConvertOptions {
  /** .pt / .pth (torch.save zip format) or .safetensors */
  input: string;
  /** path to a JSON or flat-YAML model config, or the config object itself */
  config: string | object;
  /** output .safetensors path */
  output: string;
}

/** Convert a checkpoint file to the engine's safetensors weight file. */
export function convertWeights(opts: ConvertOptions): ConvertedModel {
  let config = opts.config;
  if (typeof config === 'string') {
    // Parse here so that config errors name the config file.
    const path = config;
    // A model config is a few hundred bytes; 1 MiB bounds what a hostile one can make the parser do.
    const text = new TextDecoder().decode(readFileBytes(path, 2 ** 20));
    try {
      config = parseConfigText(text) as object;
      parseModelConfig(config);
    } catch (e) {
      if (e instanceof Error) e.message = `${path}: ${e.message}`;
      throw e;
    }
  }
  const bytes = readFileBytes(opts.input);
  let result: ConvertedModel;
  try {
    result = convertCheckpointBytes(bytes, config, { sourceName: opts.input });
  } catch (e) {
    // name the config file in errors about its diffusion section
    if (e instanceof Error && typeof opts.config === 'string' && e.message.startsWith('diffusion settings:'))
      e.message = `${opts.config}: ${e.message}`;
    throw e;
  }
  result.metadata.source = basename(opts.input);
  writeSafetensorsFile(opts.output, result.tensors, result.metadata);
  return result;
}

/** A config file's text as an object: JSON, or the flat YAML of the DPS configs. */
function parseConfigText(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      return JSON.parse(t);
    } catch (e) {
      throw new Error(`config looks like JSON but does not parse: ${(e as Error).message}`);
    }
  }
  return parseFlatYaml(text);
}

/** guided-diffusion argument names that say something about the diffusion (not the network). */
const FLAT_DIFFUSION_ARGS = [
  'diffusion_steps',
  'noise_schedule',
  'sigma_small',
  'predict_xstart',
  'rescale_timesteps',
  'timestep_respacing',
  'use_kl',
  'rescale_learned_sigmas',
  'model_mean_type',
  'model_var_type',
  'clip_denoised',
];

/**
 * The diffusion settings a config names: its `diffusion` section ({"model": …, "diffusion": …}, as the
 * project's training configs), or guided-diffusion's flat argument names beside the model's. Validated
 * (parseDiffusionConfig); null when the config names none.
 */
export function diffusionSection(raw: unknown, learnSigma: boolean): DiffusionSettings | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  try {
    if (o.diffusion !== undefined) return parseDiffusionConfig(o.diffusion, learnSigma);
    const flat = Object.fromEntries(FLAT_DIFFUSION_ARGS.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
    if (!Object.keys(flat).length) return null;
    if (o.learn_sigma !== undefined) flat.learn_sigma = o.learn_sigma;
    return parseDiffusionConfig(flat, learnSigma);
  } catch (e) {
    throw new Error(`diffusion settings: ${(e as Error).message}`);
  }
}
