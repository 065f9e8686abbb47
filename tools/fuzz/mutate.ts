// Mutation fuzzing of the weight-file readers (the .pt zip/pickle reader and the safetensors reader, through
// convertCheckpointBytes — what `posterior convert` runs on a user's file). Inputs are generated at run time
// from the committed fixtures with a seeded PRNG, so a run is reproducible from its seed and count:
//   - byte-level mutations anywhere (bit flips, interesting integers, truncation, insertion, deletion);
//   - structure-aware ones: the safetensors JSON header (offsets, shapes, dtypes, duplicate keys, header
//     length, trailing bytes) and the .pt's pickle, re-zipped with valid CRCs so the pickle VM itself is
//     exercised (CRC-32 would otherwise stop almost every pickle mutation at the zip layer);
//   - hostile templates (1 MiB LONG4, 500k APPENDS, deep nesting, zero-stride views over a tiny storage, negative
//     shapes and strides, OrderedDict of an int, duplicate zip names, local/central header mismatch, a deflate
//     bomb, a huge header length).
// Each input must be accepted unchanged or refused with "<file>: <what is wrong>" — never an internal error.
import { readFileSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { parseSafetensors, serializeSafetensors } from '../../src/engine/safetensors.ts';
import { parseStoredConfig } from '../../src/unet/config.ts';
import { convertCheckpointBytes } from '../convert-weights/convert.ts';
import { ZipArchive } from '../convert-weights/zip.ts';

export type Format = 'pt' | 'safetensors';
export interface FuzzInput {
  format: Format;
  /** which mutation made it (for the report) */
  kind: string;
  bytes: Uint8Array;
}
export type Outcome = 'refused' | 'accepted-identical' | 'accepted-changed' | 'accepted-corrupt' | 'internal-error';
export interface FuzzResult {
  outcome: Outcome;
  message: string;
  /** wall-clock time (inflated when other processes share the cores) */
  ms: number;
  /** CPU time of this process (user + system): the input's own cost, whatever the machine's load */
  cpuMs: number;
}

/** mulberry32: a small, fast, seedable PRNG (the same sequence on every platform). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- fixtures --------------------------------------------------------------------------------------------

export interface FuzzBase {
  config: object;
  pt: Uint8Array;
  /** the .pt's entries in order (to re-zip a mutated pickle) */
  ptEntries: [string, Uint8Array][];
  pklName: string;
  safetensors: Uint8Array;
  /** the tensors both bases decode to (name → float32 bytes), for "accepted unchanged" */
  reference: Map<string, { shape: number[]; data: Float32Array }>;
}

export function loadBase(root = '.'): FuzzBase {
  const pt = new Uint8Array(readFileSync(`${root}/test/fixtures/prior-fmnist/model.pt`));
  const config = JSON.parse(readFileSync(`${root}/test/fixtures/prior-fmnist/config.json`, 'utf8'));
  const conv = convertCheckpointBytes(pt, config, { sourceName: 'base.pt' });
  const zip = new ZipArchive(pt, 'base.pt');
  const ptEntries = zip.names().map((n): [string, Uint8Array] => [n, zip.read(n).slice()]);
  const reference = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of conv.tensors) reference.set(k, { shape: t.shape, data: t.data as Float32Array });
  return {
    config,
    pt,
    ptEntries,
    pklName: zip.names().find((n) => n.endsWith('data.pkl'))!,
    safetensors: serializeSafetensors(conv.tensors, conv.metadata),
    reference,
  };
}

// ---- the reader under test ---------------------------------------------------------------------------------

const INTERNAL =
  /Invalid typed array length|serialize a BigInt|is not iterable|Array buffer allocation failed|Maximum call stack|Cannot read propert|is not a function|out of memory|Invalid array length|Invalid string length/;

/** Run one input through the reader (conversion + the stored config as loadUNetWeights parses it). */
export function runOne(base: FuzzBase, input: FuzzInput): FuzzResult {
  const label = `fuzz.${input.format}`;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let outcome: Outcome;
  let message = '';
  try {
    const conv = convertCheckpointBytes(input.bytes, base.config, { sourceName: label });
    if (input.format === 'safetensors') {
      const meta = parseSafetensors(input.bytes, label).metadata;
      if (meta.config !== undefined) {
        try {
          parseStoredConfig(meta.config);
        } catch (e) {
          throw new Error(`${label}: ${(e as Error).message}`);
        }
      }
    }
    outcome = sameTensors(base.reference, conv.tensors)
      ? 'accepted-identical'
      : input.format === 'safetensors' && !layoutOracle(input.bytes)
        ? 'accepted-corrupt'
        : 'accepted-changed';
  } catch (e) {
    const err = e as Error;
    message = err instanceof Error ? `${err.name}: ${err.message}` : String(e);
    const clean =
      err instanceof Error &&
      !['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError'].includes(err.name) &&
      err.message.startsWith(`${label}: `) &&
      !INTERNAL.test(err.message.split('\n')[0]);
    outcome = clean ? 'refused' : 'internal-error';
  }
  const c = process.cpuUsage(c0);
  return {
    outcome,
    message: message.split('\n')[0].slice(0, 300),
    ms: performance.now() - t0,
    cpuMs: (c.user + c.system) / 1000,
  };
}

/**
 * An independent check of a safetensors layout (written apart from the reader): the header's byte ranges,
 * sorted, tile the data section exactly and each matches its dtype × shape.
 */
export function layoutOracle(bytes: Uint8Array): boolean {
  try {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    const size: Record<string, number> = {
      F64: 8,
      F32: 4,
      F16: 2,
      BF16: 2,
      I64: 8,
      I32: 4,
      I16: 2,
      I8: 1,
      U64: 8,
      U32: 4,
      U16: 2,
      U8: 1,
      BOOL: 1,
    };
    const spans = Object.entries(h)
      .filter(([k]) => k !== '__metadata__')
      .map(([, v]) => {
        const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
        const want = t.shape.reduce((a, d) => a * d, size[t.dtype] ?? NaN);
        if (t.data_offsets[1] - t.data_offsets[0] !== want) throw new Error('size');
        return t.data_offsets;
      })
      .sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [b, e] of spans) {
      if (b !== at) return false;
      at = e;
    }
    return at === bytes.length - 8 - n;
  } catch {
    return false;
  }
}

function sameTensors(
  ref: Map<string, { shape: number[]; data: Float32Array }>,
  got: Map<string, { shape: number[]; data: Float32Array | Int32Array }>,
): boolean {
  if (ref.size !== got.size) return false;
  for (const [k, r] of ref) {
    const g = got.get(k);
    if (!g || g.shape.join() !== r.shape.join() || g.data.length !== r.data.length) return false;
    const a = new Uint32Array(r.data.buffer, r.data.byteOffset, r.data.length);
    const b = new Uint32Array(g.data.buffer, g.data.byteOffset, g.data.length);
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  }
  return true;
}

// ---- byte helpers ------------------------------------------------------------------------------------------

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
function concat(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  const arrs = parts.map((p) => (typeof p === 'string' ? latin1(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrs.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}
const u16 = (n: number) => [n & 255, (n >> 8) & 255];
const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];

interface ZipFile {
  name: string;
  data: Uint8Array;
  method?: 0 | 8;
  /** declared uncompressed size (default: the real one) */
  declared?: number;
  /** name in the local header (default: name) */
  localName?: string;
}
/** A zip like torch.save's (stored entries), with knobs for the hostile templates. */
export function zipFiles(files: ZipFile[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let off = 0;
  for (const f of files) {
    const method = f.method ?? 0;
    const payload = method === 8 ? new Uint8Array(zlib.deflateRawSync(f.data)) : f.data;
    const crc = zlib.crc32(f.data) >>> 0;
    const common = (name: Uint8Array) => [
      ...u16(0),
      ...u16(method),
      ...u16(0),
      ...u16(0),
      ...u32(crc),
      ...u32(payload.length),
      ...u32(f.declared ?? f.data.length),
      ...u16(name.length),
      ...u16(0),
    ];
    const n = latin1(f.name);
    const ln = latin1(f.localName ?? f.name);
    locals.push(concat(u32(0x04034b50), u16(20), common(ln), ln, payload));
    centrals.push(concat(u32(0x02014b50), u16(20), u16(20), common(n), u16(0), u16(0), u16(0), u32(0), u32(off), n));
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

// ---- pickle pieces for templates ---------------------------------------------------------------------------

const pStr = (s: string) => {
  const b = new TextEncoder().encode(s);
  return concat('X', u32(b.length), b);
};
const pInt = (n: number) => (n >= 0 && n < 256 ? [0x4b, n] : [0x4a, ...u32(n)]);
const pTuple = (items: number[]) => concat('(', ...items.map(pInt), 't');
/** OrderedDict with one tensor "w" over storage "0" (view given by shape/stride/offset). */
function oneTensorPickle(numel: number, shape: number[], stride: number[], offset = 0, storage = 'FloatStorage') {
  return concat(
    [0x80, 2],
    'ccollections\nOrderedDict\n)R',
    pStr('w'),
    'ctorch._utils\n_rebuild_tensor_v2\n',
    '((',
    pStr('storage'),
    `ctorch\n${storage}\n`,
    pStr('0'),
    pStr('cpu'),
    pInt(numel),
    'tQ',
    pInt(offset),
    pTuple(shape),
    pTuple(shape.map((_, i) => stride[i])),
    [0x89],
    'ccollections\nOrderedDict\n)R',
    'tR',
    's.',
  );
}
const torchZip = (pkl: Uint8Array, storages: Record<string, Uint8Array> = {}) =>
  zipFiles([
    { name: 'archive/data.pkl', data: pkl },
    ...Object.entries(storages).map(([k, v]) => ({ name: `archive/data/${k}`, data: v })),
    { name: 'archive/version', data: latin1('3\n') },
  ]);

/** Hostile files named in the issue, each a template that must be refused cleanly and fast. */
export function hostileTemplates(base: FuzzBase): FuzzInput[] {
  const f32 = (n: number) => new Uint8Array(n * 4);
  const pt = (kind: string, bytes: Uint8Array): FuzzInput => ({ format: 'pt', kind, bytes });
  const st = (kind: string, bytes: Uint8Array): FuzzInput => ({ format: 'safetensors', kind, bytes });
  const long4 = new Uint8Array(1 << 20).fill(0x5a);
  const appends = concat([0x80, 2], ']', '(', new Uint8Array(500_000).fill(0x4e), 'e', '.');
  const deepMarks = concat([0x80, 2], new Uint8Array(200_000).fill(0x28), '.');
  const deepLists = concat([0x80, 2], ']', Array.from({ length: 100_000 }, () => [0x5d, 0x85]).flat(), '.');
  const stHeader = (h: object, data: Uint8Array, lenDelta = 0) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigUint64(0, BigInt(json.length + lenDelta), true);
    return concat(head, json, data);
  };
  const stBase = parseSafetensors(base.safetensors);
  const hdrLen = Number(new DataView(base.safetensors.buffer).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(base.safetensors.subarray(8, 8 + hdrLen));
  const dupKey = headerText.replace(/^\{/, `{"out.2.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`);
  const first = [...stBase.tensors.keys()][0];
  return [
    pt('long4-1MiB', torchZip(concat([0x80, 2], [0x8b], u32(long4.length), long4, '.'))),
    pt('text-int-1M-digits', torchZip(concat([0x80, 2], 'I', new Uint8Array(1_000_000).fill(0x37), '\n.'))),
    pt('appends-500k', torchZip(appends)),
    pt('marks-200k-deep', torchZip(deepMarks)),
    pt('empty-lists-6M', torchZip(concat([0x80, 2], new Uint8Array(6_000_000).fill(0x5d), '.'))),
    pt('lists-100k-deep', torchZip(deepLists)),
    pt('zero-stride-65536^2', torchZip(oneTensorPickle(128, [65536, 65536], [0, 0]), { '0': f32(128) })),
    pt('negative-shape', torchZip(oneTensorPickle(64, [-64], [1]), { '0': f32(64) })),
    pt('negative-stride', torchZip(oneTensorPickle(64, [64], [-1], 63), { '0': f32(64) })),
    pt('view-past-storage', torchZip(oneTensorPickle(64, [65], [1]), { '0': f32(64) })),
    pt('storage-short', torchZip(oneTensorPickle(64, [64], [1]), { '0': f32(32) })),
    pt('storage-long', torchZip(oneTensorPickle(64, [64], [1]), { '0': f32(128) })),
    pt('dtype-proto', torchZip(oneTensorPickle(64, [64], [1], 0, '__proto__'), { '0': f32(64) })),
    pt('ordereddict-of-int', torchZip(concat([0x80, 2], 'ccollections\nOrderedDict\n', pInt(5), [0x85], 'R.'))),
    pt(
      'deep-callable',
      torchZip(concat([0x80, 2], Array.from({ length: 50_000 }, () => 'ccollections\nOrderedDict\n').join(''), ')R.')),
    ),
    pt(
      'duplicate-zip-names',
      zipFiles([
        ...base.ptEntries.map(([name, data]) => ({ name, data })),
        { name: base.ptEntries[0][0], data: base.ptEntries[0][1] },
      ]),
    ),
    pt(
      'local-central-mismatch',
      zipFiles(
        base.ptEntries.map(([name, data], i) => ({ name, data, localName: i === 0 ? name.replace(/.$/, 'X') : name })),
      ),
    ),
    pt(
      'deflate-bomb-lying-size',
      zipFiles(
        base.ptEntries.map(([name, data]) =>
          name.endsWith('data.pkl')
            ? { name, data: concat(data, new Uint8Array(64 << 20)), method: 8 as const, declared: data.length }
            : { name, data },
        ),
      ),
    ),
    pt(
      'deflate-declared-beyond-ratio',
      zipFiles(
        base.ptEntries.map(([name, data]) =>
          name.endsWith('data.pkl') ? { name, data, method: 8 as const, declared: 0xfffffff0 } : { name, data },
        ),
      ),
    ),
    st('header-100MiB-claimed', stHeader({}, new Uint8Array(0), 100 << 20)),
    st('header-one-byte-short', concat(u32(hdrLen - 1), u32(0), base.safetensors.subarray(8))),
    st('trailing-bytes', concat(base.safetensors, new Uint8Array(16))),
    st(
      'duplicate-key',
      concat(
        new Uint8Array(new BigUint64Array([BigInt(new TextEncoder().encode(dupKey).length)]).buffer),
        new TextEncoder().encode(dupKey),
        base.safetensors.subarray(8 + hdrLen),
      ),
    ),
    st('dtype-toString', stHeader({ a: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, f32(1))),
    st('gap', stHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2))),
    st(
      'overlap',
      stHeader(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        },
        f32(2),
      ),
    ),
    st('st-negative-shape', stHeader({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1))),
    st('deep-header', concat(u32(200_008), u32(0), '{"a":' + '['.repeat(100_001) + ']'.repeat(100_001) + '}')),
    st(
      'nan-weight',
      (() => {
        const b = base.safetensors.slice();
        const t = stBase.tensors.get(first)!;
        const at = t.data.byteOffset - base.safetensors.byteOffset;
        b.set([0, 0, 0xc0, 0x7f], at); // NaN as F32
        return b;
      })(),
    ),
    st(
      'config-numResBlocks-1e300',
      (() => {
        const meta = {
          ...stBase.metadata,
          config: stBase.metadata.config.replace(/"numResBlocks":\d+/, '"numResBlocks":1e300'),
        };
        const tensors = new Map(
          [...stBase.tensors].map(([k, t]) => [k, { shape: t.shape, data: new Float32Array(t.data.slice().buffer) }]),
        );
        return serializeSafetensors(tensors, meta);
      })(),
    ),
    st(
      'config-learnSigma-vs-out',
      (() => {
        const meta = {
          ...stBase.metadata,
          config: stBase.metadata.config.replace(/"learnSigma":true/, '"learnSigma":false'),
        };
        const tensors = new Map(
          [...stBase.tensors].map(([k, t]) => [k, { shape: t.shape, data: new Float32Array(t.data.slice().buffer) }]),
        );
        return serializeSafetensors(tensors, meta);
      })(),
    ),
  ];
}

// ---- random mutations --------------------------------------------------------------------------------------

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

function byteMutation(src: Uint8Array, r: () => number, hot: [number, number]): { bytes: Uint8Array; kind: string } {
  const pos = () => (r() < 0.7 ? hot[0] + Math.floor(r() * (hot[1] - hot[0])) : Math.floor(r() * src.length));
  const k = Math.floor(r() * 6);
  if (k === 0) {
    const b = src.slice();
    const n = 1 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) b[pos()] ^= 1 << Math.floor(r() * 8);
    return { bytes: b, kind: 'bitflip' };
  }
  if (k === 1) {
    const b = src.slice();
    const at = pos();
    const v = INTERESTING[Math.floor(r() * INTERESTING.length)];
    const width = [1, 2, 4, 8][Math.floor(r() * 4)];
    for (let i = 0; i < width && at + i < b.length; i++) b[at + i] = i < 4 ? (v >>> (8 * i)) & 0xff : v < 0 ? 0xff : 0;
    return { bytes: b, kind: `int${width * 8}` };
  }
  if (k === 2) return { bytes: src.slice(0, pos()), kind: 'truncate' };
  if (k === 3) {
    const at = pos();
    const ins = new Uint8Array(1 + Math.floor(r() * 16)).map(() => Math.floor(r() * 256));
    return { bytes: concat(src.subarray(0, at), ins, src.subarray(at)), kind: 'insert' };
  }
  if (k === 4) {
    const at = pos();
    return {
      bytes: concat(src.subarray(0, at), src.subarray(Math.min(src.length, at + 1 + Math.floor(r() * 64)))),
      kind: 'delete',
    };
  }
  const at = pos();
  const len = 1 + Math.floor(r() * 256);
  return { bytes: concat(src.subarray(0, at), src.subarray(at, at + len), src.subarray(at)), kind: 'duplicate' };
}

/** Mutations of the safetensors JSON header that keep it JSON (so the layout checks, not the parser, decide). */
function headerMutation(base: FuzzBase, r: () => number): { bytes: Uint8Array; kind: string } {
  const b = base.safetensors;
  const len = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + len)));
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const pick = () => header[names[Math.floor(r() * names.length)]];
  const k = Math.floor(r() * 9);
  let kind: string;
  if (k === 0) {
    const t = pick();
    t.data_offsets[Math.floor(r() * 2)] += [-4, -1, 1, 4, 1 << 20][Math.floor(r() * 5)];
    kind = 'st-offset';
  } else if (k === 1) {
    const a = pick();
    const c = pick();
    [a.data_offsets, c.data_offsets] = [c.data_offsets, a.data_offsets];
    kind = 'st-swap-offsets';
  } else if (k === 2) {
    const t = pick();
    t.shape[Math.floor(r() * Math.max(1, t.shape.length))] = [-1, 0, 2 ** 31, 2 ** 53, 1e300, 1.5][Math.floor(r() * 6)];
    kind = 'st-shape';
  } else if (k === 3) {
    pick().dtype = ['F16', 'I32', 'U32', 'toString', '__proto__', 'F8', 'constructor'][Math.floor(r() * 7)];
    kind = 'st-dtype';
  } else if (k === 4) {
    delete header[names[Math.floor(r() * names.length)]];
    kind = 'st-drop-tensor';
  } else if (k === 5) {
    const meta = header.__metadata__;
    const cfg = JSON.parse(meta.config);
    const field = Object.keys(cfg)[Math.floor(r() * Object.keys(cfg).length)];
    cfg[field] = [1e300, -1, 0, 1e7, 'abc', null, true, Array(100_000).fill(1), 3.5][Math.floor(r() * 9)];
    meta.config = JSON.stringify(cfg);
    kind = 'st-config';
  } else if (k === 6) {
    pick().data_offsets = [5, 2];
    kind = 'st-reversed-offsets';
  } else if (k === 7) {
    header.__metadata__ = [1, 2, 3][Math.floor(r() * 3)] === 1 ? { a: 1 } : 'x';
    kind = 'st-metadata';
  } else {
    pick().extra = 1;
    kind = 'st-extra-field';
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  return { bytes: concat(head, json, b.subarray(8 + len)), kind };
}

/** A mutated pickle, re-zipped with valid CRCs. */
function pickleMutation(base: FuzzBase, r: () => number): { bytes: Uint8Array; kind: string } {
  const pkl = base.ptEntries.find(([n]) => n === base.pklName)![1];
  const m = byteMutation(pkl, r, [0, pkl.length]);
  const files = base.ptEntries.map(([name, data]) => ({ name, data: name === base.pklName ? m.bytes : data }));
  return { bytes: zipFiles(files), kind: `pkl-${m.kind}` };
}

/** The i-th input of the run with this seed (templates first, then mutations alternating formats). */
export function* generate(base: FuzzBase, seed: number, count: number): Generator<FuzzInput> {
  const templates = hostileTemplates(base);
  for (let i = 0; i < count; i++) {
    if (i < templates.length) {
      yield templates[i];
      continue;
    }
    const r = rng(seed * 1_000_003 + i);
    const which = Math.floor(r() * 4);
    if (which === 0) {
      const m = byteMutation(base.pt, r, [base.pt.length - 16384, base.pt.length]);
      yield { format: 'pt', kind: `zip-${m.kind}`, bytes: m.bytes };
    } else if (which === 1) {
      const m = pickleMutation(base, r);
      yield { format: 'pt', ...m };
    } else if (which === 2) {
      const len = Number(new DataView(base.safetensors.buffer).getBigUint64(0, true));
      const m = byteMutation(base.safetensors, r, [0, 8 + len]);
      yield { format: 'safetensors', kind: `st-${m.kind}`, bytes: m.bytes };
    } else {
      yield { format: 'safetensors', ...headerMutation(base, r) };
    }
  }
}

export interface FuzzSummary {
  inputs: number;
  byFormat: Record<Format, number>;
  outcomes: Record<Outcome, number>;
  maxMs: number;
  maxCpuMs: number;
  /** inputs that took over 5 s of CPU time */
  over5s: number;
  /** the first few inputs of each non-refused, non-identical kind (for the report) */
  examples: { kind: string; outcome: Outcome; message: string }[];
  /** accepted inputs whose tensors differ from the base's, by mutation kind */
  changedKinds: Record<string, number>;
}

export function summarize(results: { input: FuzzInput; result: FuzzResult }[]): FuzzSummary {
  const s: FuzzSummary = {
    inputs: results.length,
    byFormat: { pt: 0, safetensors: 0 },
    outcomes: {
      refused: 0,
      'accepted-identical': 0,
      'accepted-changed': 0,
      'accepted-corrupt': 0,
      'internal-error': 0,
    },
    maxMs: 0,
    maxCpuMs: 0,
    over5s: 0,
    examples: [],
    changedKinds: {},
  };
  for (const { input, result } of results) {
    s.byFormat[input.format]++;
    s.outcomes[result.outcome]++;
    s.maxMs = Math.max(s.maxMs, result.ms);
    s.maxCpuMs = Math.max(s.maxCpuMs, result.cpuMs);
    if (result.cpuMs > 5000) s.over5s++;
    if (result.outcome === 'accepted-changed') s.changedKinds[input.kind] = (s.changedKinds[input.kind] ?? 0) + 1;
    if ((result.outcome === 'internal-error' || result.outcome === 'accepted-corrupt') && s.examples.length < 20)
      s.examples.push({ kind: input.kind, outcome: result.outcome, message: result.message });
  }
  return s;
}
