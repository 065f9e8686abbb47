import { describe, expect, it } from 'vitest';
import {
  fmnistInstalled,
  loadFashionMnist,
  loadFmnistFixture,
  loadTestImages,
  parseIdx,
  toModelInput,
} from '../src/io/fmnist.ts';
import * as zlib from 'node:zlib';

// Labels of the first 16 Fashion-MNIST test images (t10k-labels-idx1-ubyte).
const FIRST16_LABELS = [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1];

function idx(dims: number[], data: number[]): Uint8Array {
  const head = [0, 0, 8, dims.length, ...dims.flatMap((d) => [d >>> 24, (d >> 16) & 255, (d >> 8) & 255, d & 255])];
  return Uint8Array.from([...head, ...data]);
}

describe('IDX reader', () => {
  it('parses plain and gzipped IDX files', () => {
    const raw = idx([2, 3], [1, 2, 3, 4, 5, 6]);
    for (const bytes of [raw, new Uint8Array(zlib.gzipSync(raw))]) {
      const a = parseIdx(bytes);
      expect(a.dims).toEqual([2, 3]);
      expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });
  it('names the problem in bad files', () => {
    expect(() => parseIdx(idx([2, 3], [1, 2, 3]), 'f.idx')).toThrow(
      /f\.idx: IDX header says 2×3 = 6 bytes of data, file has 3/,
    );
    expect(() => parseIdx(Uint8Array.from([1, 2, 3, 4]), 'f.idx')).toThrow(/not an IDX file/);
    expect(() => parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]))).toThrow(/not unsigned byte/);
    expect(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 1, 2]), 'g.gz')).toThrow(/g\.gz: corrupt gzip/);
  });
});

describe('model input convention', () => {
  it('scales by u/127.5 - 1 and pads 2 px of -1 to 32×32', () => {
    const u8 = new Uint8Array(28 * 28).fill(255);
    u8[0] = 0;
    u8[1] = 51;
    const x = toModelInput(u8, 1);
    expect(x.length).toBe(1024);
    expect(x[0]).toBe(-1); // padding
    expect(x[2 * 32 + 1]).toBe(-1); // padding left of the image
    expect(x[2 * 32 + 2]).toBe(-1); // u = 0
    expect(x[2 * 32 + 3]).toBe(Math.fround(51 / 127.5 - 1));
    expect(x[29 * 32 + 29]).toBe(1); // last image pixel
    expect(x[30 * 32 + 29]).toBe(-1); // padding below
  });
});

describe('committed fixture', () => {
  it('holds the first 16 test images, padded, in [-1, 1], with their labels', () => {
    const fx = loadFmnistFixture();
    expect(fx.shape).toEqual([16, 1, 32, 32]);
    expect(Array.from(fx.labels)).toEqual(FIRST16_LABELS);
    let min = Infinity,
      max = -Infinity;
    for (const v of fx.x) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(-1);
    expect(max).toBeLessThanOrEqual(1);
    for (let k = 0; k < 16; k++) {
      // border rows/columns are padding, and every value is an exact u/127.5 - 1
      for (let i = 0; i < 32; i++) {
        expect(fx.x[k * 1024 + i]).toBe(-1);
        expect(fx.x[k * 1024 + i * 32 + 31]).toBe(-1);
      }
    }
    for (const v of fx.x) {
      const u = Math.round((v + 1) * 127.5);
      expect(v).toBe(Math.fround(u / 127.5 - 1));
    }
    const bundled = loadTestImages(4, { dir: '/nonexistent' });
    expect(bundled.shape).toEqual([4, 1, 32, 32]);
    expect(Array.from(bundled.x)).toEqual(Array.from(fx.x.subarray(0, 4 * 1024)));
    expect(() => loadTestImages(17, { dir: '/nonexistent' })).toThrow(
      /only 16 .* install the Debian package dataset-fashion-mnist/,
    );
  });

  it.runIf(fmnistInstalled())('equals the Debian dataset read by the IDX reader', () => {
    const fx = loadFmnistFixture();
    const ds = loadFashionMnist({ split: 'test', start: 0, count: 16 });
    expect(ds.shape).toEqual(fx.shape);
    expect(Array.from(ds.labels)).toEqual(FIRST16_LABELS);
    expect(Array.from(ds.x)).toEqual(Array.from(fx.x));
    const tail = loadFashionMnist({ split: 'test', start: 9998 });
    expect(tail.shape).toEqual([2, 1, 32, 32]);
    expect(() => loadFashionMnist({ split: 'test', start: 9999, count: 2 })).toThrow(
      /9999\.\.10000 requested, the split has 0\.\.9999/,
    );
  });
});
