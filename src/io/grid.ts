// Labelled figure grids as PNG: rows × columns of images (truth | measurement | DPS | CMI+DPS | ...), column
// titles on top, row labels on the left, optional captions (PSNR/SSIM) under each cell. Text uses the
// built-in 5×7 bitmap font, so no font files are needed. Small images (32×32) are upscaled by an integer
// factor with nearest neighbour, and smaller images in a cell (an 8×8 SR measurement) fill it the same way.
import { writeFileAtomic } from './atomic.ts';
import { drawText, GLYPH_H, textWidth, glyphUnits } from './font5x7.ts';
import { encodeBytes, toByte } from './png.ts';

export interface GridImage {
  /** [C, H, W] or [1, C, H, W], C = 1 or 3, values in [-1, 1] */
  shape: readonly number[];
  data: ArrayLike<number>;
}

export interface GridOptions {
  /** column titles (word-wrapped to the cell width) */
  columns?: readonly string[];
  /** row labels ('\n' splits lines) */
  rows?: readonly string[];
  /** text under individual cells, e.g. 'PSNR 24.1' ('\n' splits lines) */
  captions?: readonly (readonly (string | undefined)[])[];
  /** a title line above everything */
  title?: string;
  /** integer upscaling of the largest image; default: the smallest factor making cells ≥ 128 px */
  scale?: number;
  /** integer text scale; default 2 when every title word and caption line fits a cell at 2, else 1 */
  textScale?: number;
  /** pixels between cells and around the grid (default 4) */
  gap?: number;
}

export interface RgbImage {
  /** interleaved RGB bytes */
  pixels: Uint8Array;
  width: number;
  height: number;
}

const WHITE = 255;
const MISSING = 225;

/** Render the grid into RGB bytes. A null/undefined cell is drawn as a grey "n/a" box. */
export function composeGrid(
  cells: readonly (readonly (GridImage | null | undefined)[])[],
  opts: GridOptions = {},
): RgbImage {
  const nRows = cells.length;
  const nCols = Math.max(0, ...cells.map((r) => r.length), opts.columns?.length ?? 0);
  if (nRows === 0 || nCols === 0) throw new Error('composeGrid: no cells');
  if (opts.rows && opts.rows.length !== nRows)
    throw new Error(`composeGrid: ${opts.rows.length} row labels for ${nRows} rows`);
  const dims = cells
    .flat()
    .filter((c): c is GridImage => !!c)
    .map(checkImage);
  const maxH = Math.max(1, ...dims.map((d) => d[1]));
  const maxW = Math.max(1, ...dims.map((d) => d[2]));
  const scale = opts.scale ?? Math.max(1, Math.ceil(128 / Math.max(maxH, maxW)));
  if (!Number.isInteger(scale) || scale < 1)
    throw new Error(`composeGrid: scale must be a positive integer (got ${scale})`);
  const cellH = maxH * scale;
  const cellW = maxW * scale;
  const fits2 = [
    ...(opts.columns ?? []).flatMap((t) => t.split(/\s+/)),
    ...(opts.captions ?? []).flat().flatMap((t) => (t ?? '').split('\n')),
  ].every((t) => textWidth(t) * 2 <= cellW);
  const ts = opts.textScale ?? (fits2 ? 2 : 1);
  const gap = opts.gap ?? 4;
  const lineH = (GLYPH_H + 3) * ts;

  const colLines = Array.from({ length: nCols }, (_, j) => wrapPixels(opts.columns?.[j] ?? '', cellW, ts));
  const rowLines = cells.map((_, i) => (opts.rows?.[i] ?? '').split('\n').filter((l, k, a) => l || a.length > 1));
  const capLines = cells.map((row, i) =>
    Array.from({ length: nCols }, (_, j) =>
      opts.captions?.[i]?.[j] ? wrapPixels(opts.captions[i][j]!, cellW, ts) : [],
    ),
  );
  const titleH = opts.title ? lineH + gap : 0;
  const headerH = opts.columns ? Math.max(...colLines.map((l) => l.length)) * lineH : 0;
  const labelW = opts.rows ? Math.max(0, ...rowLines.flat().map((l) => textWidth(l) * ts)) + 2 * gap : 0;
  const capH = capLines.map((r) => Math.max(0, ...r.map((l) => l.length)) * lineH);
  const rowH = capH.map((c) => cellH + c + gap);

  const width = Math.max(gap + labelW + nCols * (cellW + gap), opts.title ? textWidth(opts.title) * ts + 2 * gap : 0);
  const height = gap + titleH + headerH + rowH.reduce((a, b) => a + b, 0);
  const pixels = new Uint8Array(width * height * 3).fill(WHITE);
  const text = (s: string, x: number, y: number) => drawText(pixels, width, height, s, x, y, ts);
  const centred = (s: string, x: number, w: number) => x + Math.floor((w - textWidth(s) * ts) / 2);

  if (opts.title) text(opts.title, gap, gap);
  const top = gap + titleH;
  colLines.forEach((lines, j) => {
    const x = gap + labelW + j * (cellW + gap);
    lines.forEach((l, k) => text(l, centred(l, x, cellW), top + headerH - (lines.length - k) * lineH + ts));
  });
  let y = top + headerH;
  cells.forEach((row, i) => {
    const lines = rowLines[i];
    const ly = y + Math.floor((cellH - lines.length * lineH) / 2) + ts;
    lines.forEach((l, k) => text(l, gap, ly + k * lineH));
    for (let j = 0; j < nCols; j++) {
      const x = gap + labelW + j * (cellW + gap);
      const img = row[j];
      if (img) blit(pixels, width, img, x, y, cellW, cellH);
      else {
        fillRect(pixels, width, x, y, cellW, cellH, MISSING);
        text('n/a', centred('n/a', x, cellW), y + Math.floor((cellH - GLYPH_H * ts) / 2));
      }
      capLines[i][j].forEach((l, k) => text(l, centred(l, x, cellW), y + cellH + k * lineH + ts));
    }
    y += rowH[i];
  });
  return { pixels, width, height };
}

export function encodeGrid(
  cells: readonly (readonly (GridImage | null | undefined)[])[],
  opts: GridOptions = {},
): Uint8Array {
  const g = composeGrid(cells, opts);
  return encodeBytes(g.pixels, g.width, g.height, 3);
}

export function writeGrid(
  path: string,
  cells: readonly (readonly (GridImage | null | undefined)[])[],
  opts: GridOptions = {},
): void {
  writeFileAtomic(path, encodeGrid(cells, opts));
}

/** Split one image of a batch [N, C, H, W] into a GridImage (a view, no copy). */
export function batchItem(data: Float32Array, shape: readonly number[], n: number): GridImage {
  if (shape.length !== 4) throw new Error(`batchItem: shape ${JSON.stringify(shape)} is not [N,C,H,W]`);
  const [N, C, H, W] = shape;
  if (n < 0 || n >= N) throw new Error(`batchItem: index ${n} outside batch of ${N}`);
  const size = C * H * W;
  return { shape: [C, H, W], data: data.subarray(n * size, (n + 1) * size) };
}

function checkImage(img: GridImage): [number, number, number] {
  const s = img.shape.length === 4 && img.shape[0] === 1 ? img.shape.slice(1) : img.shape;
  if (s.length !== 3 || (s[0] !== 1 && s[0] !== 3)) {
    throw new Error(`composeGrid: cell shape ${JSON.stringify(img.shape)} is not [C,H,W] or [1,C,H,W] with C = 1 or 3`);
  }
  if (img.data.length !== s[0] * s[1] * s[2])
    throw new Error(
      `composeGrid: cell shape ${JSON.stringify(img.shape)} needs ${s[0] * s[1] * s[2]} values, got ${img.data.length}`,
    );
  return s as [number, number, number];
}

/** Draw an image into a cell: integer nearest upscaling to fit, centred; gray replicated to RGB. */
function blit(
  pixels: Uint8Array,
  width: number,
  img: GridImage,
  x0: number,
  y0: number,
  cellW: number,
  cellH: number,
): void {
  const [C, H, W] = checkImage(img);
  const f = Math.max(1, Math.min(Math.floor(cellW / W), Math.floor(cellH / H)));
  const ox = x0 + Math.floor((cellW - W * f) / 2);
  const oy = y0 + Math.floor((cellH - H * f) / 2);
  const plane = H * W;
  for (let y = 0; y < H * f; y++) {
    for (let x = 0; x < W * f; x++) {
      const src = Math.floor(y / f) * W + Math.floor(x / f);
      const dst = 3 * ((oy + y) * width + ox + x);
      for (let c = 0; c < 3; c++) pixels[dst + c] = toByte(img.data[(C === 1 ? 0 : c) * plane + src]);
    }
  }
}

function fillRect(pixels: Uint8Array, width: number, x0: number, y0: number, w: number, h: number, v: number): void {
  for (let y = y0; y < y0 + h; y++) pixels.fill(v, 3 * (y * width + x0), 3 * (y * width + x0 + w));
}

/** Word-wrap to a pixel width; words too long for a line are cut. */
function wrapPixels(text: string, maxW: number, ts: number): string[] {
  const maxChars = Math.max(1, Math.floor((maxW / ts + 1) / 6));
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const w of para.split(' ').filter(Boolean)) {
      const word = glyphUnits(w).slice(0, maxChars).join('');
      const cand = line ? `${line} ${word}` : word;
      if (line && textWidth(cand) * ts > maxW) {
        lines.push(line);
        line = word;
      } else line = cand;
    }
    if (line) lines.push(line);
  }
  return lines;
}
