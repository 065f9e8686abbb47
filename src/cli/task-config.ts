// A DPS task configuration (the DPS repository's configs/*_config.yaml, DPS2022/diffusion-posterior-sampling,
// as published) read into our task, operator options, noise and step size, so `posterior sample
// --task-config configs/super_resolution_config.yaml` runs the setting the file names. Parsed with the `yaml`
// package (the files use nesting and the PyYAML tag `!!python/tuple`); every field this reads is validated.
//
// The mapping follows the DPS code (guided_diffusion/measurements.py, util/img_utils.py, sample_condition.py):
//   conditioning.method ps → dps, mcg → mcg; conditioning.params.scale → ζ
//   measurement.operator.name super_resolution (scale_factor) → sr4 with that factor;
//     inpainting + mask_opt.mask_type random (mask_prob_range) → inpaint-random with that range,
//     box (mask_len_range, image_size) → inpaint-box with the side scaled to the model's images;
//     gaussian_blur (kernel_size, intensity = the std) → gaussian-blur; motion_blur (kernel_size,
//     intensity) → motion-blur; phase_retrieval (oversample) → phase with pad = int(oversample / 8 · 256)
//     (PhaseRetrievalOperator fixes 256, whatever the image size)
//   measurement.noise gaussian (sigma) or poisson (rate) → the noise model.
// `data` (their data set) and `measurement.operator.in_shape` (their 256² images) are not used: the model
// fixes the image shape. Operators DPS runs through external code (nonlinear_blur: the bkse network) are
// refused with a clear message.
import { readFileSync } from 'node:fs';
import { parseDocument, type CollectionTag } from 'yaml';
import type { OperatorOptions, Task } from '../operators/index.ts';

export interface TaskConfig {
  /** the sampler the file names (dps or mcg) */
  method: string;
  task: Task;
  opts: OperatorOptions;
  noise: { kind: 'gaussian' | 'poisson'; level: number };
  zeta: number;
}

/** PyYAML's `!!python/tuple [a, b]` (DPS writes ranges so) read as a list. */
const PYTHON_TUPLE: CollectionTag = {
  tag: 'tag:yaml.org,2002:python/tuple',
  collection: 'seq',
  resolve: (seq) => seq,
};

export function readTaskConfig(path: string, imageSize: number): TaskConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read the task config (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseTaskConfig(text, path, imageSize);
}

export function parseTaskConfig(text: string, where: string, imageSize: number): TaskConfig {
  const fail = (why: string): never => {
    throw new Error(`${where}: ${why}`);
  };
  const doc = parseDocument(text, { customTags: [PYTHON_TUPLE], uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) fail(`not valid YAML (${doc.errors[0].message.split('\n')[0]})`);
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  const obj = (v: unknown, key: string): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : fail(`${key} must be a mapping`);
  const num = (v: unknown, key: string, ok: (x: number) => boolean, what: string): number =>
    typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : fail(`${key} must be ${what}, got ${show(v)}`);
  const pair = (v: unknown, key: string, ok: (x: number) => boolean, what: string): [number, number] =>
    Array.isArray(v) && v.length === 2
      ? [num(v[0], `${key}[0]`, ok, what), num(v[1], `${key}[1]`, ok, what)]
      : fail(`${key} must be a pair [lo, hi], got ${show(v)}`);
  const positive = (x: number) => x > 0;

  const top = obj(root, 'the file');
  const cond = obj(top.conditioning, 'conditioning');
  const methods: Record<string, string> = { ps: 'dps', mcg: 'mcg' };
  const method =
    methods[String(cond.method)] ??
    fail(
      `conditioning.method ${show(cond.method)} is not supported (ps → dps, mcg → mcg; ` +
        "DPS's vanilla and projection are not posterior samplers)",
    );
  const zeta = num(obj(cond.params, 'conditioning.params').scale, 'conditioning.params.scale', positive, '> 0');
  const meas = obj(top.measurement, 'measurement');
  const op = obj(meas.operator, 'measurement.operator');
  const opts: OperatorOptions = {};
  const int = (x: number) => Number.isInteger(x) && x > 0;
  let task: Task;
  switch (op.name) {
    case 'super_resolution':
      task = 'sr4';
      opts.scale = num(op.scale_factor, 'measurement.operator.scale_factor', int, 'a positive integer');
      break;
    case 'inpainting': {
      const m = obj(meas.mask_opt, 'measurement.mask_opt');
      if (m.mask_type === 'random') {
        task = 'inpaint-random';
        const r = pair(m.mask_prob_range, 'measurement.mask_opt.mask_prob_range', (x) => x >= 0 && x <= 1, 'in [0, 1]');
        if (r[0] > r[1]) fail('measurement.mask_opt.mask_prob_range: lo > hi');
        opts.maskPRange = r;
      } else if (m.mask_type === 'box') {
        task = 'inpaint-box';
        const size = num(m.image_size, 'measurement.mask_opt.image_size', int, 'a positive integer');
        const [lo, hi] = pair(m.mask_len_range, 'measurement.mask_opt.mask_len_range', int, 'a positive integer');
        // DPS draws the side from randint(lo, hi); the published range [128, 129) is one side: 128 of 256
        if (hi !== lo + 1)
          fail(`measurement.mask_opt.mask_len_range [${lo}, ${hi}): only a single side (hi = lo + 1) is supported`);
        const side = Math.max(1, Math.round((lo * imageSize) / size));
        opts.boxSize = [side, side];
      } else return fail(`measurement.mask_opt.mask_type ${show(m.mask_type)} is not supported (random or box)`);
      break;
    }
    case 'gaussian_blur':
    case 'motion_blur':
      task = op.name === 'gaussian_blur' ? 'gaussian-blur' : 'motion-blur';
      opts.kernelSize = num(op.kernel_size, 'measurement.operator.kernel_size', int, 'a positive integer');
      if (task === 'gaussian-blur') opts.blurStd = num(op.intensity, 'measurement.operator.intensity', positive, '> 0');
      else
        opts.motionIntensity = num(
          op.intensity,
          'measurement.operator.intensity',
          (x) => x >= 0 && x <= 1,
          'in [0, 1]',
        );
      break;
    case 'phase_retrieval': {
      task = 'phase';
      const o = num(op.oversample, 'measurement.operator.oversample', (x) => x >= 0, '≥ 0');
      opts.pad = Math.trunc((o / 8.0) * 256);
      break;
    }
    case 'nonlinear_blur':
      return fail(
        'measurement.operator nonlinear_blur runs a learned blur network (bkse) outside this project; not supported',
      );
    default:
      return fail(`measurement.operator.name ${show(op.name)} is not a DPS operator this project implements`);
  }
  const noise = obj(meas.noise, 'measurement.noise');
  let kind: 'gaussian' | 'poisson';
  let level: number;
  if (noise.name === 'gaussian') {
    kind = 'gaussian';
    level = num(noise.sigma, 'measurement.noise.sigma', (x) => x >= 0, '≥ 0');
  } else if (noise.name === 'poisson') {
    kind = 'poisson';
    level = num(noise.rate, 'measurement.noise.rate', positive, '> 0');
  } else return fail(`measurement.noise.name ${show(noise.name)} is not gaussian or poisson`);
  return { method, task, opts, noise: { kind, level }, zeta };
}

const show = (v: unknown) => (v === undefined ? 'nothing' : (JSON.stringify(v)?.slice(0, 40) ?? String(v)));
