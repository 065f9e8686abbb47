// Pure (browser-safe) reader/writer for the safetensors format:
//   [u64 LE header length N][N bytes of JSON header][raw little-endian tensor data]
// The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to
// the start of the data section) plus an optional "__metadata__" string->string map.
// No node: imports here; file access lives in safetensors-node.ts.

export type SafetensorsDtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
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

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** raw little-endian bytes; a view into the parsed buffer (not copied, possibly unaligned) */
  data: Uint8Array;
}

export interface ParsedSafetensors {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsFormatError';
  }
}

// huggingface/safetensors refuses headers above 100 MB (MAX_HEADER_SIZE). A 2 GiB+ UNet has a header of a few
// hundred KiB, and a JSON header costs ~16 bytes of heap per byte while parsed, so we cap it lower: 16 MiB
// keeps a hostile header well under 1 GiB of memory.
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;
// A safetensors header is {name: {dtype, shape: [..], data_offsets: [..]}, __metadata__: {..}}: depth 3.
const MAX_HEADER_DEPTH = 4;
const MAX_RANK = 64;

export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return DTYPE_BYTES[dtype];
}

/** Own-property lookup: `"constructor"` or `"__proto__"` as a dtype must not resolve to Object's members. */
export function isSafetensorsDtype(d: unknown): d is SafetensorsDtype {
  return typeof d === 'string' && Object.hasOwn(DTYPE_BYTES, d);
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * One pass over the header text before JSON.parse: refuses duplicate keys in any object (JSON.parse would keep
 * the last one silently, and another reader the first) and nesting deeper than a safetensors header has.
 * Returns null when fine, else what is wrong. Invalid JSON is left to JSON.parse to describe.
 */
export function jsonStructureProblem(text: string, maxDepth: number): string | null {
  const keys: (Set<string> | null)[] = []; // per open container: its keys (objects) or null (arrays)
  const expectKey: boolean[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) j += 2;
        else if (d === 0x22) break;
        else j++;
      }
      const top = keys.length - 1;
      if (top >= 0 && keys[top] && expectKey[top]) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          return null; // JSON.parse reports it
        }
        if (keys[top]!.has(key)) return `duplicate key ${JSON.stringify(key.slice(0, 200))}`;
        keys[top]!.add(key);
        expectKey[top] = false;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (keys.length >= maxDepth) return `nested more than ${maxDepth} levels deep`;
      keys.push(c === 0x7b ? new Set() : null);
      expectKey.push(c === 0x7b);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      keys.pop();
      expectKey.pop();
    } else if (c === 0x2c /* , */ && keys.length && keys[keys.length - 1]) {
      expectKey[keys.length - 1] = true;
    }
    i++;
  }
  return null;
}

/**
 * Parse a safetensors buffer, validated as huggingface/safetensors does (Metadata::validate): header size cap,
 * a JSON object header starting with '{', no duplicate keys, dtypes from the table, shapes of non-negative
 * integers whose byte size matches data_offsets, and offsets that — sorted — are contiguous from 0 and cover
 * the data section exactly (no gaps, overlaps or trailing bytes). `label` (e.g. the file path) starts every
 * error message.
 */
export function parseSafetensors(bytes: Uint8Array, label = 'safetensors data'): ParsedSafetensors {
  const fail = (why: string): never => {
    throw new SafetensorsFormatError(`${label}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes, too short for the 8-byte header length (truncated?)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = dv.getBigUint64(0, true);
  if (headerLen64 > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length field says ${headerLen64} bytes, above the ${MAX_HEADER_BYTES}-byte limit (wrong file type?)`);
  }
  const headerLen = Number(headerLen64);
  if (8 + headerLen > bytes.length) {
    fail(`header length field says ${headerLen} bytes but the file has only ${bytes.length - 8} after it (truncated?)`);
  }
  if (headerLen < 2 || bytes[8] !== 0x7b) fail('header does not start with "{" (wrong file type?)');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  const structure = jsonStructureProblem(text, MAX_HEADER_DEPTH);
  if (structure) fail(`header: ${structure}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k.slice(0, 100)} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const what = `tensor ${JSON.stringify(name.slice(0, 200))}`;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object' || Array.isArray(e)) fail(`${what} is not an object`);
    const extra = Object.keys(e).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
    if (extra.length) fail(`${what} has unknown field ${JSON.stringify(extra[0].slice(0, 100))}`);
    if (!isSafetensorsDtype(e.dtype)) fail(`${what} has unsupported dtype ${JSON.stringify(e.dtype)?.slice(0, 100)}`);
    const dtype = e.dtype as SafetensorsDtype;
    if (
      !Array.isArray(e.shape) ||
      e.shape.length > MAX_RANK ||
      !e.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
    )
      fail(`${what} has a bad shape (expected at most ${MAX_RANK} non-negative integers)`);
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
      (off[0] as number) > (off[1] as number)
    ) {
      fail(`${what} has bad data_offsets ${JSON.stringify(off)?.slice(0, 100)}`);
    }
    const [begin, end] = off as [number, number];
    // numel may overflow: stop at 2^53 (as safetensors' ValidationOverflow check does with checked
    // multiplication); such a size can never match the offsets.
    let nbytes = shape.includes(0) ? 0 : DTYPE_BYTES[dtype];
    for (const d of shape) {
      nbytes *= d;
      if (nbytes > Number.MAX_SAFE_INTEGER) break;
    }
    if (end - begin !== nbytes)
      fail(
        `${what} spans ${end - begin} bytes but ${dtype}[${shape.join(', ')}] needs ${nbytes > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : nbytes}`,
      );
    if (end > dataLen)
      fail(`${what} ends at byte ${end} of the data section, which has only ${dataLen} bytes (truncated?)`);
    entries.push({ name, dtype, shape, begin, end });
  }
  // Sorted by offsets, every tensor must start where the previous one ended and the last must end at the end
  // of the file: a gap, an overlap or trailing bytes mean the header does not describe this data.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of sorted) {
    if (t.begin !== at)
      fail(
        t.begin > at
          ? `a gap in the data section: bytes ${at}..${t.begin} belong to no tensor (before ${JSON.stringify(t.name.slice(0, 200))})`
          : `tensor ${JSON.stringify(t.name.slice(0, 200))} overlaps the previous tensor (starts at byte ${t.begin}, previous ends at ${at})`,
      );
    at = t.end;
  }
  if (at !== dataLen)
    fail(`the tensors cover ${at} bytes but the data section has ${dataLen} (wrong header length, or trailing bytes)`);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const t of entries)
    tensors.set(t.name, {
      dtype: t.dtype,
      shape: [...t.shape],
      data: bytes.subarray(dataStart + t.begin, dataStart + t.end),
    });
  return { tensors, metadata };
}

const HOST_IS_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** IEEE half -> float (exact; handles subnormals, inf, NaN). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Decode any numeric tensor to a fresh Float32Array (F16/BF16 exactly, F64/I64 rounded to f32).
 * Works on unaligned views, which parseSafetensors can return (tensors of odd-sized dtypes may start
 * at any byte offset).
 */
export function tensorToFloat32(t: { dtype: SafetensorsDtype; data: Uint8Array; shape?: number[] }): Float32Array {
  const size = isSafetensorsDtype(t.dtype) ? DTYPE_BYTES[t.dtype] : undefined;
  if (size === undefined) throw new SafetensorsFormatError(`cannot convert dtype ${t.dtype} to float32`);
  const n = t.data.length / size;
  const out = new Float32Array(n);
  if (t.dtype === 'F32' && HOST_IS_LE) {
    // Byte copy into an aligned buffer: fastest path and independent of the view's alignment.
    new Uint8Array(out.buffer).set(t.data);
    return out;
  }
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const read: (i: number) => number = {
    F64: (i: number) => dv.getFloat64(i * 8, true),
    F32: (i: number) => dv.getFloat32(i * 4, true),
    F16: (i: number) => halfToFloat(dv.getUint16(i * 2, true)),
    // bfloat16 is the top half of a float32.
    BF16: (i: number) => {
      scratch.setUint32(0, dv.getUint16(i * 2, true) << 16, true);
      return scratch.getFloat32(0, true);
    },
    I64: (i: number) => Number(dv.getBigInt64(i * 8, true)),
    I32: (i: number) => dv.getInt32(i * 4, true),
    I16: (i: number) => dv.getInt16(i * 2, true),
    I8: (i: number) => dv.getInt8(i),
    U64: (i: number) => Number(dv.getBigUint64(i * 8, true)),
    U32: (i: number) => dv.getUint32(i * 4, true),
    U16: (i: number) => dv.getUint16(i * 2, true),
    U8: (i: number) => dv.getUint8(i),
    BOOL: (i: number) => (dv.getUint8(i) ? 1 : 0),
  }[t.dtype];
  for (let i = 0; i < n; i++) out[i] = read(i);
  return out;
}
const scratch = new DataView(new ArrayBuffer(4));

/** Index of the first NaN or ±Inf in `a`, or -1 (weights and measurements must be finite). */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

export type SerializableTensor = { shape: number[]; data: Float32Array | Int32Array };
export type SerializableTensors = Record<string, SerializableTensor> | Map<string, SerializableTensor>;

/**
 * The pieces of a safetensors file (header block followed by each tensor's bytes, in order), so a
 * Node writer can stream multi-GiB models without concatenating them into one buffer.
 * Tensors are written in iteration order; since all dtypes are 4 bytes and the header is padded to
 * a multiple of 8, every tensor starts 4-byte aligned and the data section has no holes (as the
 * format requires).
 */
export function safetensorsParts(tensors: SerializableTensors, metadata?: Record<string, string>): Uint8Array[] {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  const parts: Uint8Array[] = [new Uint8Array(0)];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error('a tensor may not be named __metadata__');
    const n = numelOf(t.shape);
    if (n !== t.data.length) {
      throw new Error(
        `tensor "${name}": shape ${JSON.stringify(t.shape)} has ${n} elements but data has ${t.data.length}`,
      );
    }
    const dtype = t.data instanceof Float32Array ? 'F32' : 'I32';
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(HOST_IS_LE ? bytes : byteswap32(bytes));
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20); // JSON may be padded with spaces
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  parts[0] = head;
  return parts;
}

export function serializeSafetensors(tensors: SerializableTensors, metadata?: Record<string, string>): Uint8Array {
  const parts = safetensorsParts(tensors, metadata);
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function byteswap32(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += 4) {
    out[i] = b[i + 3];
    out[i + 1] = b[i + 2];
    out[i + 2] = b[i + 1];
    out[i + 3] = b[i];
  }
  return out;
}
