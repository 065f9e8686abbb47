// `posterior study`: the validation lab (src/lab/study.ts) behind the CLI.
import { Engine } from '../../engine/index.ts';
import { UsageError } from '../args.ts';
import { defineCommand } from '../command.ts';
import { checkOutputPaths, portableCommand } from '../output-paths.ts';
import { cmiOptions } from '../sampling-flags.ts';
import { runPosteriorStudy } from '../../lab/study.ts';

export default defineCommand({
  name: 'study',
  description:
    'Runs posterior samplers on a prior whose posterior is known exactly — a stationary Gaussian (ADSN of an ' +
    'image, gray or colour) or a Gaussian mixture — and measures their distance to it: W2 between Gaussians ' +
    '(deblurring), the pixel-marginal W2 bound (inpainting), sliced W2 / energy distance / mode weights (GMM). ' +
    'Method `exact` is the exact-likelihood-covariance guidance, the reference that must converge. Writes ' +
    'study.md, study.csv, study.png and runs.jsonl (--resume continues an interrupted study). See docs/validation-lab.md.',
  flags: {
    prior: {
      type: 'string',
      required: true,
      placeholder: 'SPEC',
      help: 'adsn:IMG.png, adsn:synthetic[:seed] or gmm:K=4,size=8,rank=2,seed=1',
    },
    task: {
      type: 'string',
      required: true,
      choices: ['deblur', 'inpaint', 'dense'],
      help: 'deblur (circular Gaussian blur), inpaint (centred box), dense (GMM: random A)',
    },
    methods: {
      type: 'list',
      required: true,
      help: 'exact and/or sampler names: dps, pigdm, mcg, dsg, ddrm, ddpm, ddim, dps+cmi, …',
    },
    nfe: {
      type: 'number-list',
      default: [20, 100, 1000],
      min: 1,
      max: 100000,
      help: 'numbers of steps (respacing section counts)',
    },
    size: { type: 'int', default: 64, min: 2, max: 1024, help: 'ADSN image side' },
    channels: { type: 'int', default: 1, help: 'ADSN channels: 1 (gray) or 3 (colour, rank-1 per frequency)' },
    'sigma-y': { type: 'number', default: 0.05, min: 0, max: 10, help: 'Gaussian measurement noise' },
    samples: { type: 'int', default: 32, min: 1, max: 1000000, help: 'samples per run (all from one measurement)' },
    seed: { type: 'int', default: 0, help: 'seed of the measurement, the samplers and the floor draws' },
    box: { type: 'int', help: 'inpainting box side (default half the image side)' },
    rows: { type: 'int', help: 'dense task: number of measurements (default D/4)' },
    'blur-size': { type: 'int', default: 13, min: 1, max: 1023, help: 'deblur kernel side' },
    'blur-std': { type: 'number', default: 2, min: 0, help: 'deblur kernel std (pixels)' },
    'cmi-r': { type: 'int', default: 1, min: 1, max: 1000, help: '+cmi: Hutchinson probes per step' },
    'cmi-eta': { type: 'string', default: 'relative:0.2', help: '+cmi: η_t schedule' },
    'cmi-sigma-inv': {
      type: 'string',
      choices: ['isotropic', 'exact'],
      default: 'isotropic',
      help: '+cmi: how Σ⁻¹ is applied',
    },
    out: { type: 'string', required: true, short: 'o', placeholder: 'DIR', help: 'output directory' },
    resume: { type: 'boolean', help: 'reuse finished runs from DIR/runs.jsonl' },
  },
  examples: [
    'posterior study --prior adsn:brick.png --task deblur --methods exact,dps,pigdm,mcg,dsg,ddrm,dps+cmi --nfe 20,100,1000 --out docs/results/adsn64-deblur',
    'posterior study --prior gmm:K=4,size=8,rank=2,seed=1 --task inpaint --methods exact,dps,dps+cmi --nfe 20,100 --out out/gmm',
  ],
  async run(f, ctx) {
    if (f.channels !== 1 && f.channels !== 3) throw new UsageError('--channels must be 1 or 3', 'study');
    const priorImage = /^adsn:(.+\.png)$/i.exec(f.prior)?.[1];
    checkOutputPaths(
      [
        {
          path: f.out,
          flag: '--out',
          directory: true,
          contents: ['study.md', 'study.csv', 'study.png', 'runs.jsonl'],
        },
      ],
      { inputs: [priorImage] },
    );
    const e = await Engine.create();
    try {
      const res = await runPosteriorStudy({
        engine: e,
        prior: f.prior,
        task: f.task,
        methods: f.methods,
        nfe: f.nfe,
        size: f.size,
        channels: f.channels,
        sigmaY: f.sigmaY,
        samples: f.samples,
        seed: f.seed,
        box: f.box,
        rows: f.rows,
        blur: { size: f.blurSize, std: f.blurStd },
        cmi: cmiOptions(f),
        outDir: f.out,
        resume: f.resume,
        command: portableCommand(process.argv.slice(2)),
        log: (s) => ctx.io.error(s),
      });
      ctx.io.log(res.markdown.split('\n### ')[0]);
    } finally {
      await e.sync().catch(() => {});
      e.destroy();
    }
  },
});
