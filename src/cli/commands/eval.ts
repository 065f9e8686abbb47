// `posterior eval`: the CMI paper's Table I protocol on our data — per task × method, PSNR and SSIM
// (mean ± std over N images) and time per image; markdown + CSV + a figure grid.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/index.ts';
import { checkOutputPaths, portablePath } from '../output-paths.ts';
import { meanStd } from '../../io/metrics.ts';
import { loadTestImages } from '../../io/fmnist.ts';
import { readTensor } from '../tensors.ts';
import type { Task } from '../../operators/index.ts';
import { parseMethod, type PigdmWeighting } from '../../samplers/index.ts';
import { camelCase, UsageError, type FlagTable } from '../args.ts';
import { defineCommand } from '../command.ts';
import {
  appendRecord,
  encodeF32,
  enumerateUnits,
  findShardFiles,
  mergeRows,
  openRows,
  parseShard,
  ROWS_VERSION,
  rowsPath,
  shardUnits,
  writeEvalOutputs,
  type RowsHeader,
  type UnitRecord,
} from '../eval-shards.ts';
import { runExperiment } from '../experiment.ts';
import { parseTask } from '../measure-file.ts';
import { DEFAULT_WEIGHTS, loadScoreModel, WEIGHTS_FLAG } from '../model-file.ts';
import { clipFlag, cmiOptions, diffusionWithFlags, resolveSteps, SAMPLING_FLAGS } from '../sampling-flags.ts';

const ALL_TASKS: Task[] = ['inpaint-box', 'inpaint-random', 'sr4', 'gaussian-blur', 'motion-blur'];
const ALL_METHODS = ['dps', 'dps+cmi', 'pigdm', 'pigdm+cmi', 'dsg', 'mcg', 'ddrm'];

const FLAGS = {
  weights: WEIGHTS_FLAG,
  data: { type: 'string', default: 'fmnist', help: "'fmnist', or a .safetensors file with tensor x [N,C,H,W]" },
  tasks: { type: 'list', help: `tasks (default ${ALL_TASKS.join(',')})` },
  methods: { type: 'list', check: parseMethod, help: `methods (default ${ALL_METHODS.join(',')})` },
  n: { type: 'int', default: 16, help: 'images' },
  start: {
    type: 'int',
    default: 0,
    help: 'index of the first image (a held-out split: e.g. tune on --start 12 --n 4, evaluate on --n 12)',
  },
  batch: { type: 'int', default: 16, help: 'images per sampler run' },
  output: {
    type: 'string',
    default: 'out/eval',
    short: 'o',
    placeholder: 'DIR',
    help: 'output folder: NAME.md (with the paired +CMI comparison), NAME.csv, NAME-images.csv (per image), NAME-grid.png',
  },
  name: { type: 'string', default: 'table', help: 'file stem of the outputs' },
  shard: {
    type: 'string',
    placeholder: 'I/N',
    help: 'run only units u ≡ I (mod N) of the task × method × batch grid (0 ≤ I < N) and write NAME.shard-I-of-N.jsonl; join with `eval merge`',
  },
  resume: { type: 'boolean', help: "skip the units already in this run's rows file (NAME.rows.jsonl or the shard's)" },
  'sigma-y': { type: 'number', default: 0.05, help: 'measurement noise std' },
  'cmi-control': {
    type: 'string',
    choices: ['random-direction'],
    help: '+cmi methods: replace ∇I by a random direction of the same norm (a control for CMI studies)',
  },
  ...SAMPLING_FLAGS,
} as const satisfies FlagTable;

export default defineCommand({
  name: 'eval',
  description:
    'Evaluates samplers on Fashion-MNIST test images (--data fmnist: the Debian package dataset-fashion-mnist if ' +
    'installed, else the 16 bundled images) with the given model. DDRM runs only where the operator has an SVD. ' +
    'LPIPS and FID are not reported: they need network weights this project cannot ship. ' +
    'Every finished (task, method, batch) unit is appended to NAME.rows.jsonl; --resume skips those already there. ' +
    "--shard I/N runs every N-th unit on this machine; 'posterior eval merge' joins the shards into the same " +
    'outputs as one run (docs/cluster.md).',
  flags: FLAGS,
  positionals: 4096,
  usage: '[flags]  |  posterior eval merge [--output DIR] [--name NAME] [SHARD.jsonl …]',
  examples: [
    'posterior eval --n 16 --methods ddrm,pigdm,dsg --output docs/results --name fmnist-table',
    'posterior eval --n 16 --tasks inpaint-box,sr4 --methods dps --output out/dps1000',
    'posterior eval --n 50 --steps 100 --output runs --name t --shard 3/8   # one of 8 machines (docs/cluster.md)',
    'posterior eval merge --output runs --name t',
  ],
  async run(f, ctx) {
    if (ctx.positionals[0] === 'merge') return merge(f, ctx.positionals.slice(1), ctx.io.log);
    if (ctx.positionals.length)
      throw new UsageError(`unexpected argument '${ctx.positionals[0]}' (the only subcommand is 'eval merge')`);
    const tasks = (f.tasks?.length ? f.tasks : ALL_TASKS).map(parseTask);
    const methods = f.methods?.length ? f.methods : ALL_METHODS;
    methods.forEach(parseMethod);
    if (f.batch < 1 || f.n < 1) throw new UsageError('--n and --batch must be positive');
    const shard = f.shard ? parseShard(f.shard) : null;
    if (f.start < 0) throw new UsageError('--start must be ≥ 0');
    const files = ['.md', '.csv', '-images.csv', '-grid.png'].map((s) => `${f.name}${s}`);
    checkOutputPaths([{ path: f.output, directory: true, contents: files }], {
      inputs: [f.weights, f.data === 'fmnist' ? undefined : f.data],
    });
    const data = f.data === 'fmnist' ? loadTestImages(f.n, { start: f.start }) : loadCustom(f.data, f.n, f.start);
    const [, C, H, W] = data.shape;
    const size = C * H * W;
    const e = await Engine.create();
    try {
      const model = loadScoreModel(e, f.weights ?? DEFAULT_WEIGHTS);
      // each method at its protocol unless --steps is given
      const diffusion = diffusionWithFlags(model, f);
      const stepsOf = new Map(methods.map((m) => [m, resolveSteps(m, f.steps, diffusion)]));
      for (const s of new Set([...stepsOf.values()].map((v) => v.warning))) if (s) ctx.io.error(s);
      const units = enumerateUnits(tasks, methods, f.n, f.batch);
      const header: RowsHeader = {
        kind: 'header',
        version: ROWS_VERSION,
        settings: runSettings(f, tasks, methods),
        command: unshardedCommand(f),
        shard,
        units: units.length,
        device: e.gpu.description,
        weights: portablePath(f.weights ?? 'models/fmnist-unet.safetensors'),
        truth0: encodeF32(data.x.slice(0, size)),
        imageShape: [C, H, W],
        steps: Object.fromEntries(methods.map((m) => [m, stepsOf.get(m)!.count])),
      };
      mkdirSync(f.output, { recursive: true });
      const rowsFile = rowsPath(f.output, f.name, shard);
      const done = openRows(rowsFile, header, f.resume);
      const todo = shardUnits(units, shard).filter((u) => !done.has(u.index));
      if (done.size) ctx.io.error(`--resume: ${done.size} units already in ${rowsFile}, ${todo.length} to run`);
      const bar = ctx.progress({
        total: todo.reduce((a, u) => a + stepsOf.get(u.method)!.count, 0),
        label: 'eval',
        unit: 'steps',
      });
      let stepsDone = 0;
      for (const u of todo) {
        const { task, method, b0, nb } = u;
        const rec: UnitRecord = {
          kind: 'unit',
          index: u.index,
          task,
          method,
          b0,
          psnr: [],
          ssim: [],
          secondsPerImage: 0,
        };
        try {
          const r = await runExperiment({
            e,
            model,
            task,
            method,
            x: data.x.subarray(b0 * size, (b0 + nb) * size),
            shape: [nb, C, H, W],
            steps: stepsOf.get(method)!.steps,
            seed: f.seed + b0,
            sigmaY: f.sigmaY,
            cmi: { ...cmiOptions(f), control: f.cmiControl as 'random-direction' | undefined },
            zeta: f.zeta,
            eta: f.eta,
            clip: clipFlag(f),
            diffusion,
            pigdmWeighting: f.pigdmWeighting as PigdmWeighting,
            onStep: (s) => bar.update(stepsDone + s.i + 1, { run: `${task} ${method}` }),
          });
          Object.assign(rec, { psnr: r.psnr, ssim: r.ssim, secondsPerImage: r.secondsPerImage });
          if (b0 === 0) {
            const ySize = r.yShape.slice(1).reduce((a, b) => a * b, 1);
            Object.assign(rec, {
              x0: encodeF32(r.x0.slice(0, size)),
              y: encodeF32(r.y.slice(0, ySize)),
              yShape: [1, ...r.yShape.slice(1)],
            });
          }
        } catch (err) {
          if (!(method.startsWith('ddrm') && /singular value decomposition|SVD/i.test(String(err)))) throw err;
          rec.skipped = 'no SVD';
        }
        appendRecord(rowsFile, rec);
        stepsDone += stepsOf.get(method)!.count;
        bar.update(stepsDone);
      }
      bar.done();
      if (shard) {
        ctx.io.log(
          `wrote ${rowsFile} (shard ${shard.i}/${shard.n}: ${shardUnits(units, shard).length} of ${units.length} units); ` +
            `when every shard is done: posterior eval merge --output ${f.output} --name ${f.name}`,
        );
        return;
      }
      const all = mergeRows([rowsFile]);
      const md = writeEvalOutputs(f.output, f.name, all.header, all.records, pairedCmiSection);
      ctx.io.log(md.slice(6).join('\n'));
      ctx.io.log(`\nwrote ${join(f.output, f.name)}.{md,csv}, ${f.name}-images.csv and ${f.name}-grid.png`);
    } finally {
      e.destroy();
    }
  },
});

/** What decides the results: every flag except where outputs go and which part of the grid runs here. */
function runSettings(f: Record<string, unknown>, tasks: Task[], methods: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(f).sort())
    if (!['output', 'name', 'shard', 'resume'].includes(k) && f[k] !== undefined) out[k] = f[k];
  return { ...out, tasks, methods };
}

/**
 * The command line of the equivalent unsharded run, rebuilt from the parsed flags (those that differ from
 * their defaults, in table order) so that every shard and the unsharded run report the same line.
 */
function unshardedCommand(f: Record<string, unknown>): string {
  const parts = ['posterior eval'];
  for (const [flag, def] of Object.entries(FLAGS) as [string, { default?: unknown }][]) {
    if (['shard', 'resume'].includes(flag)) continue;
    const key = camelCase(flag);
    const v = f[key];
    if (v === undefined || v === false || JSON.stringify(v) === JSON.stringify(def.default)) continue;
    parts.push(v === true ? `--${flag}` : `--${flag} ${portablePath(Array.isArray(v) ? v.join(',') : String(v))}`);
  }
  return parts.join(' ');
}

/** `posterior eval merge [FILES…]`: the shards' rows files (default: every NAME.shard-*-of-*.jsonl in --output). */
function merge(f: { output: string; name: string }, files: string[], log: (s: string) => void): void {
  const paths = files.length ? files : existsSync(f.output) ? findShardFiles(f.output, f.name) : [];
  if (!paths.length)
    throw new UsageError(`eval merge: no ${f.name}.shard-*-of-*.jsonl in ${f.output} (and no files given)`);
  for (const p of paths) if (!existsSync(p)) throw new UsageError(`eval merge: ${p}: no such file`);
  const all = mergeRows(paths);
  mkdirSync(f.output, { recursive: true });
  const md = writeEvalOutputs(f.output, f.name, all.header, all.records, pairedCmiSection);
  log(md.slice(6).join('\n'));
  log(
    `\nmerged ${paths.length} rows files; wrote ${join(f.output, f.name)}.{md,csv}, ${f.name}-images.csv and ${f.name}-grid.png`,
  );
}

/**
 * CMI against its base method, paired over images (same images, measurements and seeds): mean PSNR/SSIM
 * difference ± its standard error, and how many images improved.
 */
export function pairedCmiSection(
  rows: Array<{ task: string; method: string; psnr: number[]; ssim: number[] }>,
): string[] {
  const out = [
    '## +CMI against its base method (paired over images)',
    '',
    'Δ = (method+cmi) − method per image; mean ± standard error of the mean; "better" counts images with ΔPSNR > 0.',
    '',
    '| task | method | ΔPSNR (dB) | ΔSSIM | better |',
    '|---|---|---|---|---|',
  ];
  let any = false;
  for (const r of rows) {
    if (!r.method.endsWith('+cmi')) continue;
    const b = rows.find((q) => q.task === r.task && q.method === r.method.slice(0, -4));
    if (!b || b.psnr.length !== r.psnr.length || !r.psnr.length) continue;
    const dp = r.psnr.map((v, i) => v - b.psnr[i]);
    const ds = r.ssim.map((v, i) => v - b.ssim[i]);
    const sem = (d: number[]) => {
      const m = meanStd(d);
      return `${m.mean >= 0 ? '+' : ''}${m.mean.toFixed(3)} ± ${(d.length > 1 ? (m.std * Math.sqrt(d.length / (d.length - 1))) / Math.sqrt(d.length) : NaN).toFixed(3)}`;
    };
    out.push(`| ${r.task} | ${b.method} | ${sem(dp)} | ${sem(ds)} | ${dp.filter((v) => v > 0).length}/${dp.length} |`);
    any = true;
  }
  return any ? out : [];
}

function loadCustom(path: string, n: number, start: number) {
  if (!/\.safetensors$/i.test(path)) throw new UsageError(`--data: 'fmnist' or a .safetensors file, got '${path}'`);
  const t = readTensor(path, 'x');
  if (t.shape[0] < start + n)
    throw new UsageError(`--data ${path}: ${t.shape[0]} images, --start ${start} --n ${n} requested`);
  const [, C, H, W] = t.shape;
  const size = C * H * W;
  return {
    x: (t.data as Float32Array).slice(start * size, (start + n) * size),
    shape: [n, C, H, W] as [number, number, number, number],
  };
}
