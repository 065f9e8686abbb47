import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  halfToFloat,
  parseSafetensors,
  serializeSafetensors,
  tensorToFloat32,
  type SafetensorsDtype,
} from '../src/engine/safetensors.ts';
import { readSafetensorsFile } from '../src/engine/safetensors-node.ts';
import { writeSafetensorsFile } from '../src/io/atomic.ts';

/** Hand-build a safetensors file with arbitrary dtypes (the writer only emits F32/I32). */
function build(
  entries: Array<[string, SafetensorsDtype, number[], Uint8Array]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let off = 0;
  for (const [name, dtype, shape, data] of entries) {
    header[name] = { dtype, shape, data_offsets: [off, off + data.length] };
    off += data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const [, , , data] of entries) {
    out.set(data, p);
    p += data.length;
  }
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('safetensors', () => {
  it('round-trips F32 and I32 tensors with metadata, in insertion order', () => {
    const a = new Float32Array([1.5, -2, 3e-8, Infinity, 0, 7]);
    const b = new Int32Array([-1, 2, 16777216]);
    const bytes = serializeSafetensors(
      { 'w.weight': { shape: [2, 3], data: a }, idx: { shape: [3], data: b } },
      { format: 'x', note: 'é' },
    );
    // header is padded so the data section starts 8-byte aligned
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const st = parseSafetensors(bytes);
    expect([...st.tensors.keys()]).toEqual(['w.weight', 'idx']);
    expect(st.metadata).toEqual({ format: 'x', note: 'é' });
    const w = st.tensors.get('w.weight')!;
    expect(w.dtype).toBe('F32');
    expect(w.shape).toEqual([2, 3]);
    expect(tensorToFloat32(w)).toEqual(a);
    expect(st.tensors.get('idx')!.dtype).toBe('I32');
    expect(Array.from(tensorToFloat32(st.tensors.get('idx')!))).toEqual([-1, 2, 16777216]);
  });

  it('reads the golden fixtures, whose tensors start at unaligned offsets', () => {
    const st = readSafetensorsFile('test/fixtures/adm-tiny/unet-golden.safetensors');
    expect(st.metadata.about).toContain('guided-diffusion');
    const x = st.tensors.get('x')!;
    expect(x.shape).toEqual([2, 3, 32, 32]);
    const t = tensorToFloat32(st.tensors.get('t')!);
    expect(t.length).toBe(2);
    for (const [, tensor] of st.tensors) {
      const f = tensorToFloat32(tensor);
      expect(f.length).toBe(tensor.shape.reduce((a, d) => a * d, 1));
      expect(f.every(Number.isFinite)).toBe(true);
    }
  });

  it('converts F16, BF16, F64, I64, U8 to float32', () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00, 0x3555]); // 1, -2, 2^-24, inf, ~1/3
    const bf16 = new Uint16Array([0x3f80, 0xc040, 0x0000]); // 1, -3, 0
    const f64 = new Float64Array([Math.PI, -1e-300]);
    const i64 = new BigInt64Array([-5n, 1n << 40n]);
    const u8 = new Uint8Array([0, 255]);
    // Prefix a 1-byte tensor so the others start at odd offsets.
    const st = parseSafetensors(
      build([
        ['u8', 'U8', [2], u8],
        ['h', 'F16', [5], bytesOf(f16)],
        ['b', 'BF16', [3], bytesOf(bf16)],
        ['d', 'F64', [2], bytesOf(f64)],
        ['l', 'I64', [2], bytesOf(i64)],
      ]),
    );
    const h = tensorToFloat32(st.tensors.get('h')!);
    expect(Array.from(h.slice(0, 4))).toEqual([1, -2, 2 ** -24, Infinity]);
    expect(h[4]).toBeCloseTo(1 / 3, 3);
    expect(Array.from(tensorToFloat32(st.tensors.get('b')!))).toEqual([1, -3, 0]);
    expect(tensorToFloat32(st.tensors.get('d')!)[0]).toBeCloseTo(Math.PI, 6);
    expect(Array.from(tensorToFloat32(st.tensors.get('l')!))).toEqual([-5, 2 ** 40]);
    expect(Array.from(tensorToFloat32(st.tensors.get('u8')!))).toEqual([0, 255]);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('names the problem for truncated or malformed files', () => {
    const good = serializeSafetensors({ a: { shape: [4], data: new Float32Array(4) } });
    expect(() => parseSafetensors(good.subarray(0, 5), 'x.safetensors')).toThrow(
      /x\.safetensors.*too short.*truncated/,
    );
    expect(() => parseSafetensors(good.subarray(0, 20), 'x.safetensors')).toThrow(/header length.*truncated/);
    expect(() => parseSafetensors(good.subarray(0, good.length - 4), 'x.safetensors')).toThrow(
      /tensor "a" ends at byte 16.*truncated/,
    );
    const bad = good.slice();
    bad[8] = 0x5b; // '[' -> header no longer a JSON object
    expect(() => parseSafetensors(bad)).toThrow(/does not start with "\{"/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 50n, true);
    expect(() => parseSafetensors(huge)).toThrow(/above the \d+-byte limit/);
    const wrongSize = build([['a', 'F32', [3], new Uint8Array(8)]]);
    expect(() => parseSafetensors(wrongSize)).toThrow(/spans 8 bytes but F32\[3\] needs 12/);
    const badDtype = build([['a', 'F8' as SafetensorsDtype, [1], new Uint8Array(1)]]);
    expect(() => parseSafetensors(badDtype)).toThrow(/unsupported dtype "F8"/);
  });

  it('rejects data that does not match the shape when serializing', () => {
    expect(() => serializeSafetensors({ a: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /4 elements but data has 3/,
    );
  });

  it('writes and reads files (streamed writer equals in-memory serializer)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = join(dir, 'a.safetensors');
    const tensors = new Map([
      ['z', { shape: [3], data: new Float32Array([1, 2, 3]) }],
      ['a', { shape: [1], data: new Float32Array([4]) }],
    ]);
    writeSafetensorsFile(path, tensors, { k: 'v' });
    expect(new Uint8Array(readFileSync(path))).toEqual(serializeSafetensors(tensors, { k: 'v' }));
    const st = readSafetensorsFile(path);
    expect([...st.tensors.keys()]).toEqual(['z', 'a']);
    expect(st.metadata).toEqual({ k: 'v' });
  });
});
