// `posterior sample`: reconstruct x₀ from a measurement with a posterior sampler (± the CMI plug-in).
import { Engine, type Tensor } from '../../engine/index.ts';
import { measure } from '../../operators/index.ts';
import { parseMethod, sample, type PigdmWeighting } from '../../samplers/index.ts';
import { mergeFlags, UsageError } from '../args.ts';
import { defineCommand } from '../command.ts';
import { operatorFor, parseTask, readMeasurement, samplerTask } from '../measure-file.ts';
import { DEFAULT_WEIGHTS, loadScoreModel, WEIGHTS_FLAG } from '../model-file.ts';
import { OPERATOR_FLAGS, operatorOptionsFromFlags } from '../operator-flags.ts';
import { checkOutputPaths } from '../output-paths.ts';
import { MAX_NOISE_LEVEL } from '../../operators/noise.ts';
import {
  clipFlag,
  cmiOptions,
  diffusionWithFlags,
  METHOD_HELP,
  resolveSteps,
  SAMPLING_FLAGS,
} from '../sampling-flags.ts';
import { readImage, readTensor, writeOutputs } from '../tensors.ts';

export default defineCommand({
  name: 'sample',
  description:
    'Give either --input (a clean image: the measurement y = A(x) + n is simulated with --task, --sigma-y, --seed) or ' +
    '--measurement (a file written by `posterior measure`, or one in the DPS layout: y and a mask [N, C, H, W]). ' +
    'The output is a PNG, or a .safetensors file with tensor x0. Each method runs at its published protocol ' +
    '(steps, ζ, η) unless flags say otherwise; fewer steps than the protocol print a warning. The diffusion ' +
    "settings (noise schedule, variance type, clip_denoised) are the checkpoint's, as its weight file records them. " +
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
      method: { type: 'string', required: true, short: 'm', help: METHOD_HELP, check: parseMethod },
      input: {
        type: 'string',
        short: 'i',
        placeholder: 'IMG',
        help: 'clean image (.png or .safetensors tensor x) to measure',
      },
      measurement: { type: 'string', placeholder: 'M.safetensors', help: 'a measurement written by posterior measure' },
      output: {
        type: 'string',
        required: true,
        short: 'o',
        placeholder: 'OUT',
        help: '.png or .safetensors (tensor x0)',
      },
      'sigma-y': {
        type: 'number',
        default: 0.05,
        min: 0,
        max: MAX_NOISE_LEVEL,
        help: 'measurement noise std (with --input, or a --measurement file that does not record it)',
      },
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
    'posterior sample --measurement y.safetensors --method pigdm --steps ddim50 --output x0.safetensors',
  ],
  async run(f, ctx) {
    if (!!f.input === !!f.measurement)
      throw new UsageError('give exactly one of --input IMG or --measurement M.safetensors');
    if (f.input && !f.task) throw new UsageError('--input needs --task (the forward model to simulate)');
    if (!(f.sigmaY >= 0)) throw new UsageError(`--sigma-y must be ≥ 0, got ${f.sigmaY}`);
    // before any work: a typo in the output costs nothing, and no input is ever overwritten
    checkOutputPaths([{ path: f.output, extensions: ['.png', '.safetensors'] }], {
      inputs: [f.input, f.measurement, f.weights, f.xT, f.noiseFrom],
    });
    const method = parseMethod(f.method);
    const e = await Engine.create();
    try {
      const model = loadScoreModel(e, f.weights ?? DEFAULT_WEIGHTS);
      const diffusion = diffusionWithFlags(model, f);
      const [C, H, W] = model.imageShape;
      let task, y: Tensor, sigmaY: number, noiseKind: 'gaussian' | 'poisson' | 'none';
      let op;
      if (f.measurement) {
        const m = readMeasurement(f.measurement, [C, H, W], { task: f.task, sigmaY: f.sigmaY });
        task = m.task;
        op = operatorFor(e, task, m.opts, [m.y.shape[0], C, H, W]);
        y = e.upload(m.y.data, m.y.shape, 'y');
        sigmaY = m.sigmaY;
        noiseKind = m.noise;
      } else {
        task = parseTask(f.task!);
        const x = readImage(f.input!, { channels: C, size: H });
        op = operatorFor(e, task, operatorOptionsFromFlags({ ...f, seed: f.seed }), x.shape);
        sigmaY = f.sigmaY;
        noiseKind = sigmaY > 0 ? 'gaussian' : 'none';
        y = measure(e, op, e.upload(x.data, x.shape, 'x'), { kind: noiseKind, level: sigmaY }, f.seed).y;
      }
      const N = y.shape[0];
      const xT = f.xT ? readTensor(f.xT, 'x_T') : null;
      const sn = f.noiseFrom ? readTensor(f.noiseFrom, 'step_noise') : null;
      const steps = resolveSteps(f.method, f.steps, diffusion);
      if (steps.warning) ctx.io.error(steps.warning);
      const progress = ctx.progress({ total: steps.count, label: `${f.method} ${task}` });
      const res = await sample({
        model,
        diffusion,
        operator: op,
        noise: { kind: noiseKind, level: sigmaY },
        y,
        method: f.method,
        steps: steps.steps,
        seed: f.seed,
        zeta: f.zeta,
        eta: f.eta,
        clip: clipFlag(f),
        pigdmWeighting: f.pigdmWeighting as PigdmWeighting,
        task: samplerTask(task),
        cmi: method.cmi ? cmiOptions(f) : undefined,
        xT: xT ? e.upload(xT.data, xT.shape, 'x_T') : undefined,
        stepNoise: sn ? e.upload(sn.data, sn.shape, 'step_noise') : undefined,
        onStep: (s) => {
          const d = s.distance
            ? Array.from(s.distance)
                .map((v) => v.toFixed(3))
                .join(',')
            : undefined;
          progress.update(s.i + 1, d ? { '‖y−Ax̂₀‖': d } : undefined);
        },
      });
      progress.done();
      const x0 = await e.read(res.x0);
      const written = writeOutputs(f.output, { x0: { data: x0, shape: [N, C, H, W] } }, 'x0', {
        method: f.method,
        task,
        steps: String(steps.steps),
        seed: String(f.seed),
        settings: JSON.stringify(res.settings),
      });
      const last = res.distances[res.distances.length - 1];
      ctx.io.log(
        `${f.method} on ${task}: ${res.timestepMap.length} steps, ${res.secondsPerStep.toFixed(3)} s/step` +
          (last
            ? `, final ‖y − A x̂₀‖ ${Array.from(last)
                .map((v) => v.toFixed(4))
                .join(', ')}`
            : '') +
          ` → ${written.join(', ')}`,
      );
      op.destroy();
    } finally {
      e.destroy();
    }
  },
});
