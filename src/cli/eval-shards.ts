// `posterior eval` as units of work that can run on many machines. The grid (task × method × image batch)
// is enumerated in one fixed order; `--shard i/n` runs units u with u mod n = i. Every finished unit is
// appended to a rows file (JSON lines: a header with the run's settings, then one record per unit), so a
// shard that dies can be rerun alone and `--resume` skips what is already written. `eval merge` checks
// that the shards are of one run and complete, and writes the same table, CSV and grid as an unsharded
// run (which itself goes through a rows file and this writer): identical bytes except the timings.
import { existsSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFilesAtomic } from '../io/atomic.ts';
import { encodeGrid, type GridImage } from '../io/grid.ts';
import { meanStd } from '../io/metrics.ts';
import type { Task } from '../operators/index.ts';
import { UsageError } from './args.ts';
import { measurementImage } from './experiment.ts';

export const ROWS_VERSION = 1;

/** One unit: a (task, method) pair on images [b0, b0 + nb) — the batches of an unsharded run. */
export interface Unit {
  index: number;
  task: Task;
  method: string;
  b0: number;
  nb: number;
}

export function enumerateUnits(tasks: readonly Task[], methods: readonly string[], n: number, batch: number): Unit[] {
  const out: Unit[] = [];
  for (const task of tasks)
    for (const method of methods)
      for (let b0 = 0; b0 < n; b0 += batch)
        out.push({ index: out.length, task, method, b0, nb: Math.min(batch, n - b0) });
  return out;
}

export interface Shard {
  i: number;
  n: number;
}

/** `--shard i/n` (0 ≤ i < n; Slurm's SLURM_ARRAY_TASK_ID and Kubernetes' JOB_COMPLETION_INDEX count from 0). */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (!m) throw new UsageError(`--shard '${s}': expected i/n with 0 ≤ i < n, e.g. 0/4`);
  const i = Number(m[1]),
    n = Number(m[2]);
  if (n < 1 || i >= n) throw new UsageError(`--shard '${s}': expected i/n with 0 ≤ i < n`);
  return { i, n };
}

export function shardUnits(units: readonly Unit[], shard: Shard | null): Unit[] {
  return shard ? units.filter((u) => u.index % shard.n === shard.i) : [...units];
}

/** The rows file of a run: NAME.rows.jsonl, or NAME.shard-I-of-N.jsonl for one shard. */
export function rowsPath(out: string, name: string, shard: Shard | null): string {
  return join(out, shard ? `${name}.shard-${shard.i}-of-${shard.n}.jsonl` : `${name}.rows.jsonl`);
}

export interface RowsHeader {
  kind: 'header';
  version: number;
  /** everything that decides the results (the flags less --output, --name, --shard, --resume) */
  settings: Record<string, unknown>;
  /** the equivalent unsharded command, for the report */
  command: string;
  shard: Shard | null;
  units: number;
  device: string;
  /** model path for the report */
  weights: string;
  /** image 0 of the data, [C, H, W], for the grid */
  truth0: string;
  imageShape: number[];
  /** respaced steps each method ran */
  steps: Record<string, number>;
}

export interface UnitRecord {
  kind: 'unit';
  index: number;
  task: Task;
  method: string;
  b0: number;
  psnr: number[];
  ssim: number[];
  secondsPerImage: number;
  skipped?: string;
  /** b0 = 0 only: image 0's reconstruction and measurement, for the grid */
  x0?: string;
  y?: string;
  yShape?: number[];
}

export const encodeF32 = (a: Float32Array): string =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
export function decodeF32(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Header and records of a rows file; a truncated last line (a killed shard) is ignored. */
export function readRows(path: string): { header: RowsHeader; records: UnitRecord[] } {
  const lines = readFileSync(path, 'utf8').split('\n');
  let header: RowsHeader | null = null;
  const records: UnitRecord[] = [];
  lines.forEach((line, k) => {
    if (!line.trim()) return;
    let obj: any;
    try {
      obj = JSON.parse(line);
    } catch {
      if (k === lines.length - 1 || (k === lines.length - 2 && !lines[lines.length - 1])) return; // cut off mid-write
      throw new Error(`${path}: line ${k + 1} is not JSON`);
    }
    if (obj.kind === 'header') {
      if (header) throw new Error(`${path}: two headers`);
      if (obj.version !== ROWS_VERSION)
        throw new Error(`${path}: rows format version ${obj.version}, this posterior reads ${ROWS_VERSION}`);
      header = obj;
    } else if (obj.kind === 'unit') {
      if (!header) throw new Error(`${path}: a unit record before the header`);
      if (!Array.isArray(obj.psnr) || !Array.isArray(obj.ssim) || typeof obj.index !== 'number')
        throw new Error(`${path}: line ${k + 1}: malformed unit record`);
      records.push(obj);
    } else throw new Error(`${path}: line ${k + 1}: unknown record kind '${obj.kind}'`);
  });
  if (!header) throw new Error(`${path}: no header (not a posterior eval rows file?)`);
  return { header, records };
}

const sameSettings = (a: RowsHeader, b: RowsHeader) => JSON.stringify(a.settings) === JSON.stringify(b.settings);

/**
 * Opens the rows file for a run: with `resume`, keeps its records (its settings must match) and returns the
 * unit indices done; otherwise starts it afresh with the header.
 */
export function openRows(path: string, header: RowsHeader, resume: boolean): Set<number> {
  if (resume && existsSync(path)) {
    const old = readRows(path);
    if (!sameSettings(old.header, header))
      throw new UsageError(`--resume: ${path} was written with other settings; remove it or drop --resume`);
    // rewrite without a torn last line, so appends start on a fresh line
    writeFileSync(path, [old.header, ...old.records].map((r) => JSON.stringify(r)).join('\n') + '\n');
    return new Set(old.records.map((r) => r.index));
  }
  writeFileSync(path, JSON.stringify(header) + '\n');
  return new Set();
}

export function appendRecord(path: string, rec: UnitRecord): void {
  appendFileSync(path, JSON.stringify(rec) + '\n');
}

/** The shard files NAME.shard-*-of-*.jsonl in a folder. */
export function findShardFiles(dir: string, name: string): string[] {
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.shard-\\d+-of-\\d+\\.jsonl$`);
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Joins rows files (one run's shards, or one unsharded file) into the records of the whole grid, checking
 * that they share settings and that every unit is there exactly once.
 */
export function mergeRows(paths: readonly string[]): { header: RowsHeader; records: UnitRecord[] } {
  if (!paths.length) throw new UsageError('eval merge: no rows files');
  const parts = paths.map((p) => ({ path: p, ...readRows(p) }));
  const first = parts[0];
  for (const p of parts.slice(1))
    if (!sameSettings(p.header, first.header))
      throw new Error(`${p.path}: settings differ from ${first.path} (not shards of one run)`);
  const byIndex = new Map<number, UnitRecord>();
  for (const p of parts)
    for (const r of p.records) {
      if (byIndex.has(r.index)) throw new Error(`${p.path}: unit ${r.index} also in another rows file`);
      byIndex.set(r.index, r);
    }
  const missing: number[] = [];
  for (let u = 0; u < first.header.units; u++) if (!byIndex.has(u)) missing.push(u);
  if (missing.length) {
    const shards = first.header.shard
      ? [...new Set(missing.map((u) => u % first.header.shard!.n))].map((i) => `${i}/${first.header.shard!.n}`)
      : [];
    throw new Error(
      `eval merge: ${missing.length} of ${first.header.units} units missing (e.g. unit ${missing[0]})` +
        (shards.length ? `; rerun --shard ${shards.join(', ')} (with --resume)` : ''),
    );
  }
  const devices = [...new Set(parts.map((p) => p.header.device))];
  return {
    header: { ...first.header, shard: null, device: devices.join('; ') },
    records: [...byIndex.values()].sort((a, b) => a.index - b.index),
  };
}

interface Row {
  task: Task;
  method: string;
  psnr: number[];
  ssim: number[];
  sec: number[];
  skipped?: string;
  x0?: Float32Array;
  y?: Float32Array;
  yShape?: number[];
}

/** The table (NAME.md), CSV, per-image CSV and grid of a complete run, from its unit records. */
export function writeEvalOutputs(
  out: string,
  name: string,
  header: RowsHeader,
  records: readonly UnitRecord[],
  pairedCmiSection: (rows: Row[]) => string[],
): string[] {
  const s = header.settings as {
    tasks: Task[];
    methods: string[];
    n: number;
    start?: number;
    batch: number;
    steps?: string;
    seed: number;
    sigmaY: number;
    cmiR: number;
    cmiEta: string;
    cmiSigmaInv: string;
    cmiControl?: string;
  };
  const rows: Row[] = [];
  for (const task of s.tasks)
    for (const method of s.methods) {
      const row: Row = { task, method, psnr: [], ssim: [], sec: [] };
      rows.push(row);
      for (const r of records.filter((q) => q.task === task && q.method === method).sort((a, b) => a.b0 - b.b0)) {
        if (r.skipped) {
          row.skipped = r.skipped;
          continue;
        }
        row.psnr.push(...r.psnr);
        row.ssim.push(...r.ssim);
        row.sec.push(r.secondsPerImage);
        if (r.b0 === 0 && r.x0) Object.assign(row, { x0: decodeF32(r.x0), y: decodeF32(r.y!), yShape: r.yShape });
      }
      if (row.skipped) Object.assign(row, { psnr: [], ssim: [], sec: [], x0: undefined });
    }
  const fmt = (v: number[], d: number) =>
    v.length ? `${meanStd(v).mean.toFixed(d)} ± ${meanStd(v).std.toFixed(d)}` : 'n/a';
  const md = [
    `# Posterior sampling on Fashion-MNIST (${s.n} test images${s.start ? `, from index ${s.start}` : ''})`,
    '',
    `Command: \`${header.command}\``,
    '',
    `Model \`${header.weights}\`; σ_y = ${s.sigmaY}; steps ${s.methods.map((m) => `${m} ${header.steps[m]}`).join(', ')} (${s.steps ? '--steps' : "each method's protocol"}); seed ${s.seed}; CMI: r = ${s.cmiR}, η ${s.cmiEta}, Σ⁻¹ ${s.cmiSigmaInv}${s.cmiControl ? ` (control: ∇I replaced by a ${s.cmiControl})` : ''}. ` +
      `Device: ${header.device}. PSNR/SSIM on images mapped to [0, 1]; mean ± std (population) over images. LPIPS/FID not reported (they need network weights we cannot ship).`,
    '',
    '| task | method | PSNR (dB) ↑ | SSIM ↑ | s / image |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.task} | ${r.method} | ${r.skipped ?? fmt(r.psnr, 2)} | ${r.skipped ?? fmt(r.ssim, 3)} | ${r.sec.length ? (r.sec.reduce((a, b) => a + b, 0) / r.sec.length).toFixed(2) : '–'} |`,
    ),
  ];
  const csv = ['task,method,psnr_mean,psnr_std,ssim_mean,ssim_std,seconds_per_image,n'];
  for (const r of rows) {
    const p = meanStd(r.psnr),
      q = meanStd(r.ssim);
    csv.push(
      [
        r.task,
        r.method,
        p.mean,
        p.std,
        q.mean,
        q.std,
        r.sec.length ? r.sec.reduce((a, b) => a + b, 0) / r.sec.length : NaN,
        r.psnr.length,
      ].join(','),
    );
  }
  md.push('', ...pairedCmiSection(rows));
  // per image, for paired comparisons (every method sees the same images, measurements and seeds)
  const perImage = ['task,method,image,psnr,ssim'];
  for (const r of rows) r.psnr.forEach((v, i) => perImage.push([r.task, r.method, i, v, r.ssim[i]].join(',')));

  // grid: first image of each task; columns truth | measurement | methods
  const [C, H, W] = header.imageShape;
  const truth: GridImage = { shape: [C, H, W], data: decodeF32(header.truth0) };
  const cells: (GridImage | null)[][] = [];
  for (const task of s.tasks) {
    const rs = rows.filter((r) => r.task === task);
    const first = rs.find((r) => r.y);
    cells.push([
      truth,
      first ? measurementImage(task, first.y!, first.yShape!, 0) : null,
      ...rs.map((r) => (r.x0 ? { shape: [C, H, W], data: r.x0 } : null)),
    ]);
  }
  const grid = encodeGrid(cells, { columns: ['truth', 'measurement', ...s.methods], rows: s.tasks });
  // the table, both CSVs and the grid replace the previous ones together (src/io/atomic.ts)
  const texts = [md, csv, perImage].map((lines) => lines.join('\n') + '\n');
  writeFilesAtomic(
    ['.md', '.csv', '-images.csv', '-grid.png'].map((suffix, i) => ({
      path: join(out, `${name}${suffix}`),
      data: i < 3 ? texts[i] : grid,
    })),
  );
  return md;
}
