import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng, readPng, toByte, upscaleNearest, writePng } from '../src/io/png.ts';
import { randomArray } from './helpers.ts';

/** A minimal PNG writer (filter 0 on every row) for bit depths and colour types pngjs cannot write. */
function rawPng(
  width: number,
  height: number,
  depth: number,
  colorType: number,
  rows: number[][],
  plte?: number[],
): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    td.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(td) >>> 0, 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const raw = Buffer.concat(rows.map((r) => Buffer.from([0, ...r])));
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      ...(plte ? [chunk('PLTE', Uint8Array.from(plte))] : []),
      chunk('IDAT', zlib.deflateSync(raw)),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}

const bytesToImage = (u8: Uint8Array) => Float32Array.from(u8, (u) => u / 127.5 - 1);

describe('png', () => {
  it('round-trips 8-bit gray and RGB exactly', () => {
    for (const C of [1, 3]) {
      const u8 = Uint8Array.from({ length: C * 7 * 5 }, (_, i) => (i * 37 + 11) % 256);
      const x = bytesToImage(u8);
      const img = decodePng(encodePng(x, [1, C, 7, 5]));
      expect(img.shape).toEqual([1, C, 7, 5]);
      expect(Array.from(img.data)).toEqual(Array.from(x));
    }
  });

  it('clamps and rounds when writing', () => {
    expect([-3, -1, 0, 1, 1.5, NaN, 0.999, -0.9999].map(toByte)).toEqual([0, 0, 128, 255, 255, 0, 255, 0]);
    const img = decodePng(encodePng([2, -2, 0.5, -0.5], [1, 2, 2]));
    // 0.5 -> round(191.25) = 191; -0.5 -> round(63.75) = 64
    expect(Array.from(img.data)).toEqual([1, -1, 191 / 127.5 - 1, 64 / 127.5 - 1].map(Math.fround));
  });

  it('reads 16-bit, 1-bit, gray+alpha and palette PNGs at full precision', () => {
    const g16 = decodePng(rawPng(2, 1, 16, 0, [[0xff, 0xff, 0x80, 0x00]]));
    expect(g16.shape).toEqual([1, 1, 1, 2]);
    expect(g16.data[0]).toBe(1);
    expect(g16.data[1]).toBeCloseTo((0x8000 / 65535) * 2 - 1, 7);
    const g1 = decodePng(rawPng(3, 1, 1, 0, [[0b10100000]]));
    expect(Array.from(g1.data)).toEqual([1, -1, 1]);
    const ga = decodePng(rawPng(1, 1, 8, 4, [[51, 0]])); // alpha dropped
    expect(ga.shape).toEqual([1, 1, 1, 1]);
    expect(ga.data[0]).toBeCloseTo(51 / 127.5 - 1, 6);
    const pal = decodePng(rawPng(2, 1, 8, 3, [[1, 0]], [0, 0, 0, 255, 0, 0]));
    expect(pal.shape).toEqual([1, 3, 1, 2]);
    expect(Array.from(pal.data)).toEqual([1, -1, -1, -1, -1, -1]);
  });

  it('converts channels on request (BT.601 luma, gray replication)', () => {
    const rgb = encodePng([1, 1, -1, -1, -1, -1], [3, 1, 2]); // pixel 0 pure red, pixel 1 black
    const gray = decodePng(rgb, { channels: 1 });
    expect(gray.shape).toEqual([1, 1, 1, 2]);
    expect(gray.data[0]).toBeCloseTo(0.299 * 2 - 1, 6);
    const back = decodePng(encodePng([0.5], [1, 1, 1]), { channels: 3 });
    expect(back.shape).toEqual([1, 3, 1, 1]);
    expect(back.data[0]).toBe(back.data[2]);
  });

  it('gives clear errors for wrong sizes, non-PNG data and unsupported layouts', () => {
    const png = encodePng(new Float32Array(64 * 48), [1, 48, 64]);
    expect(() => decodePng(png, { size: [32, 32], label: 'in.png' })).toThrow(
      /in\.png: image is 64×48 .* 32×32 is needed/,
    );
    expect(() => decodePng(new Uint8Array([1, 2, 3]), { label: 'x.png' })).toThrow(/x\.png: not a readable PNG/);
    expect(() => encodePng(new Float32Array(8), [2, 1, 2, 2])).toThrow(/holds 2 images/);
    expect(() => encodePng(new Float32Array(8), [2, 2, 2])).toThrow(/2 channels/);
    expect(() => encodePng(new Float32Array(3), [1, 2, 2])).toThrow(/needs 4 values/);
  });

  it('writes and reads files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'png-test-'));
    const x = bytesToImage(Uint8Array.from(randomArray(3 * 32 * 32, 5), (v) => Math.floor((v + 1) * 127.9)));
    writePng(join(dir, 'a.png'), x, [3, 32, 32]);
    const img = readPng(join(dir, 'a.png'), { size: [32, 32] });
    expect(Array.from(img.data)).toEqual(Array.from(x));
    expect(() => readPng(join(dir, 'missing.png'))).toThrow(/missing\.png: no such file or directory/);
  });

  it('upscales by nearest neighbour', () => {
    const up = upscaleNearest([1, 2, 3, 4], [1, 2, 2], 2);
    expect(up.shape).toEqual([1, 4, 4]);
    expect(Array.from(up.data)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
});
