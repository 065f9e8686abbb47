// A small PNG line chart for the posterior study: log-x axis (NFE), log or linear y (error), one coloured
// polyline per method with square markers (variants such as dps+cmi dashed in their base's colour), an optional dashed reference line (the estimator's noise
// floor), and a legend. Drawn pixel by pixel into an RGBA buffer and encoded with pngjs; text uses a
// built-in 3×5 bitmap font (scaled ×2), so no font files are needed.
import { PNG } from 'pngjs';

export interface PlotSeries {
  label: string;
  /** (x, y) points; non-finite y are skipped */
  points: Array<[number, number]>;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  /** horizontal dashed line (e.g. the metric's floor on exact samples) */
  reference?: { label: string; y: number };
  width?: number;
  height?: number;
}

const PALETTE: Array<[number, number, number]> = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
  [0, 0, 0],
  [255, 187, 120],
  [152, 223, 138],
  [255, 152, 150],
];

// 3×5 glyphs, rows top to bottom, '1' = ink. Letters are drawn upper-case.
const GLYPHS: Record<string, string> = {
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '111001111100111',
  '3': '111001111001111',
  '4': '101101111001001',
  '5': '111100111001111',
  '6': '111100111101111',
  '7': '111001001010010',
  '8': '111101111101111',
  '9': '111101111001111',
  A: '010101111101101',
  B: '110101110101110',
  C: '011100100100011',
  D: '110101101101110',
  E: '111100110100111',
  F: '111100110100100',
  G: '011100101101011',
  H: '101101111101101',
  I: '111010010010111',
  J: '001001001101010',
  K: '101101110101101',
  L: '100100100100111',
  M: '101111111101101',
  N: '110101101101101',
  O: '010101101101010',
  P: '110101110100100',
  Q: '010101101110011',
  R: '110101110101101',
  S: '011100010001110',
  T: '111010010010010',
  U: '101101101101111',
  V: '101101101101010',
  W: '101101111111101',
  X: '101101010101101',
  Y: '101101010010010',
  Z: '111001010100111',
  '+': '000010111010000',
  '-': '000000111000000',
  '.': '000000000000010',
  ':': '000010000010000',
  '=': '000111000111000',
  '(': '001010010010001',
  ')': '100010010010100',
  '/': '001001010100100',
  _: '000000000000111',
  ',': '000000000010100',
  '%': '101001010100101',
  ' ': '000000000000000',
  '[': '011010010010011',
  ']': '110010010010110',
  '<': '001010100010001',
  '>': '100010001010100',
};

class Canvas {
  readonly data: Buffer;
  constructor(
    readonly w: number,
    readonly h: number,
  ) {
    this.data = Buffer.alloc(w * h * 4, 255);
  }
  set(x: number, y: number, c: readonly number[]) {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    const o = (y * this.w + x) * 4;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
    this.data[o + 3] = 255;
  }
  rect(x0: number, y0: number, x1: number, y1: number, c: readonly number[]) {
    for (let y = Math.round(y0); y <= Math.round(y1); y++)
      for (let x = Math.round(x0); x <= Math.round(x1); x++) this.set(x, y, c);
  }
  /** thick line by stamping squares along the segment; `dash` = [on, off] pixels */
  line(x0: number, y0: number, x1: number, y1: number, c: readonly number[], width = 1, dash?: [number, number]) {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    const r = (width - 1) / 2;
    for (let i = 0; i <= n; i++) {
      if (dash && i % (dash[0] + dash[1]) >= dash[0]) continue;
      const x = x0 + ((x1 - x0) * i) / n,
        y = y0 + ((y1 - y0) * i) / n;
      this.rect(x - r, y - r, x + r, y + r, c);
    }
  }
  text(s: string, x: number, y: number, c: readonly number[], scale = 2, align: 'left' | 'right' | 'center' = 'left') {
    const w = textWidth(s, scale);
    let cx = align === 'left' ? x : align === 'right' ? x - w : x - w / 2;
    for (const ch of s.toUpperCase()) {
      const g = GLYPHS[ch] ?? GLYPHS['-'];
      for (let r = 0; r < 5; r++)
        for (let q = 0; q < 3; q++)
          if (g[r * 3 + q] === '1')
            this.rect(cx + q * scale, y + r * scale, cx + q * scale + scale - 1, y + r * scale + scale - 1, c);
      cx += 4 * scale;
    }
  }
  /** text rotated by −90° (reading upwards), centred on (x, y) */
  textVertical(s: string, x: number, y: number, c: readonly number[], scale = 2) {
    const w = textWidth(s, scale);
    let cy = y + w / 2;
    for (const ch of s.toUpperCase()) {
      const g = GLYPHS[ch] ?? GLYPHS['-'];
      for (let r = 0; r < 5; r++)
        for (let q = 0; q < 3; q++)
          if (g[r * 3 + q] === '1')
            this.rect(x + r * scale, cy - (q + 1) * scale, x + r * scale + scale - 1, cy - q * scale - 1, c);
      cy -= 4 * scale;
    }
  }
}

const textWidth = (s: string, scale: number) => s.length * 4 * scale - scale;

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/** Renders the chart; returns PNG bytes. */
export function renderPlot(o: PlotOptions): Buffer {
  const W = o.width ?? 900,
    H = o.height ?? 520;
  const cv = new Canvas(W, H);
  const left = 90,
    right = 230,
    top = 50,
    bottom = 70;
  const pw = W - left - right,
    ph = H - top - bottom;
  const pts = o.series.flatMap((s) => s.points.filter(([x, y]) => x > 0 && Number.isFinite(y)));
  const xs = pts.map((p) => p[0]);
  // Divergent runs would squash everything else: the y range stops at 100× the median value (or the
  // reference), and points above it are drawn as triangles on the top edge ("off scale" in the legend).
  const sortedY = pts.map((p) => p[1]).sort((a, b) => a - b);
  const median = sortedY.length ? sortedY[Math.floor(sortedY.length / 2)] : 1;
  const cap = 100 * Math.max(Math.abs(median), o.reference ? Math.abs(o.reference.y) : 0, 1e-300);
  const inRange = (y: number) => y <= cap;
  const ysAll = [...pts.map((p) => p[1]).filter(inRange), ...(o.reference && o.reference.y > 0 ? [o.reference.y] : [])];
  const xMin = Math.min(...xs, 1) / 1.3,
    xMax = Math.max(...xs, 2) * 1.3;
  const positive = ysAll.filter((y) => y > 0);
  const logY =
    positive.length === ysAll.length && positive.length > 0 && Math.max(...positive) / Math.min(...positive) > 20;
  let yMin: number, yMax: number;
  if (logY) {
    yMin = 10 ** Math.floor(Math.log10(Math.min(...positive)));
    yMax = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
  } else {
    yMin = Math.min(0, ...ysAll);
    yMax = ysAll.length ? Math.max(...ysAll) * 1.1 : 1;
    if (yMax <= yMin) yMax = yMin + 1;
  }
  const px = (x: number) => left + ((Math.log(x) - Math.log(xMin)) / (Math.log(xMax) - Math.log(xMin))) * pw;
  const py = (y: number) =>
    logY
      ? top + ph - ((Math.log(y) - Math.log(yMin)) / (Math.log(yMax) - Math.log(yMin))) * ph
      : top + ph - ((y - yMin) / (yMax - yMin)) * ph;
  const grid = [225, 225, 225],
    ink = [40, 40, 40];
  // y ticks
  const yTicks: number[] = [];
  if (logY) for (let d = Math.log10(yMin); d <= Math.log10(yMax) + 1e-9; d++) yTicks.push(10 ** d);
  else {
    const step = 10 ** Math.floor(Math.log10((yMax - yMin) / 5));
    const mult = [1, 2, 5, 10].find((m) => (yMax - yMin) / (m * step) <= 6) ?? 10;
    for (let v = Math.ceil(yMin / (mult * step)) * mult * step; v <= yMax + 1e-12; v += mult * step) yTicks.push(v);
  }
  for (const v of yTicks) {
    cv.line(left, py(v), left + pw, py(v), grid);
    cv.text(fmtTick(v), left - 8, py(v) - 5, ink, 2, 'right');
  }
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  for (const v of xTicks) {
    cv.line(px(v), top, px(v), top + ph, grid);
    cv.text(fmtTick(v), px(v), top + ph + 10, ink, 2, 'center');
  }
  cv.line(left, top, left, top + ph, ink, 2);
  cv.line(left, top + ph, left + pw, top + ph, ink, 2);
  cv.text(o.title, left + pw / 2, 16, ink, 2, 'center');
  cv.text(o.xLabel + ' (LOG)', left + pw / 2, H - 30, ink, 2, 'center');
  cv.textVertical(o.yLabel + (logY ? ' (LOG)' : ''), 20, top + ph / 2, ink, 2);
  if (o.reference && (!logY || o.reference.y > 0))
    cv.line(left, py(o.reference.y), left + pw, py(o.reference.y), [120, 120, 120], 2, [8, 6]);
  // one colour per base method; a "+suffix" variant (e.g. dps+cmi) is the same colour, dashed, so that
  // identical curves stay visible
  const bases = [...new Set(o.series.map((s) => s.label.split('+')[0]))];
  o.series.forEach((s, k) => {
    const c = PALETTE[bases.indexOf(s.label.split('+')[0]) % PALETTE.length];
    const dash: [number, number] | undefined = s.label.includes('+') ? [7, 5] : undefined;
    const p = s.points.filter(([x, y]) => x > 0 && Number.isFinite(y) && (!logY || y > 0)).sort((a, b) => a[0] - b[0]);
    const yy = (y: number) => py(Math.min(y, yMax));
    for (let i = 1; i < p.length; i++) cv.line(px(p[i - 1][0]), yy(p[i - 1][1]), px(p[i][0]), yy(p[i][1]), c, 2, dash);
    for (const [x, y] of p) {
      if (y > yMax) for (let r = 0; r < 7; r++) cv.rect(px(x) - r, py(yMax) + r, px(x) + r, py(yMax) + r, c);
      else cv.rect(px(x) - 3, yy(y) - 3, px(x) + 3, yy(y) + 3, c);
    }
    // legend
    const ly = top + 8 + k * 20;
    cv.line(left + pw + 16, ly + 5, left + pw + 44, ly + 5, c, 3, dash);
    cv.text(s.label + (p.some(([, y]) => y > yMax) ? ' (OFF SCALE)' : ''), left + pw + 52, ly, ink, 2);
  });
  if (o.reference) {
    const ly = top + 8 + o.series.length * 20;
    cv.line(left + pw + 16, ly + 5, left + pw + 44, ly + 5, [120, 120, 120], 2, [6, 4]);
    cv.text(o.reference.label, left + pw + 52, ly, ink, 2);
  }
  const png = new PNG({ width: W, height: H });
  cv.data.copy(png.data);
  return PNG.sync.write(png);
}
