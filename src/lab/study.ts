// `posterior study`: run posterior samplers × NFE on a lab prior and task whose posterior is exact, and
// measure each sampler's distance to it. Writes study.md (table + setup + command), study.csv (long format,
// every metric) and study.png (primary metric vs NFE, one line per method, the estimator's floor dashed).
//
// Priors:  adsn:PATH.png | adsn:synthetic[:seed]   stationary Gaussian (ADSN of the image, gray or colour)
//          gmm:K=4,size=8,rank=2,seed=1[,channels=1,spread=0.6,scale=0.02]   Gaussian mixture
// Tasks:   deblur  circular Gaussian blur (exact per-frequency posterior; DDRM via the Fourier SVD)
//          inpaint centred box hole of side `box` (src/operators' InpaintOperator: DDRM has its SVD)
//          dense   GMM only: random Gaussian A with `rows` measurements
// Methods: the samplers' names (dps, pigdm, mcg, dsg, ddrm, ddpm, ddim, dps+cmi, …; pigdm:score for ΠGDM's
//          posterior-score weighting) and `exact`, the
//          exact-likelihood-covariance guidance (exact-guidance.ts) on DDPM, the reference whose error
//          must shrink with NFE.
//
// Metrics (samples = N outputs of one run, all from one measurement y):
//  Gaussian priors — `w2`: W2 between the Gaussian fitted to the samples and the exact posterior: per
//    frequency (sample covariance projected on circulant matrices) for deblurring, whose posterior is
//    stationary; dense (sample covariance, D ≤ 1024) for inpainting of small images; for larger inpainting
//    the pixel-marginal bound `w2_marginal` = √Σᵢ[(m̂ᵢ − μᵢ)² + (ŝᵢ − sᵢ)²] ≤ W2 is the primary metric.
//    For `exact` on deblurring, `w2_law`: the W2 of its exact output law (propagated, no sampling noise).
//    Also `mean_rmse` = ‖m̂ − μ_post‖/√D and `std_rmse` = RMS of per-pixel std errors.
//  GMM — `sliced_w2` (512 directions) and `energy` against N exact posterior draws, `mode_tv` (total
//    variation between mode frequencies and the posterior weights).
//  Each metric's floor: the same estimator applied to N exact posterior draws (what a perfect sampler
//  scores with this N); errors near the floor are not resolved.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFilesAtomic } from '../io/atomic.ts';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Engine, Tensor } from '../engine/index.js';
import type { MeasurementOperator } from '../operators/operator.js';
import { InpaintOperator } from '../operators/masks.js';
import type { CmiOptions } from '../samplers/cmi.js';
import { sample } from '../samplers/sampler.js';
import type { ScoreModel } from '../samplers/score-model.js';
import { CirculantDeblurPosterior, MaskedGaussianPosterior, gaussianKernel, gmmPosterior } from './exact-posterior.js';
import {
  ExactCovarianceGuidance,
  exactGuidedMomentsCirculant,
  gaussianGuidanceOps,
  sampleWithEps,
} from './exact-guidance.js';
import { GaussianCirculantPrior } from './gaussian-circulant.js';
import { GaussianMixturePrior, randomGmmSpec } from './gmm.js';
import { CircularBlurOperator, DenseMatrixOperator } from './lab-operators.js';
import {
  energyDistance,
  modeWeights,
  sampleMeanCirculant,
  sampleMeanCov,
  slicedW2,
  w2GaussianCirculant,
  w2GaussianDense,
  type Vec,
} from './metrics.js';
import { Rng64 } from './rng64.js';
import { renderPlot } from './study-plot.js';
import { syntheticTexture } from './textures.js';

export interface StudyOptions {
  engine: Engine;
  prior: string;
  /** image side of ADSN priors (default 64) */
  size?: number;
  /** ADSN channels (default 1) */
  channels?: 1 | 3;
  task: string;
  /** Gaussian measurement noise (default 0.05) */
  sigmaY?: number;
  methods: string[];
  nfe: number[];
  /** samples per run (default 64) */
  samples?: number;
  seed?: number;
  /** circular blur kernel (default 13×13, std 2) */
  blur?: { size: number; std: number };
  /** inpainting box side (default half the image side) */
  box?: number;
  /** dense task: measurements (default D/4) */
  rows?: number;
  /** options of +cmi methods (default r = 1, isotropic Σ⁻¹, η relative:0.2 as the CLI) */
  cmi?: CmiOptions;
  /** write study.md / study.csv / study.png here (and runs.jsonl, one line per finished run) */
  outDir?: string;
  /** reuse the finished runs recorded in outDir/runs.jsonl by an interrupted study with the same settings */
  resume?: boolean;
  /** the command line that made the study (recorded in the markdown) */
  command?: string;
  log?: (s: string) => void;
}

export interface StudyRow {
  method: string;
  nfe: number;
  error?: string;
  metrics: Record<string, number>;
  seconds: number;
}

export interface StudyResult {
  rows: StudyRow[];
  floor: Record<string, number>;
  primary: string;
  markdown: string;
  csv: string;
  png: Buffer;
}

// ------------------------------------------------------------------------------------------ priors

/** Gray or RGB PNG → [C, H, W] in [−1, 1], centre-cropped to a square and box-resampled to size×size. */
export function loadTexturePng(path: string, size: number, channels: 1 | 3): Float64Array {
  const png = PNG.sync.read(readFileSync(path));
  const side = Math.min(png.width, png.height);
  const x0 = Math.floor((png.width - side) / 2),
    y0 = Math.floor((png.height - side) / 2);
  const out = new Float64Array(channels * size * size);
  const cell = side / size;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const acc = [0, 0, 0];
      let cnt = 0;
      for (let sy = Math.floor(y * cell); sy < Math.max(Math.floor((y + 1) * cell), Math.floor(y * cell) + 1); sy++)
        for (let sx = Math.floor(x * cell); sx < Math.max(Math.floor((x + 1) * cell), Math.floor(x * cell) + 1); sx++) {
          const o = ((y0 + sy) * png.width + x0 + sx) * 4;
          for (let c = 0; c < 3; c++) acc[c] += png.data[o + c];
          cnt++;
        }
      const rgb = acc.map((v) => v / cnt / 127.5 - 1);
      if (channels === 1) out[y * size + x] = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
      else for (let c = 0; c < 3; c++) out[c * size * size + y * size + x] = rgb[c];
    }
  return out;
}

export type LabPrior =
  | { kind: 'gaussian'; model: GaussianCirculantPrior; describe: string }
  | { kind: 'gmm'; model: GaussianMixturePrior; describe: string };

/** Builds a lab prior from its study spec (see the header). */
export function buildLabPrior(e: Engine, spec: string, size = 64, channels: 1 | 3 = 1): LabPrior {
  const [kind, ...restParts] = spec.split(':');
  const rest = restParts.join(':');
  if (kind === 'adsn') {
    let img: Float64Array;
    let what: string;
    if (rest === 'synthetic' || rest.startsWith('synthetic:')) {
      const seed = Number(rest.split(':')[1] ?? 1);
      img = syntheticTexture(channels, size, size, seed);
      what = `synthetic texture (seed ${seed})`;
    } else if (rest) {
      img = loadTexturePng(rest, size, channels);
      what = rest;
    } else throw new Error(`prior '${spec}': expected adsn:PATH.png or adsn:synthetic`);
    return {
      kind: 'gaussian',
      model: GaussianCirculantPrior.fromExample(e, img, channels, size, size),
      describe: `ADSN ${channels === 1 ? 'gray' : 'colour'} ${size}×${size} of ${what}`,
    };
  }
  if (kind === 'gmm') {
    const kv = Object.fromEntries(
      rest
        .split(',')
        .filter(Boolean)
        .map((p) => {
          const [k, v] = p.split('=');
          if (v === undefined || !Number.isFinite(Number(v)))
            throw new Error(`prior '${spec}': bad entry '${p}' (expected key=number)`);
          return [k, Number(v)];
        }),
    );
    const known = ['K', 'size', 'rank', 'seed', 'channels', 'spread', 'scale'];
    for (const k of Object.keys(kv))
      if (!known.includes(k)) throw new Error(`prior '${spec}': unknown key '${k}' (known: ${known.join(', ')})`);
    const s = kv.size ?? 8,
      C = kv.channels ?? 1;
    const g = randomGmmSpec({
      shape: [C, s, s],
      components: kv.K ?? 4,
      rank: kv.rank ?? 2,
      seed: kv.seed ?? 1,
      spread: kv.spread,
      scale: kv.scale,
    });
    return {
      kind: 'gmm',
      model: GaussianMixturePrior.fromSpec(e, g),
      describe: `GMM, ${g.weights.length} components on ${C}×${s}×${s}, rank ${kv.rank ?? 2} + diagonal`,
    };
  }
  throw new Error(`unknown prior '${spec}' (expected adsn:IMG, adsn:synthetic or gmm:SPEC)`);
}

// ------------------------------------------------------------------------------------------ tasks

interface LabTask {
  op: MeasurementOperator;
  /** one measurement [m] (float32-representable) */
  y: Float32Array;
  /** samplers' task name (default ζ) */
  samplerTask?: string;
  describe: string;
  /** exact posterior draws and the metrics of a sample set */
  exactSamples(n: number, rng: Rng64): Float64Array[];
  metrics(samples: readonly Vec[]): Record<string, number>;
  /** metrics of a method's exact output law where it is known without sampling (exact method, deblurring) */
  lawMetrics?(method: string, nfe: number): Record<string, number>;
  primary: string;
  destroy(): void;
}

function gaussianTask(
  e: Engine,
  prior: GaussianCirculantPrior,
  o: Required<Pick<StudyOptions, 'task' | 'sigmaY' | 'samples' | 'seed'>> & StudyOptions,
  log: (s: string) => void,
): LabTask {
  const [C, H, W] = prior.imageShape;
  const D = C * H * W,
    N = o.samples;
  const rng = new Rng64(o.seed + 1000);
  const xTrue = prior.sample64(rng);
  if (o.task === 'deblur') {
    const bl = o.blur ?? { size: 13, std: 2 };
    const op = new CircularBlurOperator(e, gaussianKernel(bl.size, bl.std), bl.size, bl.size, [N, C, H, W]);
    const y = Float32Array.from(op.apply64(xTrue), (v) => v + o.sigmaY * rng.normal());
    const post = new CirculantDeblurPosterior(prior, op.transfer, y, o.sigmaY);
    const blocks = post.blocks();
    const pixVar = pixelVariancesCirculant(blocks.blocks, C, H, W);
    return {
      op,
      y,
      samplerTask: 'gaussian-deblur',
      describe: `circular Gaussian blur ${bl.size}×${bl.size}, std ${bl.std}`,
      exactSamples: (n, r) => Array.from({ length: n }, () => post.sample(r)),
      metrics: (s) => {
        const fit = sampleMeanCirculant(s, C, H, W);
        const w = w2GaussianCirculant(fit.mean, fit.blocks, post.mean, blocks);
        return { w2: w.w2, w2_mean: w.mean, w2_cov: w.cov, ...marginalMetrics(s, post.mean, pixVar) };
      },
      lawMetrics: (method, nfe): Record<string, number> => {
        if (method !== 'exact') return {};
        const law = exactGuidedMomentsCirculant(prior, op.transfer, y, o.sigmaY, { nfe });
        return { w2_law: w2GaussianCirculant(law.mean, law.blocks, post.mean, blocks).w2 };
      },
      primary: 'w2',
      destroy: () => op.destroy(),
    };
  }
  if (o.task === 'inpaint') {
    const side = o.box ?? Math.round(H / 2);
    const m2 = centredBoxMask(H, W, side);
    const op = new InpaintOperator(e, [N, C, H, W], m2);
    const mask = Float64Array.from({ length: D }, (_, i) => m2[i % (H * W)]);
    // DPS's protocol: noise on the whole y (the hole's entries carry none of x)
    const y = Float32Array.from(xTrue, (v, i) => mask[i] * v + o.sigmaY * rng.normal());
    const post = new MaskedGaussianPosterior(prior, mask, y, o.sigmaY, 1e-9);
    // the dense W2 of a fitted Gaussian needs N > D samples to mean anything (its floor is large below)
    const dense = D <= 1024 ? post.denseCov() : null;
    const useDenseW2 = dense !== null && N > D;
    log(`exact per-pixel posterior variances (${D} CG solves)…`);
    const pixVar = dense ? Float64Array.from({ length: D }, (_, i) => dense[i * D + i]) : post.marginalVariances();
    return {
      op,
      y,
      samplerTask: 'inpainting',
      describe: `centred ${side}×${side} box inpainting`,
      exactSamples: (n, r) => Array.from({ length: n }, () => post.sample(r)),
      metrics: (s) => {
        const out: Record<string, number> = marginalMetrics(s, post.mean, pixVar);
        if (useDenseW2) {
          const fit = sampleMeanCov(s);
          const w = w2GaussianDense(fit.mean, fit.cov, post.mean, dense!, D);
          Object.assign(out, { w2: w.w2, w2_mean: w.mean, w2_cov: w.cov });
        }
        return out;
      },
      primary: useDenseW2 ? 'w2' : 'w2_marginal',
      destroy: () => e.release(op.maskTensor),
    };
  }
  throw new Error(`task '${o.task}' is not defined for a Gaussian prior (deblur, inpaint)`);
}

function gmmTask(
  e: Engine,
  prior: GaussianMixturePrior,
  o: Required<Pick<StudyOptions, 'task' | 'sigmaY' | 'samples' | 'seed'>> & StudyOptions,
): LabTask {
  const g = prior.dense;
  const [C, H, W] = prior.imageShape;
  const D = g.D,
    N = o.samples;
  const rng = new Rng64(o.seed + 2000);
  const xTrue = g.sample(rng);
  let op: MeasurementOperator,
    A: Float64Array,
    m: number,
    describe: string,
    samplerTask: string | undefined,
    release: () => void;
  if (o.task === 'inpaint') {
    const side = o.box ?? Math.round(H / 2);
    const m2 = centredBoxMask(H, W, side);
    const ip = new InpaintOperator(e, [N, C, H, W], m2);
    op = ip;
    m = D;
    A = new Float64Array(D * D);
    for (let i = 0; i < D; i++) A[i * D + i] = m2[i % (H * W)];
    describe = `centred ${side}×${side} box inpainting`;
    samplerTask = 'inpainting';
    release = () => e.release(ip.maskTensor);
  } else if (o.task === 'dense') {
    m = o.rows ?? Math.max(1, Math.round(D / 4));
    A = rng.normals(m * D).map((v) => v / Math.sqrt(D));
    const dm = new DenseMatrixOperator(e, A, m, [N, C, H, W]);
    op = dm;
    describe = `dense Gaussian A, ${m} measurements`;
    release = () => dm.destroy();
  } else throw new Error(`task '${o.task}' is not defined for a GMM prior (inpaint, dense)`);
  const y = Float32Array.from({ length: m }, (_, i) => {
    let s = 0;
    for (let j = 0; j < D; j++) s += A[i * D + j] * xTrue[j];
    return s + o.sigmaY * rng.normal();
  });
  const post = gmmPosterior(g, A, m, y, o.sigmaY);
  const weights = Array.from(post.logPi, Math.exp);
  const refRng = new Rng64(o.seed + 3000);
  const reference = Array.from({ length: Math.max(N, 256) }, () => post.sample(refRng));
  return {
    op,
    y,
    samplerTask,
    describe,
    exactSamples: (n, r) => Array.from({ length: n }, () => post.sample(r)),
    metrics: (s) => ({
      sliced_w2: slicedW2(s, reference, 512, o.seed + 7),
      energy: energyDistance(s, reference),
      mode_tv: modeWeights(s, (x) => post.responsibilities0(x), weights).tv!,
    }),
    primary: 'sliced_w2',
    destroy: release,
  };
}

/** Per-pixel variances (diagonal) of a circulant covariance given by its blocks. */
function pixelVariancesCirculant(blocks: Float64Array, C: number, H: number, W: number): Float64Array {
  const hw = H * W;
  const out = new Float64Array(C * hw);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let f = 0; f < hw; f++) s += blocks[(f * C * C + c * C + c) * 2];
    out.fill(s / hw, c * hw, (c + 1) * hw);
  }
  return out;
}

/** mean_rmse, std_rmse and the pixel-marginal W2 bound against exact means and per-pixel variances. */
function marginalMetrics(samples: readonly Vec[], mean: Float64Array, pixVar: Float64Array): Record<string, number> {
  const N = samples.length,
    D = mean.length;
  const m = new Float64Array(D),
    v = new Float64Array(D);
  for (const s of samples) for (let i = 0; i < D; i++) m[i] += s[i] / N;
  for (const s of samples) for (let i = 0; i < D; i++) v[i] += (s[i] - m[i]) ** 2 / (N - 1);
  let dm = 0,
    ds = 0;
  for (let i = 0; i < D; i++) {
    dm += (m[i] - mean[i]) ** 2;
    ds += (Math.sqrt(v[i]) - Math.sqrt(pixVar[i])) ** 2;
  }
  return { mean_rmse: Math.sqrt(dm / D), std_rmse: Math.sqrt(ds / D), w2_marginal: Math.sqrt(dm + ds) };
}

// ------------------------------------------------------------------------------------------ running

async function runOne(
  e: Engine,
  prior: LabPrior,
  task: LabTask,
  method: string,
  nfe: number,
  o: StudyOptions & { sigmaY: number; samples: number; seed: number },
): Promise<Float32Array[]> {
  const model: ScoreModel = prior.model;
  const [C, H, W] = model.imageShape;
  const N = o.samples,
    D = C * H * W,
    m = task.y.length;
  const yRep = new Float32Array(N * m);
  for (let n = 0; n < N; n++) yRep.set(task.y, n * m);
  const yShape = m === D ? [N, C, H, W] : [N, m];
  const y = e.upload(yRep, yShape, 'study-y');
  let x: Tensor;
  try {
    if (method === 'exact') {
      const opts = prior.kind === 'gaussian' ? gaussianGuidanceOps(prior.model, task.op, o.sigmaY) : {};
      const guide = new ExactCovarianceGuidance(model, task.op, y, o.sigmaY, { ...opts, cgTol: 1e-4, cgMaxIter: 500 });
      x = await sampleWithEps(e, [N, C, H, W], (xx, t) => guide.eps(xx, t), { nfe, seed: o.seed + 17 });
    } else {
      // 'pigdm:score' (and 'pigdm:score+cmi'): ΠGDM with the posterior-score weighting (samplers/pigdm.ts)
      const score = /^pigdm:score(\+cmi)?$/.test(method);
      if (method.includes(':') && !score)
        throw new Error(`study: unknown method variant '${method}' (only pigdm:score)`);
      const r = await sample({
        model,
        operator: task.op,
        noise: { kind: 'gaussian', level: o.sigmaY },
        y,
        method: score ? method.replace(':score', '') : method,
        pigdmWeighting: score ? 'score' : undefined,
        steps: nfe,
        seed: o.seed,
        batch: N,
        task: task.samplerTask,
        cmi: method.includes('+cmi') ? (o.cmi ?? DEFAULT_STUDY_CMI) : undefined,
        distanceEvery: Math.max(1, nfe),
        // bound the GPU queue: without a wait the loop records hundreds of steps ahead of lavapipe, whose
        // memory then grows until Dawn segfaults (~550 DPS steps at 32×64×64)
        onStep: async (st) => {
          if (st.i % 10 === 9) await e.sync();
        },
      });
      x = r.x0;
    }
    const flat = await e.read(x);
    e.release(x);
    return Array.from({ length: N }, (_, n) => flat.slice(n * D, (n + 1) * D));
  } finally {
    e.release(y);
  }
}

const DEFAULT_STUDY_CMI: CmiOptions = { r: 1, sigmaInv: 'isotropic', eta: { kind: 'relative', eta: 0.2 } };

const fmt = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '—' : v < 1e-3 || v >= 1e4 ? v.toExponential(2) : v.toPrecision(3);

export async function runPosteriorStudy(opts: StudyOptions): Promise<StudyResult> {
  const e = opts.engine;
  const log = opts.log ?? (() => {});
  const o = { ...opts, sigmaY: opts.sigmaY ?? 0.05, samples: opts.samples ?? 64, seed: opts.seed ?? 0 };
  if (!opts.nfe.length || opts.nfe.some((n) => !Number.isInteger(n) || n < 1 || n > 1000))
    throw new Error(`study: NFE values must be integers in [1, 1000], got ${opts.nfe}`);
  if (!opts.methods.length) throw new Error('study: no methods');
  if (o.samples < 2) throw new Error('study: need at least 2 samples per run');
  const prior = buildLabPrior(e, opts.prior, opts.size ?? 64, opts.channels ?? 1);
  const task = prior.kind === 'gaussian' ? gaussianTask(e, prior.model, o, log) : gmmTask(e, prior.model, o);
  try {
    log(`floor: metrics of ${o.samples} exact posterior draws`);
    const floor = task.metrics(task.exactSamples(o.samples, new Rng64(o.seed + 4000)));
    const rows: StudyRow[] = [];
    // runs.jsonl: the settings key first, then one finished run per line, so a long study can resume
    const key = JSON.stringify({
      prior: opts.prior,
      size: opts.size ?? 64,
      channels: opts.channels ?? 1,
      task: opts.task,
      sigmaY: o.sigmaY,
      samples: o.samples,
      seed: o.seed,
      blur: opts.blur,
      box: opts.box,
      rows: opts.rows,
      cmi: opts.cmi,
    });
    const journal = opts.outDir ? join(opts.outDir, 'runs.jsonl') : null;
    const done = new Map<string, StudyRow>();
    if (journal) {
      mkdirSync(opts.outDir!, { recursive: true });
      const lines = opts.resume && existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n') : [];
      if (lines.length && lines[0] === key)
        for (const l of lines.slice(1)) {
          let row: StudyRow;
          try {
            row = JSON.parse(l);
          } catch {
            continue; // the last line of a run killed while appending: that run is redone
          }
          done.set(`${row.method}@${row.nfe}`, row);
        }
      else writeFileSync(journal, key + '\n');
      if (done.size) log(`resuming: ${done.size} runs already in ${journal}`);
    }
    for (const method of opts.methods)
      for (const nfe of opts.nfe) {
        const prev = done.get(`${method}@${nfe}`);
        if (prev) {
          rows.push(prev);
          continue;
        }
        const t0 = performance.now();
        try {
          const s = await runOne(e, prior, task, method, nfe, o);
          const metrics = { ...task.metrics(s), ...(task.lawMetrics?.(method, nfe) ?? {}) };
          const finite = s.every((v) => v.every(Number.isFinite));
          rows.push({
            method,
            nfe,
            metrics,
            seconds: (performance.now() - t0) / 1000,
            error: finite ? undefined : 'non-finite samples',
          });
          log(
            `${method} NFE ${nfe}: ${task.primary} ${fmt(metrics[task.primary])} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
          );
        } catch (err) {
          const msg = (err as Error).message.split('\n')[0];
          rows.push({ method, nfe, metrics: {}, seconds: (performance.now() - t0) / 1000, error: msg });
          log(`${method} NFE ${nfe}: failed — ${msg}`);
        }
        if (journal) appendFileSync(journal, JSON.stringify(rows[rows.length - 1]) + '\n');
      }
    const header = { prior: prior.describe, task: task.describe, sigmaY: o.sigmaY, samples: o.samples, seed: o.seed };
    const res = report(rows, floor, task.primary, header, opts);
    if (opts.outDir) {
      // all three or none (src/io/atomic.ts)
      writeFilesAtomic([
        { path: join(opts.outDir, 'study.md'), data: res.markdown },
        { path: join(opts.outDir, 'study.csv'), data: res.csv },
        { path: join(opts.outDir, 'study.png'), data: res.png },
      ]);
    }
    return res;
  } finally {
    task.destroy();
    prior.model.destroy();
  }
}

function report(
  rows: StudyRow[],
  floor: Record<string, number>,
  primary: string,
  h: { prior: string; task: string; sigmaY: number; samples: number; seed: number },
  o: StudyOptions,
): StudyResult {
  const methods = [...new Set(rows.map((r) => r.method))];
  const nfes = [...new Set(rows.map((r) => r.nfe))].sort((a, b) => a - b);
  const keys = [...new Set([...Object.keys(floor), ...rows.flatMap((r) => Object.keys(r.metrics))])];
  const cell = (m: string, n: number, k: string) => {
    const r = rows.find((q) => q.method === m && q.nfe === n)!;
    return r.error ? `error: ${r.error}` : fmt(r.metrics[k]);
  };
  const cmiO = o.cmi ?? DEFAULT_STUDY_CMI;
  const lines: string[] = [];
  lines.push(`# Posterior study: ${h.prior}, ${h.task}`, '');
  if (o.command) lines.push('Command:', '', '```', o.command, '```', '');
  lines.push(
    `σ_y = ${h.sigmaY}, ${h.samples} samples per run (one measurement), seed ${h.seed}; +cmi: r = ${cmiO.r ?? 1}, Σ⁻¹ ${cmiO.sigmaInv ?? 'isotropic'}, η ${cmiO.eta.kind}:${cmiO.eta.eta}. Metric definitions: src/lab/study.ts and docs/validation-lab.md.`,
    '',
  );
  lines.push(`## ${primary} vs NFE`, '');
  lines.push(`| method | ${nfes.map((n) => `NFE ${n}`).join(' | ')} |`, `|---|${nfes.map(() => '---|').join('')}`);
  for (const m of methods) lines.push(`| ${m} | ${nfes.map((n) => cell(m, n, primary)).join(' | ')} |`);
  lines.push(`| *floor (${h.samples} exact draws)* | ${nfes.map(() => fmt(floor[primary])).join(' | ')} |`, '');
  for (const k of keys.filter((q) => q !== primary)) {
    lines.push(
      `### ${k}`,
      '',
      `| method | ${nfes.map((n) => `NFE ${n}`).join(' | ')} |`,
      `|---|${nfes.map(() => '---|').join('')}`,
    );
    for (const m of methods) lines.push(`| ${m} | ${nfes.map((n) => cell(m, n, k)).join(' | ')} |`);
    lines.push(`| *floor* | ${nfes.map(() => fmt(floor[k])).join(' | ')} |`, '');
  }
  lines.push(
    '### seconds per run',
    '',
    `| method | ${nfes.map((n) => `NFE ${n}`).join(' | ')} |`,
    `|---|${nfes.map(() => '---|').join('')}`,
  );
  for (const m of methods)
    lines.push(
      `| ${m} | ${nfes.map((n) => rows.find((q) => q.method === m && q.nfe === n)!.seconds.toFixed(1)).join(' | ')} |`,
    );
  const csvRows = ['method,nfe,metric,value,floor,seconds,error'];
  for (const r of rows) {
    if (r.error && !Object.keys(r.metrics).length)
      csvRows.push(`${r.method},${r.nfe},,,,${r.seconds.toFixed(2)},"${r.error.replace(/"/g, "'")}"`);
    for (const [k, v] of Object.entries(r.metrics))
      csvRows.push(
        `${r.method},${r.nfe},${k},${v},${floor[k] ?? ''},${r.seconds.toFixed(2)},${r.error ? `"${r.error.replace(/"/g, "'")}"` : ''}`,
      );
  }
  const png = renderPlot({
    title: `${primary} to the exact posterior`,
    xLabel: 'NFE',
    yLabel: primary,
    series: methods.map((m) => ({
      label: m,
      points: nfes.map(
        (n) => [n, rows.find((q) => q.method === m && q.nfe === n)!.metrics[primary] ?? NaN] as [number, number],
      ),
    })),
    reference: floor[primary] !== undefined ? { label: 'floor', y: floor[primary] } : undefined,
  });
  return { rows, floor, primary, markdown: lines.join('\n') + '\n', csv: csvRows.join('\n') + '\n', png };
}

/** An H×W mask of ones with a centred side×side square of zeros (the studies' inpainting box). */
function centredBoxMask(H: number, W: number, side: number): Float32Array {
  const top = Math.floor((H - side) / 2),
    left = Math.floor((W - side) / 2);
  const m = new Float32Array(H * W).fill(1);
  for (let y = top; y < top + side; y++) m.fill(0, y * W + left, y * W + left + side);
  return m;
}
