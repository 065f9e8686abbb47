// The resolved architecture of a guided-diffusion `UNetModel` (see tools/convert-weights and README).
// Filled in by parseModelConfig(); this interface is shared by the converter and the model builder.
export interface UNetConfig {
  imageSize: number;
  inChannels: number;
  modelChannels: number;
  /** out_channels of UNetModel: inChannels * (learnSigma ? 2 : 1) for the published models */
  outChannels: number;
  numResBlocks: number;
  /** downsample rates `ds` at which attention is applied (guided-diffusion: image_size // res) */
  attentionDs: number[];
  channelMult: number[];
  numHeads: number;
  /** -1 when heads are given by numHeads */
  numHeadChannels: number;
  /** resolved: numHeadsUpsample === -1 in the create_model args means numHeads */
  numHeadsUpsample: number;
  useScaleShiftNorm: boolean;
  resblockUpdown: boolean;
  learnSigma: boolean;
}

export class ModelConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelConfigError';
  }
}

/** guided-diffusion `create_model`'s defaults when channel_mult == "" (anything else raises there too). */
const DEFAULT_CHANNEL_MULT: Record<number, number[]> = {
  512: [0.5, 1, 1, 2, 2, 4, 4],
  256: [1, 1, 2, 2, 4, 4],
  128: [1, 1, 2, 3, 4],
  64: [1, 2, 3, 4],
};

/**
 * Resolve a model config into a UNetConfig. Accepted inputs (object, or a JSON / flat-YAML string):
 *  (a) guided-diffusion `create_model(...)` keyword arguments (`image_size`, `num_channels`, ...);
 *  (b) a wrapper `{ model: {create_model args}, in_channels?, out_channels?, ... }` (extra wrapper
 *      keys such as `diffusion` are ignored);
 *  (c) the DPS repo's configs/model_config.yaml (flat `key: value`, `model_path` etc. ignored);
 *  (d) an already-resolved UNetConfig (camelCase, as stored by modelConfigToJson).
 * Missing create_model arguments take create_model's own signature defaults (not those of
 * model_and_diffusion_defaults), since that is what calling create_model(**cfg) would do.
 */
export function parseModelConfig(input: string | object): UNetConfig {
  let obj: unknown = input;
  if (typeof input === 'string') obj = parseConfigText(input);
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new ModelConfigError('model config must be an object');
  const o = obj as Record<string, unknown>;
  if ('modelChannels' in o) return parseStoredConfig(o);
  if (o.model !== null && typeof o.model === 'object' && !Array.isArray(o.model)) {
    const args: Record<string, unknown> = { ...(o.model as Record<string, unknown>) };
    // Wrapper-level channel counts override (they describe the checkpoint, e.g. 1-channel Fashion-MNIST).
    if (o.in_channels !== undefined) args.in_channels = o.in_channels;
    if (o.out_channels !== undefined) args.out_channels = o.out_channels;
    return fromCreateModelArgs(args);
  }
  return fromCreateModelArgs(o);
}

function parseConfigText(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      return JSON.parse(t);
    } catch (e) {
      throw new ModelConfigError(`model config looks like JSON but does not parse: ${(e as Error).message}`);
    }
  }
  return parseFlatYaml(text);
}

/**
 * A deliberately tiny YAML subset: one `key: value` per line, `#` comments, `---`, scalar values
 * (quoted strings, ints, floats, booleans incl. PyYAML's True/False/yes/no, null). That is all the
 * DPS model configs use; nesting or lists are rejected rather than misread.
 */
export function parseFlatYaml(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = stripComment(raw).trimEnd();
    if (line.trim() === '' || line.trim() === '---' || line.trim() === '...') return;
    const where = `YAML line ${i + 1} ("${raw.trim()}")`;
    if (/^\s/.test(line))
      throw new ModelConfigError(`${where}: nested YAML is not supported; use flat "key: value" lines`);
    const m = /^([A-Za-z_][\w.-]*)\s*:(?:\s+(.*))?$/.exec(line);
    if (!m) throw new ModelConfigError(`${where}: expected "key: value"`);
    const value = (m[2] ?? '').trim();
    if (value === '' || value === '|' || value === '>') {
      // An empty value would start a nested block in YAML; only allow it when no block follows.
      const next = lines.slice(i + 1).find((l) => stripComment(l).trim() !== '');
      if (next !== undefined && /^\s/.test(next)) throw new ModelConfigError(`${where}: nested YAML is not supported`);
      if (value !== '') throw new ModelConfigError(`${where}: block scalars are not supported`);
    }
    out[m[1]] = yamlScalar(value, where);
  });
  return out;
}

function stripComment(line: string): string {
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

function yamlScalar(v: string, where: string): unknown {
  if (v === '' || v === '~' || v === 'null' || v === 'Null' || v === 'NULL') return null;
  if (v.startsWith('"')) {
    try {
      return JSON.parse(v);
    } catch {
      throw new ModelConfigError(`${where}: bad double-quoted string`);
    }
  }
  if (v.startsWith("'")) {
    if (!v.endsWith("'") || v.length < 2) throw new ModelConfigError(`${where}: bad single-quoted string`);
    return v.slice(1, -1).replace(/''/g, "'");
  }
  if (v.startsWith('[') || v.startsWith('{'))
    throw new ModelConfigError(`${where}: flow collections are not supported`);
  if (/^(true|True|TRUE|yes|Yes|YES|on|On|ON)$/.test(v)) return true;
  if (/^(false|False|FALSE|no|No|NO|off|Off|OFF)$/.test(v)) return false;
  if (/^[-+]?\d+$/.test(v)) return parseInt(v, 10);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(v)) return parseFloat(v);
  return v;
}

function intArg(a: Record<string, unknown>, key: string, def?: number): number {
  const v = a[key] ?? def;
  if (v === undefined) throw new ModelConfigError(`model config is missing required option "${key}"`);
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n))
    throw new ModelConfigError(`option "${key}" must be an integer, got ${JSON.stringify(v)?.slice(0, 80)}`);
  return n;
}

function boolArg(a: Record<string, unknown>, key: string, def: boolean): boolean {
  const v = a[key];
  if (v === undefined || v === null) return def;
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw new ModelConfigError(`option "${key}" must be a boolean, got ${JSON.stringify(v)?.slice(0, 80)}`);
}

/** "1,1,2,2,4,4", "(1, 2, 2)", [1,2,2] or "" (default by image size, exactly as create_model). */
function channelMultArg(v: unknown, imageSize: number): number[] {
  if (v === undefined || v === null || v === '') {
    const d = DEFAULT_CHANNEL_MULT[imageSize];
    if (!d) {
      throw new ModelConfigError(
        `option "channel_mult" is empty and guided-diffusion defines no default for image_size ${imageSize} ` +
          `(only 64, 128, 256, 512); set channel_mult explicitly, e.g. "1,2,2"`,
      );
    }
    return [...d];
  }
  const parts = Array.isArray(v)
    ? v
    : typeof v === 'number'
      ? [v]
      : typeof v === 'string'
        ? v
            .replace(/[()[\]\s]/g, '')
            .split(',')
            .filter((s) => s !== '')
        : null;
  if (parts && parts.length > CONFIG_BOUNDS.levels[1])
    throw new ModelConfigError(
      `option "channel_mult" has ${parts.length} levels; at most ${CONFIG_BOUNDS.levels[1]} are supported`,
    );
  const nums = parts?.map((p) => (typeof p === 'string' ? Number(p) : p));
  if (!nums || nums.length === 0 || !nums.every((n) => typeof n === 'number' && Number.isFinite(n) && n > 0)) {
    throw new ModelConfigError(
      `option "channel_mult" must be a comma-separated list of positive numbers, got ${JSON.stringify(v)}`,
    );
  }
  return nums as number[];
}

/** attention_resolutions are resolutions (e.g. "32,16,8"); UNetModel wants downsample rates image_size // res. */
function attentionDsArg(v: unknown, imageSize: number): number[] {
  const parts = Array.isArray(v)
    ? v
    : typeof v === 'number'
      ? [v]
      : typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : null;
  if (parts && parts.length > CONFIG_BOUNDS.attention)
    throw new ModelConfigError(
      `option "attention_resolutions" lists ${parts.length} resolutions; at most ${CONFIG_BOUNDS.attention}`,
    );
  const res = parts?.map((p) => (typeof p === 'string' ? Number(p) : p));
  if (!res || !res.every((r) => typeof r === 'number' && Number.isInteger(r) && r > 0)) {
    throw new ModelConfigError(
      `option "attention_resolutions" must be a comma-separated list of positive integers, got ${JSON.stringify(v)}`,
    );
  }
  return (res as number[]).map((r) => Math.floor(imageSize / r));
}

function fromCreateModelArgs(a: Record<string, unknown>): UNetConfig {
  if (boolArg(a, 'class_cond', false)) {
    throw new ModelConfigError(
      'option "class_cond" is true: class-conditional models (label_emb) are not supported; use an unconditional checkpoint',
    );
  }
  if (boolArg(a, 'use_fp16', false)) {
    throw new ModelConfigError(
      'option "use_fp16" is true: fp16 checkpoints are not supported yet; convert the checkpoint to fp32 and set use_fp16 to false',
    );
  }
  if (boolArg(a, 'use_new_attention_order', false)) {
    throw new ModelConfigError(
      'option "use_new_attention_order" is true: only the legacy attention head order (QKVAttentionLegacy) is supported',
    );
  }
  const imageSize = intArg(a, 'image_size');
  const learnSigma = boolArg(a, 'learn_sigma', false);
  const inChannels = intArg(a, 'in_channels', 3);
  const numHeads = intArg(a, 'num_heads', 1);
  const numHeadsUpsample = intArg(a, 'num_heads_upsample', -1);
  const cfg: UNetConfig = {
    imageSize,
    inChannels,
    modelChannels: intArg(a, 'num_channels'),
    outChannels: intArg(a, 'out_channels', inChannels * (learnSigma ? 2 : 1)),
    numResBlocks: intArg(a, 'num_res_blocks'),
    attentionDs: attentionDsArg(a.attention_resolutions ?? '16', imageSize),
    channelMult: channelMultArg(a.channel_mult, imageSize),
    numHeads,
    numHeadChannels: intArg(a, 'num_head_channels', -1),
    numHeadsUpsample: numHeadsUpsample === -1 ? numHeads : numHeadsUpsample,
    useScaleShiftNorm: boolArg(a, 'use_scale_shift_norm', false),
    resblockUpdown: boolArg(a, 'resblock_updown', false),
    learnSigma,
  };
  validateConfig(cfg);
  return cfg;
}

/**
 * Bounds every architecture field before anything is built (a hostile `numResBlocks: 1e300` or a 2-million
 * level `channelMult` must fail here, not loop or exhaust memory in the builder). The bounds hold every published
 * guided-diffusion model with room to spare (the largest, ImageNet 512: 256 channels × up to 4, 7 levels,
 * 2 res blocks) and encode what UNetModel itself requires: GroupNorm32 needs channels divisible by 32, attention
 * needs heads dividing its channels, every level halves the image, and the output carries ε (and the variance
 * interpolation v when learn_sigma) for each input channel.
 */
export const CONFIG_BOUNDS = {
  imageSize: [1, 2048],
  inChannels: [1, 16],
  modelChannels: [1, 4096],
  numResBlocks: [1, 16],
  levels: [1, 8],
  levelChannels: [32, 8192],
  channelMult: [1e-3, 64],
  attention: 16,
  heads: [1, 1024],
} as const;

function validateConfig(c: UNetConfig): void {
  const fail = (why: string): never => {
    throw new ModelConfigError(`model config: ${why}`);
  };
  const intIn = (k: keyof UNetConfig, [lo, hi]: readonly [number, number]) => {
    const v = c[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi))
      fail(`${k} must be an integer in [${lo}, ${hi}], got ${String(v).slice(0, 40)}`);
  };
  intIn('imageSize', CONFIG_BOUNDS.imageSize);
  intIn('inChannels', CONFIG_BOUNDS.inChannels);
  intIn('modelChannels', CONFIG_BOUNDS.modelChannels);
  intIn('numResBlocks', CONFIG_BOUNDS.numResBlocks);
  intIn('numHeads', CONFIG_BOUNDS.heads);
  intIn('numHeadsUpsample', CONFIG_BOUNDS.heads);
  if (c.numHeadChannels !== -1) intIn('numHeadChannels', CONFIG_BOUNDS.heads);
  const expectOut = c.inChannels * (c.learnSigma ? 2 : 1);
  if (c.outChannels !== expectOut)
    fail(
      `outChannels is ${String(c.outChannels).slice(0, 40)} but learnSigma ${c.learnSigma} with ${c.inChannels} input channels means ${expectOut} ` +
        `(ε${c.learnSigma ? ' and the variance interpolation' : ''} per channel); fix learn_sigma or out_channels`,
    );
  const [lvLo, lvHi] = CONFIG_BOUNDS.levels;
  if (!Array.isArray(c.channelMult) || c.channelMult.length < lvLo || c.channelMult.length > lvHi)
    fail(
      `channelMult must list ${lvLo} to ${lvHi} levels, got ${Array.isArray(c.channelMult) ? c.channelMult.length : typeof c.channelMult}`,
    );
  const [mLo, mHi] = CONFIG_BOUNDS.channelMult;
  const [chLo, chHi] = CONFIG_BOUNDS.levelChannels;
  const levelCh = c.channelMult.map((m, i) => {
    if (!(typeof m === 'number' && m >= mLo && m <= mHi))
      fail(`channelMult[${i}] must be a number in [${mLo}, ${mHi}], got ${String(m).slice(0, 40)}`);
    const ch = Math.trunc(m * c.modelChannels);
    if (ch < chLo || ch > chHi || ch % 32 !== 0)
      fail(
        `level ${i} has ${ch} channels (channelMult ${m} × modelChannels ${c.modelChannels}); UNetModel's GroupNorm32 needs a multiple of 32 in [${chLo}, ${chHi}]`,
      );
    return ch;
  });
  const down = 2 ** (c.channelMult.length - 1);
  if (c.imageSize % down !== 0)
    fail(`imageSize ${c.imageSize} cannot be halved ${c.channelMult.length - 1} times (one per level after the first)`);
  if (!Array.isArray(c.attentionDs) || c.attentionDs.length > CONFIG_BOUNDS.attention)
    fail(`at most ${CONFIG_BOUNDS.attention} attention resolutions`);
  c.attentionDs.forEach((d, i) => {
    if (!(Number.isInteger(d) && d >= 0 && d <= c.imageSize))
      fail(`attention downsample rate ${i} must be an integer in [0, ${c.imageSize}], got ${String(d).slice(0, 40)}`);
  });
  // Heads must divide the channels wherever attention runs: levels whose rate ds = 2^level is listed (input
  // blocks: numHeads, output blocks: numHeadsUpsample) and the middle block (numHeads) at the lowest level.
  const checkHeads = (ch: number, heads: number, where: string, key: string) => {
    if (c.numHeadChannels !== -1) {
      if (ch % c.numHeadChannels !== 0)
        fail(`${where}: attention channels ${ch} are not divisible by numHeadChannels ${c.numHeadChannels}`);
    } else if (ch % heads !== 0) fail(`${where}: attention channels ${ch} are not divisible by ${key} ${heads}`);
  };
  levelCh.forEach((ch, level) => {
    if (c.attentionDs.includes(2 ** level)) {
      checkHeads(ch, c.numHeads, `level ${level}`, 'numHeads');
      checkHeads(ch, c.numHeadsUpsample, `level ${level}`, 'numHeadsUpsample');
    }
  });
  checkHeads(levelCh[levelCh.length - 1], c.numHeads, 'middle block', 'numHeads');
  for (const k of ['useScaleShiftNorm', 'resblockUpdown', 'learnSigma'] as const)
    if (typeof c[k] !== 'boolean') fail(`${k} must be true or false`);
}

const STORED_KEYS: (keyof UNetConfig)[] = [
  'imageSize',
  'inChannels',
  'modelChannels',
  'outChannels',
  'numResBlocks',
  'attentionDs',
  'channelMult',
  'numHeads',
  'numHeadChannels',
  'numHeadsUpsample',
  'useScaleShiftNorm',
  'resblockUpdown',
  'learnSigma',
];

/** Canonical JSON (fixed key order) of a resolved config, e.g. for safetensors `__metadata__.config`. */
export function modelConfigToJson(cfg: UNetConfig): string {
  const o: Record<string, unknown> = {};
  for (const k of STORED_KEYS) o[k] = cfg[k];
  return JSON.stringify(o);
}

/** Inverse of modelConfigToJson; validates every field so a corrupt metadata entry fails loudly. */
export function parseStoredConfig(input: string | object): UNetConfig {
  let o: unknown = input;
  if (typeof input === 'string') {
    try {
      o = JSON.parse(input);
    } catch (e) {
      throw new ModelConfigError(`stored UNet config is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (o === null || typeof o !== 'object') throw new ModelConfigError('stored UNet config is not an object');
  const r = o as Record<string, unknown>;
  for (const k of STORED_KEYS) {
    const v = r[k];
    const ok =
      k === 'attentionDs' || k === 'channelMult'
        ? Array.isArray(v) && v.length <= 64 && v.every((x) => typeof x === 'number')
        : k === 'useScaleShiftNorm' || k === 'resblockUpdown' || k === 'learnSigma'
          ? typeof v === 'boolean'
          : typeof v === 'number';
    if (!ok)
      throw new ModelConfigError(
        `stored UNet config: field "${k}" is missing or has the wrong type (${JSON.stringify(v)})`,
      );
  }
  const cfg = {} as Record<string, unknown>;
  for (const k of STORED_KEYS) cfg[k] = Array.isArray(r[k]) ? [...(r[k] as number[])] : r[k];
  validateConfig(cfg as unknown as UNetConfig);
  return cfg as unknown as UNetConfig;
}
