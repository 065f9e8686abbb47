// Where a sampler's random numbers come from: seeded counter-based streams (Philox, src/engine/ops/random.ts)
// or a recorded sequence replayed from another implementation (`x_T`, `step_noise`). Image n of a batch
// draws from its own seed (seeds[n]), so image n of a batch run equals a single-image run with that seed.
// Each purpose has its own stream offset (purpose·2³² + index), so adding e.g. CMI probes never shifts the
// step noise.
import type { Engine } from '../engine/executor.js';
import { randn, randRademacher } from '../engine/ops/random.js';
import type { Tensor } from '../engine/tensor.js';
import { copyRange } from './rows.js';

/** Stream purposes (the high word of the Philox offset). */
export const enum Stream {
  XT = 1,
  Step = 2,
  Measurement = 3,
  Probe = 4,
}

const TWO32 = 2 ** 32;

export interface Replay {
  /** x_T [N, C, H, W] */
  xT?: Tensor;
  /** step_noise [steps, N, C, H, W]: entry i is the N(0, I) draw of loop step i (i = 0 at the noisiest step) */
  stepNoise?: Tensor;
}

export class NoiseStreams {
  readonly N: number;
  readonly chw: number;

  constructor(
    readonly e: Engine,
    readonly shape: readonly [number, number, number, number],
    readonly seeds: readonly number[],
    readonly replay: Replay = {},
  ) {
    this.N = shape[0];
    this.chw = shape[1] * shape[2] * shape[3];
    if (seeds.length !== this.N) throw new Error(`noise: ${seeds.length} seeds for a batch of ${this.N}`);
    for (const s of seeds)
      if (!Number.isSafeInteger(s) || s < 0) throw new Error(`noise: seed ${s} is not a non-negative integer`);
    if (replay.xT && replay.xT.size !== this.N * this.chw)
      throw new Error(`x_T [${replay.xT.shape}] does not match the batch [${shape}]`);
    if (replay.stepNoise && replay.stepNoise.size % (this.N * this.chw)) {
      throw new Error(`step_noise [${replay.stepNoise.shape}] is not a sequence of [${shape}] draws`);
    }
  }

  /** Number of recorded step draws (Infinity when seeded). */
  get recordedSteps(): number {
    return this.replay.stepNoise ? this.replay.stepNoise.size / (this.N * this.chw) : Infinity;
  }

  /** One [N, ...per] tensor whose image n is gen(seeds[n]). */
  private perImage(per: readonly number[], gen: (seed: number) => Tensor, label: string): Tensor {
    if (this.N === 1) return gen(this.seeds[0]).reshape([1, ...per]);
    const n = per.reduce((a, b) => a * b, 1);
    const out = this.e.tensor([this.N, ...per], label);
    this.seeds.forEach((s, i) => {
      const one = gen(s);
      copyRange(this.e, one, 0, out, i * n, n);
      this.e.release(one);
    });
    return out;
  }

  /** x_T: the replayed tensor (copied) or N(0, I). */
  xT(): Tensor {
    const [, C, H, W] = this.shape;
    if (this.replay.xT) {
      const o = this.e.tensor(this.shape, 'x_T');
      copyRange(this.e, this.replay.xT, 0, o, 0, o.size);
      return o;
    }
    return this.perImage([C, H, W], (s) => randn(this.e, [C, H, W], s, Stream.XT * TWO32), 'x_T');
  }

  /** The N(0, I) draw of loop step i ([N, C, H, W]). */
  step(i: number): Tensor {
    const [, C, H, W] = this.shape;
    const rec = this.replay.stepNoise;
    if (rec) {
      if (i >= this.recordedSteps)
        throw new Error(`step_noise holds ${this.recordedSteps} draws; step ${i} needs one more`);
      const n = this.N * this.chw;
      const o = this.e.tensor(this.shape, 'step_noise');
      copyRange(this.e, rec, i * n, o, 0, n);
      return o;
    }
    return this.perImage([C, H, W], (s) => randn(this.e, [C, H, W], s, Stream.Step * TWO32 + i), 'step_noise');
  }

  /** N(0, I) of a per-image shape (e.g. measurement noise for MCG's diffused y), for loop step i. */
  measurement(i: number, per: readonly number[]): Tensor {
    return this.perImage(per, (s) => randn(this.e, per, s, Stream.Measurement * TWO32 + i), 'meas_noise');
  }

  /** Rademacher probe j of loop step i ([N, C, H, W]). */
  probe(i: number, j: number): Tensor {
    const [, C, H, W] = this.shape;
    return this.perImage(
      [C, H, W],
      (s) => randRademacher(this.e, [C, H, W], s, Stream.Probe * TWO32 + i * 4096 + j),
      'probe',
    );
  }
}
