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

// A 2 GiB+ model has a header of a few hundred KiB; anything far above that is a wrong file
// (or a wrong length field), and refusing it early avoids decoding garbage as JSON.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return DTYPE_BYTES[dtype];
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Parse a safetensors buffer. `label` (e.g. the file path) is used in error messages so that a
 * user can tell which file is truncated or malformed.
 */
export function parseSafetensors(bytes: Uint8Array, label = 'safetensors data'): ParsedSafetensors {
  const fail = (why: string): never => {
    throw new SafetensorsFormatError(`${label}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes, too short for the 8-byte header length (truncated?)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = dv.getBigUint64(0, true);
  if (headerLen64 > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length field says ${headerLen64} bytes, which is implausible (wrong file type?)`);
  }
  const headerLen = Number(headerLen64);
  if (8 + headerLen > bytes.length) {
    fail(`header length field says ${headerLen} bytes but the file has only ${bytes.length - 8} after it (truncated?)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    return fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, SafetensorsTensor>();
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') fail(`entry "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES))
      fail(`tensor "${name}" has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`tensor "${name}" has a bad shape`);
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((o) => Number.isInteger(o) && o >= 0) ||
      off[0] > off[1]
    ) {
      fail(`tensor "${name}" has bad data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    const expected = numelOf(shape) * DTYPE_BYTES[dtype];
    if (end - begin !== expected)
      fail(`tensor "${name}" spans ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`);
    if (end > dataLen)
      fail(`tensor "${name}" ends at byte ${end} of the data section, which has only ${dataLen} bytes (truncated?)`);
    tensors.set(name, { dtype, shape: [...shape], data: bytes.subarray(dataStart + begin, dataStart + end) });
  }
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
  const size = DTYPE_BYTES[t.dtype];
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
