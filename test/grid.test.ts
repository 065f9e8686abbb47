import { describe, expect, it } from 'vitest';
import { ADVANCE, glyph, glyphUnits, textWidth } from '../src/io/font5x7.ts';
import { batchItem, composeGrid, encodeGrid } from '../src/io/grid.ts';
import { decodePng } from '../src/io/png.ts';

const solid = (C: number, H: number, W: number, v: number) => ({
  shape: [C, H, W],
  data: new Float32Array(C * H * W).fill(v),
});
const px = (g: { pixels: Uint8Array; width: number }, x: number, y: number) =>
  Array.from(g.pixels.subarray(3 * (y * g.width + x), 3 * (y * g.width + x) + 3));

describe('font', () => {
  it('has a 7-row glyph for every printable ASCII character and the extras', () => {
    for (let c = 0x20; c <= 0x7e; c++) {
      const g = glyph(String.fromCharCode(c));
      expect(g.length).toBe(5);
      expect(g.every((b) => b >= 0 && b < 0x80)).toBe(true);
    }
    expect(glyph('A')).toEqual([0x7e, 0x11, 0x11, 0x11, 0x7e]);
    expect(glyph('\u2603')).toEqual(glyph('?')); // unknown -> '?'
    expect(glyphUnits('x̂₀')).toEqual(['x̂', '₀']); // combining hat stays with its letter
    expect(textWidth('abc')).toBe(3 * ADVANCE - 1);
  });
});

describe('grid', () => {
  it('lays out cells with the requested scale, titles, labels and n/a cells', () => {
    const g = composeGrid(
      [
        [solid(1, 4, 4, 1), solid(3, 4, 4, -1)],
        [solid(1, 2, 2, 1), null],
      ],
      { scale: 10, gap: 2, columns: ['A', 'B'], rows: ['r1', 'r2'], textScale: 1 },
    );
    const lineH = 10;
    const labelW = textWidth('r1') + 4;
    expect(g.width).toBe(2 + labelW + 2 * (40 + 2));
    expect(g.height).toBe(2 + lineH + 2 * (40 + 2));
    const x0 = 2 + labelW;
    const y0 = 2 + lineH;
    expect(px(g, x0, y0)).toEqual([255, 255, 255]); // white image, top-left pixel
    expect(px(g, x0 + 42 + 39, y0 + 39)).toEqual([0, 0, 0]); // black RGB image, bottom-right pixel
    expect(px(g, x0, y0 + 42)).toEqual([255, 255, 255]); // 2×2 image upscaled ×20 fills the cell
    expect(px(g, x0 + 42, y0 + 42)).toEqual([225, 225, 225]); // n/a cell
    // the column title "A" is drawn (some black pixels in the header above column 0)
    let dark = 0;
    for (let y = 2; y < y0; y++) for (let x = x0; x < x0 + 40; x++) if (px(g, x, y)[0] === 0) dark++;
    expect(dark).toBeGreaterThan(5);
  });

  it('encodes an RGB PNG of the composed size', () => {
    const png = decodePng(encodeGrid([[solid(1, 32, 32, 0)]], { columns: ['truth'], title: 'demo' }));
    expect(png.shape[1]).toBe(3);
    expect(png.shape[3]).toBe(4 + 128 + 4); // default scale: 32 px -> 128 px cells
  });

  it('rejects bad cells and mismatched labels', () => {
    expect(() => composeGrid([[{ shape: [2, 4, 4], data: new Float32Array(32) }]])).toThrow(/C = 1 or 3/);
    expect(() => composeGrid([[solid(1, 4, 4, 0)]], { rows: ['a', 'b'] })).toThrow(/2 row labels for 1 rows/);
    expect(() => batchItem(new Float32Array(32), [2, 1, 4, 4], 2)).toThrow(/outside batch of 2/);
  });
});
