// `posterior eval`: the CMI paper's Table I protocol on our data — per task × method, PSNR and SSIM
// (mean ± std over N images) and time per image; markdown + CSV + a figure grid.
import { join } from 'node:path';
import { Engine } from '../../engine/index.ts';
import { writeFilesAtomic } from '../../io/atomic.ts';
import { batchItem, encodeGrid, type GridImage } from '../../io/grid.ts';
import { checkOutputPaths, portablePath, portableCommand } from '../output-paths.ts';
import { meanStd } from '../../io/metrics.ts';
import { loadTestImages } from '../../io/fmnist.ts';
import { readTensor } from '../tensors.ts';
import type { Task } from '../../operators/index.ts';
import { parseMethod, type PigdmWeighting } from '../../samplers/index.ts';
import { UsageError } from '../args.ts';
import { defineCommand } from '../command.ts';
import { measurementImage, runExperiment } from '../experiment.ts';
import { parseTask } from '../measure-file.ts';
import { DEFAULT_WEIGHTS, loadScoreModel, WEIGHTS_FLAG } from '../model-file.ts';
import { clipFlag, cmiOptions, diffusionWithFlags, resolveSteps, SAMPLING_FLAGS } from '../sampling-flags.ts';

const ALL_TASKS: Task[] = ['inpaint-box', 'inpaint-random', 'sr4', 'gaussian-blur', 'motion-blur'];
const ALL_METHODS = ['dps', 'dps+cmi', 'pigdm', 'pigdm+cmi', 'dsg', 'mcg', 'ddrm'];

export default defineCommand({
  name: 'eval',
  description:
    'Evaluates samplers on Fashion-MNIST test images (--data fmnist: the Debian package dataset-fashion-mnist if ' +
    'installed, else the 16 bundled images) with the given model. DDRM runs only where the operator has an SVD. ' +
    'LPIPS and FID are not reported: they need network weights this project cannot ship.',
  flags: {
    weights: WEIGHTS_FLAG,
    data: { type: 'string', default: 'fmnist', help: "'fmnist', or a .safetensors file with tensor x [N,C,H,W]" },
    tasks: { type: 'list', help: `tasks (default ${ALL_TASKS.join(',')})` },
    methods: { type: 'list', check: parseMethod, help: `methods (default ${ALL_METHODS.join(',')})` },
    n: { type: 'int', default: 16, help: 'images' },
    batch: { type: 'int', default: 16, help: 'images per sampler run' },
    output: {
      type: 'string',
      default: 'out/eval',
      short: 'o',
      placeholder: 'DIR',
      help: 'output folder: NAME.md (with the paired +CMI comparison), NAME.csv, NAME-images.csv (per image), NAME-grid.png',
    },
    name: { type: 'string', default: 'table', help: 'file stem of the outputs' },
    'sigma-y': { type: 'number', default: 0.05, help: 'measurement noise std' },
    ...SAMPLING_FLAGS,
  },
  examples: [
    'posterior eval --n 16 --methods ddrm,pigdm,dsg --output docs/results --name fmnist-table',
    'posterior eval --n 16 --tasks inpaint-box,sr4 --methods dps --output out/dps1000',
  ],
  async run(f, ctx) {
    const tasks = (f.tasks?.length ? f.tasks : ALL_TASKS).map(parseTask);
    const methods = f.methods?.length ? f.methods : ALL_METHODS;
    methods.forEach(parseMethod);
    if (f.batch < 1 || f.n < 1) throw new UsageError('--n and --batch must be positive');
    const files = ['.md', '.csv', '-images.csv', '-grid.png'].map((s) => `${f.name}${s}`);
    checkOutputPaths([{ path: f.output, directory: true, contents: files }], {
      inputs: [f.weights, f.data === 'fmnist' ? undefined : f.data],
    });
    const data = f.data === 'fmnist' ? loadTestImages(f.n) : loadCustom(f.data, f.n);
    const [, C, H, W] = data.shape;
    const size = C * H * W;
    const e = await Engine.create();
    const command = portableCommand(process.argv.slice(2));
    try {
      const model = loadScoreModel(e, f.weights ?? DEFAULT_WEIGHTS);
      type Row = {
        task: Task;
        method: string;
        psnr: number[];
        ssim: number[];
        sec: number[];
        skipped?: string;
        x0?: Float32Array;
        y?: Float32Array;
        yShape?: number[];
      };
      const rows: Row[] = [];
      // each method at its protocol unless --steps is given
      const diffusion = diffusionWithFlags(model, f);
      const stepsOf = new Map(methods.map((m) => [m, resolveSteps(m, f.steps, diffusion)]));
      for (const s of new Set([...stepsOf.values()].map((v) => v.warning))) if (s) ctx.io.error(s);
      const bar = ctx.progress({
        total: tasks.length * Math.ceil(f.n / f.batch) * methods.reduce((a, m) => a + stepsOf.get(m)!.count, 0),
        label: 'eval',
        unit: 'steps',
      });
      let done = 0;
      for (const task of tasks)
        for (const method of methods) {
          const row: Row = { task, method, psnr: [], ssim: [], sec: [] };
          rows.push(row);
          for (let b0 = 0; b0 < f.n; b0 += f.batch) {
            const nb = Math.min(f.batch, f.n - b0);
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
                cmi: cmiOptions(f),
                zeta: f.zeta,
                eta: f.eta,
                clip: clipFlag(f),
                diffusion,
                pigdmWeighting: f.pigdmWeighting as PigdmWeighting,
                onStep: (s) => bar.update(done + s.i + 1, { run: `${task} ${method}` }),
              });
              row.psnr.push(...r.psnr);
              row.ssim.push(...r.ssim);
              row.sec.push(r.secondsPerImage);
              if (b0 === 0) Object.assign(row, { x0: r.x0, y: r.y, yShape: r.yShape });
            } catch (err) {
              if (method.startsWith('ddrm') && /singular value decomposition|SVD/i.test(String(err))) {
                row.skipped = 'no SVD';
                break;
              }
              throw err;
            }
            done += stepsOf.get(method)!.count;
            bar.update(done);
          }
        }
      bar.done();
      const fmt = (v: number[], d: number) =>
        v.length ? `${meanStd(v).mean.toFixed(d)} ± ${meanStd(v).std.toFixed(d)}` : 'n/a';
      const md = [
        `# Posterior sampling on Fashion-MNIST (${f.n} test images)`,
        '',
        `Command: \`${command}\``,
        '',
        `Model \`${portablePath(f.weights ?? 'models/fmnist-unet.safetensors')}\`; σ_y = ${f.sigmaY}; steps ${methods.map((m) => `${m} ${stepsOf.get(m)!.count}`).join(', ')} (${f.steps ? '--steps' : "each method's protocol"}); seed ${f.seed}; CMI: r = ${f.cmiR}, η ${f.cmiEta}, Σ⁻¹ ${f.cmiSigmaInv}. ` +
          `Device: ${e.gpu.description}. PSNR/SSIM on images mapped to [0, 1]; mean ± std (population) over images. LPIPS/FID not reported (they need network weights we cannot ship).`,
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
          s = meanStd(r.ssim);
        csv.push(
          [
            r.task,
            r.method,
            p.mean,
            p.std,
            s.mean,
            s.std,
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
      const cells: (GridImage | null)[][] = [];
      for (const task of tasks) {
        const rs = rows.filter((r) => r.task === task);
        const first = rs.find((r) => r.y);
        cells.push([
          batchItem(data.x, data.shape, 0),
          first ? measurementImage(task, first.y!, first.yShape!, 0) : null,
          ...rs.map((r) => (r.x0 ? batchItem(r.x0, [Math.min(f.batch, f.n), C, H, W], 0) : null)),
        ]);
      }
      const grid = encodeGrid(cells, { columns: ['truth', 'measurement', ...methods], rows: tasks });
      // the table, both CSVs and the grid replace the previous ones together (src/io/atomic.ts)
      const texts = [md, csv, perImage].map((lines) => lines.join('\n') + '\n');
      writeFilesAtomic(files.map((name, i) => ({ path: join(f.output, name), data: i < 3 ? texts[i] : grid })));
      ctx.io.log(md.slice(6).join('\n'));
      ctx.io.log(`\nwrote ${join(f.output, f.name)}.{md,csv}, ${f.name}-images.csv and ${f.name}-grid.png`);
    } finally {
      e.destroy();
    }
  },
});

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

function loadCustom(path: string, n: number) {
  if (!/\.safetensors$/i.test(path)) throw new UsageError(`--data: 'fmnist' or a .safetensors file, got '${path}'`);
  const t = readTensor(path, 'x');
  if (t.shape[0] < n) throw new UsageError(`--data ${path}: ${t.shape[0]} images, --n ${n} requested`);
  return { x: t.data as Float32Array, shape: t.shape as [number, number, number, number] };
}
