// `posterior measure`: y = A(x) + n for one of the benchmark tasks.
import { basename } from 'node:path';
import { Engine } from '../../engine/index.ts';
import { measure, type Task } from '../../operators/index.ts';
import { MAX_NOISE_LEVEL } from '../../operators/noise.ts';
import { UsageError } from '../args.ts';
import { defineCommand } from '../command.ts';
import { operatorFor, parseTask } from '../measure-file.ts';
import { OPERATOR_FLAGS, operatorOptionsFromFlags } from '../operator-flags.ts';
import { checkOutputPaths } from '../output-paths.ts';
import { outputFiles, readImage, writeOutputs, type HostTensor } from '../tensors.ts';

export default defineCommand({
  name: 'measure',
  description:
    'Reads an image (PNG, or tensor `x` of a safetensors file; values in [−1, 1]) and writes y = A(x) + n. ' +
    'A .safetensors output holds `y` plus `mask` or `kernel` and the task parameters in its metadata — what ' +
    '`posterior sample --measurement` reads. A .png output writes y there and the mask/kernel beside it ' +
    '(OUT-mask.png, OUT-kernel.png); phase magnitudes are rescaled to the PNG range, so keep .safetensors for sampling.',
  flags: {
    task: {
      type: 'string',
      required: true,
      choices: ['inpaint-box', 'inpaint-random', 'sr4', 'gaussian-blur', 'motion-blur', 'phase'],
      help: 'forward model A',
    },
    input: {
      type: 'string',
      required: true,
      short: 'i',
      placeholder: 'IN',
      help: 'image: .png or .safetensors (tensor x)',
    },
    output: {
      type: 'string',
      required: true,
      short: 'o',
      placeholder: 'OUT',
      help: '.safetensors (y, mask|kernel, metadata) or .png',
    },
    'sigma-y': {
      type: 'number',
      default: 0.05,
      min: 0,
      max: MAX_NOISE_LEVEL,
      help: 'Gaussian noise std in the [−1, 1] scale (DPS: 0.05); with --noise poisson the rate, > 0',
    },
    noise: {
      type: 'string',
      choices: ['gaussian', 'poisson', 'none'],
      default: 'gaussian',
      help: 'noise model (Poisson: DPS rate convention, --sigma-y is the rate)',
    },
    seed: {
      type: 'int',
      default: 0,
      min: 0,
      help: 'seed of the noise and of random masks / motion kernels / box positions',
    },
    force: { type: 'boolean', help: 'overwrite the files written beside a .png output (OUT-mask.png, OUT-kernel.png)' },
    ...OPERATOR_FLAGS,
  },
  examples: ['posterior measure --task sr4 --input face.png --output y.safetensors --sigma-y 0.05'],
  async run(f, ctx) {
    const task = parseTask(f.task);
    const png = /\.png$/i.test(f.output);
    checkOutputPaths(
      [
        {
          path: f.output,
          extensions: ['.png', '.safetensors'],
          siblings: png ? outputFiles(f.output, ['y', ...extrasOf(task)], 'y').slice(1) : [],
        },
      ],
      { inputs: [f.input], force: f.force },
    );
    if (f.noise !== 'none' && !(f.sigmaY > 0))
      throw new UsageError(`--noise ${f.noise} needs --sigma-y > 0 (or use --noise none)`, 'measure');
    const x = readImage(f.input);
    const opts = operatorOptionsFromFlags({ ...f, seed: f.seed });
    const e = await Engine.create();
    try {
      const op = operatorFor(e, task, opts, x.shape);
      const tx = e.upload(x.data, x.shape, 'x');
      const level = f.noise === 'none' ? 0 : f.sigmaY;
      const out = measure(e, op, tx, { kind: f.noise as 'gaussian' | 'poisson' | 'none', level }, f.seed);
      const host: Record<string, HostTensor> = {};
      for (const [k, t] of Object.entries(out)) host[k] = { data: await e.read(t), shape: [...t.shape] };
      if (task === 'phase' && /\.png$/i.test(f.output)) {
        host.magnitude = host.y;
        delete host.y;
      }
      const { mask: _m, kernel: _k, ...plainOpts } = opts;
      const written = writeOutputs(f.output, host, task === 'phase' && /\.png$/i.test(f.output) ? 'magnitude' : 'y', {
        task,
        noise: f.noise,
        sigma_y: String(level),
        seed: String(f.seed),
        operator_options: JSON.stringify(plainOpts),
        operator_info: JSON.stringify(op.info),
        // the file name only: an absolute path would reveal the user's directories in a shared file
        input: basename(f.input),
      });
      ctx.io.log(
        `${task}: y [${host.y?.shape ?? host.magnitude.shape}] (${Object.entries(op.info)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}) → ${written.join(', ')}`,
      );
      op.destroy();
    } finally {
      e.destroy();
    }
  },
});

/** Tensors besides y that a task's measurement holds (the operator's extras, src/operators/index.ts). */
function extrasOf(task: Task): string[] {
  return task.startsWith('inpaint') ? ['mask'] : task.endsWith('blur') ? ['kernel'] : [];
}
