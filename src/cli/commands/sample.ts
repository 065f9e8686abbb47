// `posterior sample`: reconstruct x₀ from a measurement with a posterior sampler (± the CMI plug-in).
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { Engine, type Tensor } from '../../engine/index.ts';
import type { SerializableTensor } from '../../engine/safetensors.ts';
import { writeFilesAtomic, writeSafetensorsFile } from '../../io/atomic.ts';
import { batchItem, encodeGrid } from '../../io/grid.ts';
import { encodePng } from '../../io/png.ts';
import { measure, type OperatorOptions, type Task } from '../../operators/index.ts';
import { parseMethod, sample, type PigdmWeighting } from '../../samplers/index.ts';
import { camelCase, mergeFlags, UsageError } from '../args.ts';
import { defineCommand } from '../command.ts';
import { operatorFor, parseTask, readMeasurement, samplerTask } from '../measure-file.ts';
import { DEFAULT_WEIGHTS, loadScoreModel, WEIGHTS_FLAG } from '../model-file.ts';
import { OPERATOR_FLAGS, operatorOptionsFromFlags } from '../operator-flags.ts';
import { checkOutputPaths } from '../output-paths.ts';
import { readTaskConfig } from '../task-config.ts';
import { MAX_NOISE_LEVEL } from '../../operators/noise.ts';
import {
  clipFlag,
  cmiOptions,
  diffusionWithFlags,
  METHOD_HELP,
  resolveSteps,
  SAMPLING_FLAGS,
} from '../sampling-flags.ts';
import { isPng, readImage, readTensor, toImageRange, type HostTensor } from '../tensors.ts';

export default defineCommand({
  name: 'sample',
  usage: '(--input IMG|DIR | --measurement M) (--method M | --task-config C) --output OUT [options]',
  description:
    'Give either --input (a clean image, or a folder of PNG images: the measurement y = A(x) + n is simulated with ' +
    '--task, --sigma-y, --seed) or --measurement (a file written by `posterior measure` or by `sample` into a ' +
    '.safetensors output, or one in the DPS layout: y and a mask [N, C, H, W]). Each method runs at its published ' +
    'protocol (steps, ζ, η) unless flags say otherwise; fewer steps than the protocol print a warning. The diffusion ' +
    "settings (noise schedule, variance type, clip_denoised) are the checkpoint's, as its weight file records them.\n\n" +
    'A .png output holds x̂₀ of one image; beside it go OUT-measurement.png (y as an image: the masked image, the ' +
    'low-resolution image, the blurred image, or the phase magnitude scaled by its maximum), with --samples K ' +
    'OUT-std.png (the per-pixel standard deviation of the K samples, scaled by its maximum; the output is their ' +
    'mean) and with --save-every k OUT-trajectory.png (x̂₀ every k steps, left to right). A .safetensors output ' +
    'holds x0 (the mean with --samples), samples [N·K, C, H, W] and std with --samples, trajectory [T, N·K, C, H, W] ' +
    'with --save-every, and the measurement (y, mask or kernel, and the task in the metadata), so it can be given ' +
    'back as --measurement. With a folder as --input, --output is a folder: one NAME.png (and its companions) per ' +
    'input image, --batch images per sampler run.\n\n' +
    '--x-T and --noise-from replay a recorded start and per-step noise (tensors x_T and step_noise) to compare with ' +
    'another implementation step by step.',
  flags: mergeFlags(
    {
      weights: WEIGHTS_FLAG,
      task: {
        type: 'string',
        choices: ['inpaint-box', 'inpaint-random', 'sr4', 'gaussian-blur', 'motion-blur', 'phase'],
        help: 'forward model (with --input; with --measurement only for a file in the DPS layout, which names none)',
      },
      method: {
        type: 'string',
        short: 'm',
        help: `${METHOD_HELP} (required unless --task-config names it)`,
        check: parseMethod,
      },
      'task-config': {
        type: 'string',
        placeholder: 'CONFIG.yaml',
        help:
          "a DPS task config as published (the DPS repository's configs/*_config.yaml): its method, task, operator " +
          'parameters, noise and ζ (with --input)',
      },
      input: {
        type: 'string',
        short: 'i',
        placeholder: 'IMG|DIR',
        help: 'clean image (.png or .safetensors tensor x) to measure, or a folder of .png images',
      },
      measurement: { type: 'string', placeholder: 'M.safetensors', help: 'a measurement written by posterior measure' },
      output: {
        type: 'string',
        required: true,
        short: 'o',
        placeholder: 'OUT',
        help: '.png or .safetensors (tensor x0); a folder when --input is one',
      },
      'sigma-y': {
        type: 'number',
        min: 0,
        max: MAX_NOISE_LEVEL,
        help: 'measurement noise std (default 0.05; with --input, or a --measurement file that does not record it)',
      },
      samples: {
        type: 'int',
        default: 1,
        min: 1,
        max: 4096,
        help: 'posterior samples per image (batched, seeds distinct): the output is their mean, OUT-std.png their per-pixel std',
      },
      'save-every': {
        type: 'int',
        min: 1,
        max: 1000000,
        help: 'record x̂₀ every k steps (and the last): OUT-trajectory.png, a strip per image',
      },
      batch: { type: 'int', default: 8, min: 1, max: 4096, help: 'with a folder as --input: images per sampler run' },
      force: { type: 'boolean', help: 'overwrite the files written beside a .png output (OUT-measurement.png, …)' },
      'x-T': { type: 'string', placeholder: 'F.safetensors', help: 'replay: start from tensor x_T of this file' },
      'noise-from': {
        type: 'string',
        placeholder: 'F.safetensors',
        help: 'replay: per-step noise, tensor step_noise [steps, N, C, H, W]',
      },
    } as const,
    SAMPLING_FLAGS,
    OPERATOR_FLAGS,
  ),
  examples: [
    'posterior sample --task inpaint-box --method ddrm --input test.png --output out.png',
    'posterior sample --task sr4 --method dps --zeta 0.3 --input test.png --output out.png',
    'posterior sample --task sr4 --method ddrm --samples 8 --save-every 5 --input test.png --output out.png',
    'posterior sample --task gaussian-blur --method pigdm --input photos/ --output restored/',
    'posterior sample --measurement y.safetensors --method pigdm --steps ddim50 --output x0.safetensors',
  ],
  async run(f, ctx) {
    if (!!f.input === !!f.measurement)
      throw new UsageError('give exactly one of --input IMG or --measurement M.safetensors');
    if (f.taskConfig) {
      if (f.measurement) throw new UsageError('--task-config describes a measurement to simulate: give --input');
      // the file names these: a flag too would be a second, conflicting source
      const named = Object.entries({ task: f.task, zeta: f.zeta, 'sigma-y': f.sigmaY, ...operatorFlagValues(f) })
        .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
        .map(([k]) => `--${k}`);
      if (named.length)
        throw new UsageError(`--task-config sets the task, operator, noise and ζ; drop ${named.join(', ')}`);
    } else if (f.input && !f.task) throw new UsageError('--input needs --task (the forward model to simulate)');
    if (!f.method && !f.taskConfig) throw new UsageError('missing required option --method');
    const sigmaYFlag = f.sigmaY ?? 0.05;
    const K = f.samples;
    const folder = !!f.input && isDirectory(f.input);
    if (folder && (f.xT || f.noiseFrom))
      throw new UsageError('--x-T and --noise-from replay one batch; give one --input file or --measurement');
    // a folder of images: one output per image, named after it
    const inputs = folder ? listImages(f.input!) : [];
    const stems = folder ? inputs.map((p) => basename(p, extname(p))) : [];
    const companions = (base: string) => [
      `${base}-measurement.png`,
      ...(K > 1 ? [`${base}-std.png`] : []),
      ...(f.saveEvery ? [`${base}-trajectory.png`] : []),
    ];
    // before any work: a typo in the output costs nothing, and no input is ever overwritten
    if (folder)
      checkOutputPaths(
        [{ path: f.output, directory: true, contents: stems.flatMap((s) => [`${s}.png`, ...companions(s)]) }],
        { inputs: [...inputs, f.weights] },
      );
    else
      checkOutputPaths(
        [
          {
            path: f.output,
            extensions: ['.png', '.safetensors'],
            siblings: isPng(f.output) ? companions(f.output.replace(/\.png$/i, '')) : [],
          },
        ],
        { inputs: [f.input, f.measurement, f.weights, f.xT, f.noiseFrom], force: f.force },
      );
    // the DPS config is read (and validated) before any work; the model fixes the image size it applies to
    const e = await Engine.create();
    try {
      const model = loadScoreModel(e, f.weights ?? DEFAULT_WEIGHTS);
      const diffusion = diffusionWithFlags(model, f);
      const [C, H, W] = model.imageShape;
      const config = f.taskConfig ? readTaskConfig(f.taskConfig, H) : null;
      const methodName = f.method ?? config!.method;
      const method = parseMethod(methodName);
      const zeta = f.zeta ?? config?.zeta;
      const steps = resolveSteps(methodName, f.steps, diffusion);
      if (steps.warning) ctx.io.error(steps.warning);

      // the batches: each a measurement of N images (simulated from clean images, or read from a file)
      type Batch = { names: string[]; y: HostTensor; opts: OperatorOptions; sigmaY: number; noise: Noise };
      type Noise = 'gaussian' | 'poisson' | 'none';
      let task: Task;
      const batches: (() => Promise<Batch>)[] = [];
      if (f.measurement) {
        const m = readMeasurement(f.measurement, [C, H, W], { task: f.task, sigmaY: sigmaYFlag });
        task = m.task;
        batches.push(async () => ({ names: [], y: m.y, opts: m.opts, sigmaY: m.sigmaY, noise: m.noise }));
      } else {
        task = config ? config.task : parseTask(f.task!);
        const opts = config ? { ...config.opts, seed: f.seed } : operatorOptionsFromFlags({ ...f, seed: f.seed });
        const sigmaY = config ? config.noise.level : sigmaYFlag;
        const noise: Noise = config ? config.noise.kind : sigmaY > 0 ? 'gaussian' : 'none';
        // every image is read (and its size checked) before any sampling
        const images = folder ? inputs.map((p) => readImage(p, { channels: C, size: H })) : [];
        const groups = folder
          ? chunk(images, f.batch).map((g, i) => ({ g, start: i * f.batch }))
          : [{ g: [readImage(f.input!, { channels: C, size: H })], start: 0 }];
        for (const { g, start } of groups)
          batches.push(async () => {
            const x = concat(g);
            const op = operatorFor(e, task, opts, x.shape);
            const tx = e.upload(x.data, x.shape, 'x');
            const yShape = op.outputShape;
            // the noise stream continues across batches: image n's noise does not depend on --batch
            const offset = start * yShape.slice(1).reduce((a, b) => a + b, 1);
            const ty = measure(e, op, tx, { kind: noise, level: sigmaY }, f.seed, offset).y;
            const y = { data: await e.read(ty), shape: [...ty.shape] };
            e.release(tx, ty);
            op.destroy();
            return { names: stems.slice(start, start + g.length), y, opts, sigmaY, noise };
          });
      }
      const bar = ctx.progress({ total: steps.count * batches.length, label: `${methodName} ${task}` });
      const written: string[] = [];
      let start = 0;
      for (const [b, next] of batches.entries()) {
        const m = await next();
        const N = m.y.shape[0];
        if (!folder && isPng(f.output) && N > 1)
          throw new UsageError(
            `${f.measurement}: holds ${N} images; a .png output holds one — give a .safetensors output`,
          );
        // K samples per image: image n's measurement repeated K times (batch index n·K + k, seed seed + n·K + k)
        const yRep = repeatEach(m.y, K);
        const op = operatorFor(e, task, m.opts, [N * K, C, H, W]);
        const xT = f.xT ? readTensor(f.xT, 'x_T') : null;
        const sn = f.noiseFrom ? readTensor(f.noiseFrom, 'step_noise') : null;
        const ty = e.upload(yRep.data, yRep.shape, 'y');
        const trajectory: Float32Array[] = [];
        const res = await sample({
          model,
          diffusion,
          operator: op,
          noise: { kind: m.noise, level: m.sigmaY },
          y: ty,
          method: methodName,
          steps: steps.steps,
          seed: f.seed + start * K,
          zeta,
          eta: f.eta,
          clip: clipFlag(f),
          pigdmWeighting: f.pigdmWeighting as PigdmWeighting,
          task: samplerTask(task),
          cmi: method.cmi ? cmiOptions(f) : undefined,
          xT: xT ? e.upload(xT.data, xT.shape, 'x_T') : undefined,
          stepNoise: sn ? e.upload(sn.data, sn.shape, 'step_noise') : undefined,
          snapshotEvery: f.saveEvery,
          onStep: (s) => {
            if (s.x0) trajectory.push(s.x0);
            const d = s.distance
              ? Array.from(s.distance)
                  .map((v) => v.toFixed(3))
                  .join(',')
              : undefined;
            bar.update(b * steps.count + s.i + 1, d ? { '‖y−Ax̂₀‖': d } : undefined);
          },
        });
        const all = { data: await e.read(res.x0), shape: [N * K, C, H, W] };
        e.release(ty, res.x0);
        op.destroy();
        const { mean, std } = meanAndStd(all, K);
        const extras: Record<string, HostTensor> = {};
        {
          // the operator's mask or kernel, for a measurement file that rebuilds it exactly
          const op1 = operatorFor(e, task, m.opts, [1, C, H, W]);
          for (const [k, t] of Object.entries(op1.extras)) extras[k] = { data: await e.read(t), shape: [...t.shape] };
          op1.destroy();
        }
        const last = res.distances[res.distances.length - 1];
        const summary =
          `${methodName} on ${task}: ${res.timestepMap.length} steps, ${res.secondsPerStep.toFixed(3)} s/step` +
          (N > 1 || K > 1 ? `, ${N} image${N > 1 ? 's' : ''} × ${K} sample${K > 1 ? 's' : ''}` : '') +
          (last && K === 1
            ? `, final ‖y − A x̂₀‖ ${Array.from(last)
                .map((v) => v.toFixed(4))
                .join(', ')}`
            : '');
        const files: { path: string; data: Uint8Array }[] = [];
        if (!folder && !isPng(f.output)) {
          const { mask: _m, kernel: _k, ...plainOpts } = m.opts;
          const st: Record<string, SerializableTensor> = { x0: mean, y: m.y, ...extras };
          if (K > 1) Object.assign(st, { samples: all, std });
          if (trajectory.length)
            st.trajectory = { data: concatData(trajectory), shape: [trajectory.length, N * K, C, H, W] };
          writeSafetensorsFile(f.output, st, {
            method: methodName,
            task,
            steps: String(steps.steps),
            seed: String(f.seed),
            samples: String(K),
            settings: JSON.stringify(res.settings),
            // what `sample --measurement` reads back
            noise: m.noise,
            sigma_y: String(m.sigmaY),
            operator_options: JSON.stringify(plainOpts),
          });
          written.push(f.output);
        } else {
          for (let n = 0; n < N; n++) {
            const main = folder ? join(f.output, `${m.names[n]}.png`) : f.output;
            const base = main.replace(/\.png$/i, '');
            const [mainPath, measPath, ...rest] = [main, ...companions(base)];
            files.push({ path: mainPath, data: encodePng(item(mean, n).data, [C, H, W]) });
            const yn = item(m.y, n);
            files.push({
              path: measPath,
              data: encodePng(toImageRange(task === 'phase' ? 'magnitude' : 'y', yn), yn.shape),
            });
            if (K > 1) files.push({ path: rest[0], data: encodePng(toImageRange('std', item(std, n)), [C, H, W]) });
            if (trajectory.length)
              files.push({
                path: rest[rest.length - 1],
                data: encodeGrid([trajectory.map((t) => batchItem(t, [N * K, C, H, W], n * K))], {
                  columns: trajectoryLabels(trajectory.length, f.saveEvery!, steps.count),
                }),
              });
          }
          writeFilesAtomic(files);
          written.push(...files.map((x) => x.path));
        }
        ctx.io.log(summary + (folder ? '' : ` → ${written.join(', ')}`));
        start += N;
      }
      bar.done();
      if (folder) ctx.io.log(`wrote ${written.length} files into ${f.output}`);
    } finally {
      e.destroy();
    }
  },
});

/** The operator flags the user gave (none have defaults), for the conflict check with --task-config. */
function operatorFlagValues(f: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(OPERATOR_FLAGS).map((k) => [k, f[camelCase(k)]]));
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The .png files of a folder, in name order (the batch order). */
function listImages(dir: string): string[] {
  const names = readdirSync(dir)
    .filter((n) => /\.png$/i.test(n))
    .sort();
  if (names.length === 0) throw new Error(`${dir}: no .png images in this folder`);
  return names.map((n) => join(dir, n));
}

/** Image n of a batch [N, ...] as [...] (a view). */
function item(t: HostTensor, n: number): HostTensor {
  const [, ...rest] = t.shape;
  const size = rest.reduce((a, b) => a * b, 1);
  return { data: t.data.subarray(n * size, (n + 1) * size), shape: rest };
}

function chunk<T>(a: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
  return out;
}

function concatData(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Images [1, C, H, W] (all checked to the model's size) as one batch [N, C, H, W]. */
function concat(images: readonly HostTensor[]): HostTensor {
  return { data: concatData(images.map((i) => i.data)), shape: [images.length, ...images[0].shape.slice(1)] };
}

/** [N, ...] → [N·K, ...], each item repeated K times in a row. */
export function repeatEach(t: HostTensor, K: number): HostTensor {
  if (K === 1) return t;
  const [N, ...rest] = t.shape;
  const size = rest.reduce((a, b) => a * b, 1);
  const out = new Float32Array(N * K * size);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) out.set(t.data.subarray(n * size, (n + 1) * size), (n * K + k) * size);
  return { data: out, shape: [N * K, ...rest] };
}

/**
 * Per image, the mean and the per-pixel standard deviation of its K samples ([N·K, C, H, W], image n's at
 * n·K … n·K + K − 1). The std is the sample std (divided by K − 1: an unbiased variance of the posterior's
 * spread); 0 for K = 1. Accumulated in float64.
 */
export function meanAndStd(all: HostTensor, K: number): { mean: HostTensor; std: HostTensor } {
  const [NK, ...rest] = all.shape;
  const N = NK / K;
  const size = rest.reduce((a, b) => a * b, 1);
  const mean = new Float32Array(N * size);
  const std = new Float32Array(N * size);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < size; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += all.data[(n * K + k) * size + j];
      const mu = s / K;
      let v = 0;
      for (let k = 0; k < K; k++) v += (all.data[(n * K + k) * size + j] - mu) ** 2;
      mean[n * size + j] = mu;
      std[n * size + j] = K > 1 ? Math.sqrt(v / (K - 1)) : 0;
    }
  return { mean: { data: mean, shape: [N, ...rest] }, std: { data: std, shape: [N, ...rest] } };
}

/** Column titles of a trajectory strip: the loop step of each snapshot (every k-th, and the last). */
function trajectoryLabels(count: number, every: number, steps: number): string[] {
  return Array.from({ length: count }, (_, i) => `step ${Math.min(i * every, steps - 1) + 1}`);
}
