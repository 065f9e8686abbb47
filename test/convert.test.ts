import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors, tensorToFloat32 } from '../src/engine/safetensors.ts';
import { readSafetensorsFile } from '../src/engine/safetensors-node.ts';
import { architectureTensors, buildArchitecture, countParams } from '../src/unet/architecture.ts';
import { parseFlatYaml, parseModelConfig, parseStoredConfig } from '../src/unet/config.ts';
import { ConfigMismatchError, convertCheckpointBytes, convertWeights } from '../tools/convert-weights/convert.ts';
import { runConvert } from '../tools/convert-weights/main.ts';
import { loadTorchCheckpoint, readTorchCheckpoint } from '../tools/convert-weights/pt.ts';

const read = (p: string) => new Uint8Array(readFileSync(p));
const ADM = { pt: 'test/fixtures/adm-tiny/model.pt', config: 'test/fixtures/adm-tiny/config.json' };
const FMNIST = { pt: 'test/fixtures/prior-fmnist/model.pt', config: 'test/fixtures/prior-fmnist/config.json' };
const admConfig = () => JSON.parse(readFileSync(ADM.config, 'utf8'));
const sum = (a: Float32Array, f = (x: number) => x) => a.reduce((s, x) => s + f(x), 0);

// ---- tiny builders for hand-made checkpoints -------------------------------------------------
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
function concat(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  const arrs = parts.map((p) => (typeof p === 'string' ? latin1(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrs.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrs) out.set(a, (o += a.length) - a.length);
  return out;
}
const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const u16 = (n: number) => [n & 255, (n >> 8) & 255];
const pStr = (s: string) => {
  const b = new TextEncoder().encode(s);
  return concat('X', u32(b.length), b);
};
const pInt = (n: number) => (n < 256 ? [0x4b, n] : [0x4a, ...u32(n)]);
const pTuple = (items: number[]) => concat('(', ...items.map(pInt), 't');

interface FakeTensor {
  name: string;
  storage: string;
  key: string;
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
}
/** Pickle body (no PROTO/STOP) of an OrderedDict state dict, laid out the way torch.save does it. */
function stateDictPickle(ts: FakeTensor[]): Uint8Array {
  const items = ts.map((t) =>
    concat(
      pStr(t.name),
      'ctorch._utils\n_rebuild_tensor_v2\n',
      '((',
      pStr('storage'),
      `ctorch\n${t.storage}\n`,
      pStr(t.key),
      pStr('cpu'),
      pInt(t.numel),
      'tQ',
      pInt(t.offset),
      pTuple(t.shape),
      pTuple(t.stride),
      [0x89],
      'ccollections\nOrderedDict\n)R',
      'tR',
    ),
  );
  return concat('ccollections\nOrderedDict\n)R(', ...items, 'u');
}
/** Minimal stored (uncompressed) zip, like torch.save's. */
function zipStored(files: Array<[string, Uint8Array]>): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let off = 0;
  for (const [name, data] of files) {
    const crc = zlib.crc32(data) >>> 0;
    const n = latin1(name);
    const common = [
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u32(crc),
      ...u32(data.length),
      ...u32(data.length),
      ...u16(n.length),
      ...u16(0),
    ];
    locals.push(concat(u32(0x04034b50), u16(20), common, n, data));
    centrals.push(concat(u32(0x02014b50), u16(20), u16(20), common, u16(0), u16(0), u16(0), u32(0), u32(off), n));
    off += locals[locals.length - 1].length;
  }
  const cd = concat(...centrals);
  const eocd = concat(
    u32(0x06054b50),
    u16(0),
    u16(0),
    u16(files.length),
    u16(files.length),
    u32(cd.length),
    u32(off),
    u16(0),
  );
  return concat(...locals, cd, eocd);
}
const torchZip = (pickle: Uint8Array, storages: Record<string, Uint8Array>, byteorder = 'little') =>
  zipStored([
    ['archive/data.pkl', concat([0x80, 2], pickle, '.')],
    ['archive/byteorder', latin1(byteorder)],
    ...Object.entries(storages).map(([k, v]): [string, Uint8Array] => [`archive/data/${k}`, v]),
    ['archive/version', latin1('3\n')],
  ]);
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

// ---- tests -------------------------------------------------------------------------------------
describe('architecture from config', () => {
  for (const name of ['ffhq-256', 'imagenet-256-uncond']) {
    it(`reproduces the state_dict keys, shapes, order and parameter count of ${name}`, () => {
      const m = JSON.parse(readFileSync(`test/fixtures/manifests/${name}.keys.json`, 'utf8'));
      const tensors = architectureTensors(parseModelConfig(m.config));
      expect(tensors).toEqual(m.tensors);
      expect(countParams(tensors)).toBe(m.num_params);
    });
  }

  it('exposes a layer plan with skip-channel bookkeeping', () => {
    const m = JSON.parse(readFileSync('test/fixtures/manifests/ffhq-256.keys.json', 'utf8'));
    const plan = buildArchitecture(parseModelConfig(m.config));
    expect(plan.timeEmbedDim).toBe(512);
    expect(plan.inputBlocks.length).toBe(plan.inputChannels.length);
    expect(plan.outputBlocks.length).toBe(plan.inputBlocks.length);
    expect([...plan.skipChannels].reverse()).toEqual(plan.inputChannels);
    expect(plan.middleBlock.map((b) => b.kind)).toEqual(['res', 'attn', 'res']);
    expect(plan.middleBlock[1]).toMatchObject({ channels: 512, heads: 8 }); // 512 / num_head_channels 64
    expect(plan.inputBlocks[2][0]).toMatchObject({ kind: 'res', down: true, skip: false });
    expect(plan.out).toEqual({ prefix: 'out', normChannels: 128, cin: 128, cout: 6 });
  });

  it('uses Downsample/Upsample convs and num_heads when resblock_updown is off and num_head_channels is -1', () => {
    const cfg = parseModelConfig({
      image_size: 64,
      num_channels: 32,
      num_res_blocks: 1,
      attention_resolutions: '16,8',
      num_heads: 2,
      num_heads_upsample: 4,
    });
    const plan = buildArchitecture(cfg);
    expect(cfg.channelMult).toEqual([1, 2, 3, 4]);
    expect(plan.inputBlocks[2][0]).toEqual({ kind: 'down', prefix: 'input_blocks.2.0', channels: 32, useConv: true });
    // level 3 (ds 8) has attention, so the upsampler is the third layer of its last block
    expect(plan.outputBlocks[1].at(-1)).toEqual({ kind: 'up', prefix: 'output_blocks.1.2', channels: 128 });
    const names = architectureTensors(cfg).map(([n]) => n);
    expect(names).toContain('input_blocks.2.0.op.weight');
    expect(names).toContain('output_blocks.1.2.conv.weight');
    expect(plan.middleBlock[1]).toMatchObject({ heads: 2 });
    expect(
      plan.outputBlocks
        .flat()
        .filter((b) => b.kind === 'attn')
        .every((b) => b.kind === 'attn' && b.heads === 4),
    ).toBe(true);
    // ResBlocks without scale-shift project the embedding to cout, not 2*cout
    expect(architectureTensors(cfg).find(([n]) => n === 'input_blocks.1.0.emb_layers.1.weight')![1]).toEqual([32, 128]);
  });
});

describe('model config parsing', () => {
  const DPS_YAML = `# DPS configs/model_config.yaml
image_size: 256
num_channels: 128
num_res_blocks: 1
channel_mult: ""
learn_sigma: True
class_cond: False
use_checkpoint: False
attention_resolutions: 16
num_heads: 4
num_head_channels: 64
num_heads_upsample: -1
use_scale_shift_norm: True
dropout: 0.0
resblock_updown: True
use_fp16: False
use_new_attention_order: False

model_path: models/ffhq_10m.pt  # downloaded separately
`;

  it('parses the DPS YAML model config to the FFHQ architecture', () => {
    expect(parseFlatYaml(DPS_YAML)).toMatchObject({
      channel_mult: '',
      learn_sigma: true,
      dropout: 0,
      model_path: 'models/ffhq_10m.pt',
    });
    const cfg = parseModelConfig(DPS_YAML);
    expect(cfg).toEqual({
      imageSize: 256,
      inChannels: 3,
      modelChannels: 128,
      outChannels: 6,
      numResBlocks: 1,
      attentionDs: [16],
      channelMult: [1, 1, 2, 2, 4, 4],
      numHeads: 4,
      numHeadChannels: 64,
      numHeadsUpsample: 4,
      useScaleShiftNorm: true,
      resblockUpdown: true,
      learnSigma: true,
    });
    const m = JSON.parse(readFileSync('test/fixtures/manifests/ffhq-256.keys.json', 'utf8'));
    expect(architectureTensors(cfg)).toEqual(m.tensors);
  });

  it('accepts the wrapper form, JSON text, and round-trips through stored metadata JSON', () => {
    const cfg = parseModelConfig(readFileSync(FMNIST.config, 'utf8'));
    expect(cfg).toMatchObject({
      inChannels: 1,
      outChannels: 2,
      attentionDs: [2],
      channelMult: [1, 2, 2],
      numHeadChannels: -1,
    });
    expect(parseModelConfig(cfg)).toEqual(cfg);
    expect(parseStoredConfig(JSON.stringify(cfg))).toEqual(cfg);
    expect(() => parseStoredConfig('{"imageSize": 32}')).toThrow(/field "inChannels" is missing/);
  });

  it('rejects unsupported options with errors naming them', () => {
    const base = { image_size: 256, num_channels: 64, num_res_blocks: 1 };
    expect(() => parseModelConfig({ ...base, class_cond: true })).toThrow(/"class_cond".*not supported/);
    expect(() => parseModelConfig({ ...base, use_fp16: 'True' })).toThrow(
      /"use_fp16".*fp16 checkpoints are not supported yet.*fp32/,
    );
    expect(() => parseModelConfig({ ...base, use_new_attention_order: true })).toThrow(/"use_new_attention_order"/);
    expect(() => parseModelConfig({ ...base, image_size: 32, channel_mult: '' })).toThrow(
      /"channel_mult" is empty.*image_size 32/,
    );
    expect(() => parseModelConfig({ num_channels: 64, num_res_blocks: 1 })).toThrow(
      /missing required option "image_size"/,
    );
    expect(() => parseModelConfig({ ...base, learn_sigma: 'maybe' })).toThrow(/"learn_sigma" must be a boolean/);
    expect(() => parseModelConfig('image_size: 256\nmodel:\n  num_channels: 3\n')).toThrow(
      /YAML line 2.*nested YAML is not supported/,
    );
    expect(() =>
      buildArchitecture(parseModelConfig({ ...base, num_head_channels: 48, attention_resolutions: '16' })),
    ).toThrow(/not divisible by numHeadChannels 48/);
  });

  it('defaults channel_mult like create_model for 512/128/64 and truncates 0.5 * channels', () => {
    expect(parseModelConfig({ image_size: 512, num_channels: 256, num_res_blocks: 2 }).channelMult).toEqual([
      0.5, 1, 1, 2, 2, 4, 4,
    ]);
    expect(parseModelConfig({ image_size: 128, num_channels: 256, num_res_blocks: 2 }).channelMult).toEqual([
      1, 1, 2, 3, 4,
    ]);
    const t = architectureTensors(parseModelConfig({ image_size: 512, num_channels: 64, num_res_blocks: 1 }));
    expect(t.find(([n]) => n === 'input_blocks.0.0.weight')![1]).toEqual([32, 3, 3, 3]);
  });
});

describe('torch checkpoint reader', () => {
  it('reads PyTorch 1.13 (adm-tiny) and 2.x (prior-fmnist) zip layouts', () => {
    const adm = readTorchCheckpoint(read(ADM.pt));
    expect(adm.size).toBe(198);
    // reference sums computed with numpy from the raw storages
    expect(sum(adm.get('time_embed.0.weight')!.data)).toBeCloseTo(-2.789272228237678, 5);
    expect(sum(adm.get('time_embed.0.weight')!.data, Math.abs)).toBeCloseTo(228.0024940576659, 4);
    expect(sum(adm.get('out.2.weight')!.data)).toBeCloseTo(-1.3280963989673182, 5);
    expect(adm.get('input_blocks.0.0.weight')).toMatchObject({ dtype: 'float32', shape: [32, 3, 3, 3] });
    const fm = readTorchCheckpoint(read(FMNIST.pt));
    expect(fm.get('input_blocks.0.0.weight')!.shape).toEqual([32, 1, 3, 3]);
    expect(sum(fm.get('time_embed.0.weight')!.data)).toBeCloseTo(15.120489401022496, 4);
    expect(sum(fm.get('middle_block.1.qkv.weight')!.data, Math.abs)).toBeCloseTo(831.8695437430824, 3);
  });

  it('handles strides, storage offsets, shared storages, f16/bf16/f64, big-endian and nested "ema"', () => {
    const sd = stateDictPickle([
      { name: 't', storage: 'FloatStorage', key: '0', numel: 6, offset: 0, shape: [3, 2], stride: [1, 3] }, // transpose
      { name: 'o', storage: 'FloatStorage', key: '0', numel: 6, offset: 2, shape: [2], stride: [2] },
      { name: 'h', storage: 'HalfStorage', key: '1', numel: 2, offset: 0, shape: [2], stride: [1] },
      { name: 'bf', storage: 'BFloat16Storage', key: '2', numel: 2, offset: 0, shape: [1, 2], stride: [2, 1] },
      { name: 'd', storage: 'DoubleStorage', key: '3', numel: 1, offset: 0, shape: [], stride: [] },
    ]);
    const pickle = concat(
      '}(',
      pStr('epoch'),
      pInt(7),
      pStr('model'),
      stateDictPickle([{ name: 'x', storage: 'FloatStorage', key: '0', numel: 6, offset: 0, shape: [6], stride: [1] }]),
      pStr('ema'),
      sd,
      'u',
    );
    const storages = {
      '0': bytesOf(new Float32Array([0, 1, 2, 3, 4, 5])),
      '1': bytesOf(new Uint16Array([0x3c00, 0xc000])),
      '2': bytesOf(new Uint16Array([0x3f80, 0xc040])),
      '3': bytesOf(new Float64Array([0.25])),
    };
    const ck = loadTorchCheckpoint(torchZip(pickle, storages), 'fake.pt');
    expect(ck.stateDictKey).toBe('ema');
    expect(ck.note).toMatch(/"ema".*ignoring "model"/);
    const get = (n: string) => Array.from(ck.tensors.get(n)!.data);
    expect(get('t')).toEqual([0, 3, 1, 4, 2, 5]);
    expect(get('o')).toEqual([2, 4]);
    expect(get('h')).toEqual([1, -2]);
    expect(get('bf')).toEqual([1, -3]);
    expect(get('d')).toEqual([0.25]);
    expect(ck.tensors.get('d')!.shape).toEqual([]);
    expect(ck.tensors.get('h')!.dtype).toBe('float16');

    const be = new Uint8Array(bytesOf(new Float32Array([0, 1, 2, 3, 4, 5])));
    for (let i = 0; i < be.length; i += 4) be.subarray(i, i + 4).reverse();
    const beCk = readTorchCheckpoint(
      torchZip(
        stateDictPickle([
          { name: 'x', storage: 'FloatStorage', key: '0', numel: 6, offset: 0, shape: [6], stride: [1] },
        ]),
        { '0': be },
        'big',
      ),
    );
    expect(Array.from(beCk.get('x')!.data)).toEqual([0, 1, 2, 3, 4, 5]);

    // A broadcast (zero-stride) or otherwise overlapping view is refused: no parameter overlaps itself, and one
    // flipped byte turns a real stride [128, 1] into [0, 1].
    for (const stride of [[0], [1, 1]]) {
      const shape = stride.length === 1 ? [3] : [2, 2];
      const pkl = stateDictPickle([
        { name: 'b', storage: 'FloatStorage', key: '0', numel: 6, offset: 1, shape, stride },
      ]);
      expect(() => readTorchCheckpoint(torchZip(pkl, { '0': storages['0'] }), 'b.pt')).toThrow(
        /b\.pt: tensor "b": view .* maps several elements to one storage position/,
      );
    }
  });

  it('refuses a checkpoint whose pickle calls os.system', () => {
    const evil = torchZip(concat('cos\nsystem\n', pStr('echo pwned'), [0x85], 'R'), {});
    expect(() => readTorchCheckpoint(evil, 'evil.pt')).toThrow(
      /evil\.pt: archive\/data\.pkl: refused to load the pickled global "os\.system".*weights_only=True/,
    );
  });

  it('gives clear errors for truncated, corrupt, legacy and foreign files', () => {
    const bytes = read(ADM.pt);
    expect(() => readTorchCheckpoint(bytes.subarray(0, bytes.length >> 1), 'half.pt')).toThrow(
      /half\.pt: no end-of-central-directory record.*truncated/,
    );
    expect(() => readTorchCheckpoint(bytes.subarray(0, 100), 'tiny.pt')).toThrow(/truncated/);
    const corrupt = bytes.slice();
    corrupt[bytes.length >> 1] ^= 0xff; // inside some tensor's storage
    expect(() => readTorchCheckpoint(corrupt, 'bad.pt')).toThrow(
      /bad\.pt: entry "model\/data\/\d+" fails its CRC-32 check/,
    );
    const legacy = concat([0x80, 0x02, 0x8a, 0x0a], new Uint8Array(20));
    expect(() => readTorchCheckpoint(legacy, 'old.pt')).toThrow(
      /old\.pt: this is the legacy.*re-save it with a modern torch/i,
    );
    expect(() => readTorchCheckpoint(latin1('hello world, not a checkpoint'), 'x.pt')).toThrow(
      /not a PyTorch zip checkpoint/,
    );
    expect(() => readTorchCheckpoint(zipStored([['a/b.txt', latin1('x')]]), 'z.pt')).toThrow(/no <archive>\/data\.pkl/);
    const notSd = torchZip(concat('}(', pStr('step'), pInt(3), 'u'), {});
    expect(() => readTorchCheckpoint(notSd, 'n.pt')).toThrow(/could not find a state dict.*"step"/);
  });
});

describe('convertWeights', () => {
  it('converts adm-tiny: every tensor verified, finite, in state_dict order, and round-trips exactly', () => {
    const result = convertCheckpointBytes(read(ADM.pt), admConfig(), { sourceName: 'model.pt' });
    const arch = architectureTensors(result.config);
    expect([...result.tensors.keys()]).toEqual(arch.map(([n]) => n));
    expect(result.numParams).toBe(1371974);
    for (const [, t] of result.tensors) expect(t.data.every(Number.isFinite)).toBe(true);

    const st = parseSafetensors(serializeSafetensors(result.tensors, result.metadata));
    expect(st.metadata.format).toBe('webgpu-dps-unet');
    expect(st.metadata.source).toBe('model.pt');
    expect(parseStoredConfig(st.metadata.config)).toEqual(result.config);
    const original = readTorchCheckpoint(read(ADM.pt));
    for (const [name, shape] of arch) {
      const t = st.tensors.get(name)!;
      expect(t.dtype).toBe('F32');
      expect(t.shape).toEqual(shape);
      // (vitest's deep equality is very slow on large typed arrays; compare bytes instead)
      expect(
        Buffer.from(bytesOf(tensorToFloat32(t))).equals(Buffer.from(bytesOf(original.get(name)!.data))),
        name,
      ).toBe(true);
    }
  });

  it('converts prior-fmnist (1 channel in, 2 out) to a file and via the CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'convert-'));
    const out = join(dir, 'fmnist.safetensors');
    const r = convertWeights({ input: FMNIST.pt, config: FMNIST.config, output: out });
    expect(r.numParams).toBe(JSON.parse(readFileSync(FMNIST.config, 'utf8')).training.params);
    const st = readSafetensorsFile(out);
    expect(st.tensors.get('out.2.weight')!.shape).toEqual([2, 32, 3, 3]);
    expect(sum(tensorToFloat32(st.tensors.get('time_embed.0.weight')!))).toBeCloseTo(15.120489401022496, 4);

    const logs: string[] = [];
    const io = { log: (s: string) => logs.push(s), error: (s: string) => logs.push(s) };
    expect(runConvert(['--help'], io)).toBe(0);
    expect(logs.pop()).toMatch(/Usage: convert-weights/);
    expect(runConvert(['--input', FMNIST.pt], io)).toBe(2);
    expect(logs.pop()).toMatch(/missing --config, --output/);
    const cli = join(dir, 'cli.safetensors');
    expect(runConvert([`--input=${FMNIST.pt}`, '--config', FMNIST.config, '--output', cli], io)).toBe(0);
    expect(readFileSync(cli).equals(readFileSync(out))).toBe(true);
    expect(runConvert(['--input', ADM.pt, '--config', FMNIST.config, '--output', cli], io)).toBe(1);
    expect(logs.pop()).toMatch(/do not match the model config/);
  });

  it('reads a YAML config file and a DataParallel safetensors input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'convert-'));
    const yaml = join(dir, 'model_config.yaml');
    const m = admConfig().model;
    writeFileSync(
      yaml,
      Object.entries(m)
        .map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : v}`)
        .join('\n'),
    );
    const prefixed = new Map(
      [...readTorchCheckpoint(read(ADM.pt))].map(([k, t]) => [`module.${k}`, { shape: t.shape, data: t.data }]),
    );
    const input = join(dir, 'dp.safetensors');
    writeFileSync(input, serializeSafetensors(prefixed));
    const r = convertWeights({ input, config: yaml, output: join(dir, 'o.safetensors') });
    expect(r.notes.join(' ')).toMatch(/stripped the "module\." prefix/);
    expect(r.tensors.size).toBe(198);
  });

  it('reports every mismatch at once when the config does not match the weights', () => {
    const bytes = read(ADM.pt);
    let err: unknown;
    try {
      convertCheckpointBytes(
        bytes,
        { ...admConfig(), model: { ...admConfig().model, num_channels: 64 } },
        { sourceName: 'model.pt' },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigMismatchError);
    const e = err as ConfigMismatchError;
    expect(e.misshaped.length).toBeGreaterThan(20);
    expect(e.message).toMatch(/model\.pt: the weights do not match the model config.*num_channels 64/);
    expect(e.message).toContain('the checkpoint has num_channels = 32');
    expect(e.message).toContain('time_embed.0.weight: checkpoint [128, 32], config expects [256, 64]');
    expect(e.message).toMatch(/mis-shaped \(\d+\):/);
    expect(e.message).toMatch(/\.\.\. and \d+ more/);

    const more = () =>
      convertCheckpointBytes(bytes, {
        ...admConfig(),
        model: { ...admConfig().model, num_res_blocks: 2, learn_sigma: false },
        out_channels: undefined,
        // a model without learned variances needs a fixed variance (else the diffusion settings are refused first)
        diffusion: { ...admConfig().diffusion, model_var_type: 'fixed_large' },
      });
    expect(more).toThrow(/missing from the checkpoint \(\d+\):\n  input_blocks\./);
    expect(more).toThrow(/unexpected in the checkpoint|mis-shaped/);
    expect(more).toThrow(/out_channels = 6 \(config: 3/);
  });
});
