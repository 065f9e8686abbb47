// GPU per-frequency filters out = F⁻¹ M(ξ) F x (+ offset) for the lab's circulant priors and circular blurs.
//
// Which FFT: the shared GPU FFT of src/operators/fft.ts (in place on [planes, H, W, 2]) whenever H and W are
// of the form 2^a·3^b·5^c, with this file's kernels (shaders/prior-spectral.wgsl) converting real ↔ complex
// and applying M(ξ) per image slot in between. Other sizes (e.g. 7) fall back to separable *direct* DFTs
// in WGSL: O(HW(H+W)) per image instead of O(HW log HW), exact to f32 rounding. `useFft = false` forces
// the direct path (the tests compare both).
import { uniforms, f32, type Engine } from '../engine/executor.js';
import type { Tensor } from '../engine/tensor.js';
import { grid1d } from '../engine/ops/vector.js';
import { fftCols, fftRadices, fftRows } from '../operators/fft.js';

function twiddleTable(n: number): Float32Array {
  const t = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    t[2 * k] = Math.cos((2 * Math.PI * k) / n);
    t[2 * k + 1] = Math.sin((2 * Math.PI * k) / n);
  }
  return t;
}

export class SpectralFilter {
  private twW: Tensor;
  private twH: Tensor;
  /** whether the shared FFT is used (sizes 2^a·3^b·5^c) */
  readonly useFft: boolean;

  /** Filters [N, C, H, W] images; C = 1 (complex gain per frequency) or 3 (3×3 complex matrix per frequency). */
  constructor(
    readonly engine: Engine,
    readonly channels: number,
    readonly height: number,
    readonly width: number,
    useFft = true,
  ) {
    if (channels !== 1 && channels !== 3) throw new Error(`SpectralFilter: ${channels} channels (1 or 3 supported)`);
    // below 16 pixels a side the direct DFT's few dispatches beat the FFT's (measured on lavapipe)
    this.useFft = useFft && Math.max(height, width) >= 16 && fftRadices(height) !== null && fftRadices(width) !== null;
    this.twW = engine.upload(twiddleTable(width), [width, 2], 'spectral-tw-w');
    this.twH = engine.upload(twiddleTable(height), [height, 2], 'spectral-tw-h');
  }

  /** Floats in one filter table slot: H·W·C·C complex entries. */
  get slotSize(): number {
    return this.height * this.width * this.channels * this.channels * 2;
  }

  /**
   * out[n] = F⁻¹ M_{slot[n]} F x[n] + offset[slot[n]].
   * @param table [S, H, W, C, C, 2] complex matrices per frequency (DFT convention of fft64.ts); must be a
   *   real filter, M(−ξ) = conj M(ξ) (the FFT path transforms two real images per complex plane)
   * @param slots u32 tensor [N]
   * @param offset optional [S, C, H, W] real images added after the inverse transform
   */
  apply(x: Tensor, table: Tensor, slots: Tensor, offset?: Tensor): Tensor {
    const e = this.engine;
    const { channels: C, height: H, width: W } = this;
    const [N, xc, xh, xw] = x.shape;
    if (x.shape.length !== 4 || xc !== C || xh !== H || xw !== W) {
      throw new Error(`SpectralFilter: input [${x.shape}], expected [N, ${C}, ${H}, ${W}]`);
    }
    if (table.size % this.slotSize)
      throw new Error(`SpectralFilter: table of ${table.size} floats is not a multiple of ${this.slotSize}`);
    if (slots.size !== N) throw new Error(`SpectralFilter: ${slots.size} slots for ${N} images`);
    const n = N * C * H * W;
    const u = (count: number, scale = 1) => uniforms(count, N, C, H, W, f32(scale));
    const k = (entry: string) => ({
      family: 'prior-spectral',
      entry,
      constants: entry === 'col_dft_filter' || entry === 'apply_table_pair' ? { CH: C } : undefined,
    });
    if (offset && offset.size % (C * H * W))
      throw new Error(`SpectralFilter: offset of ${offset.size} floats is not a multiple of ${C * H * W}`);
    if (this.useFft) {
      // two real images per complex FFT (shaders/prior-spectral.wgsl, "two real images per complex FFT")
      const P = Math.ceil(N / 2);
      const np = P * C * H * W;
      const z = e.tensor([P * C, H, W, 2], 'spectrum-pair');
      e.run({ kernel: k('to_complex_pair'), bindings: [x, z], uniforms: u(np), grid: grid1d(e, np), bytes: 16 * np });
      const planes = { planes: P * C, h: H, w: W };
      fftRows(e, z, planes, false, 1);
      fftCols(e, z, planes, false, 1);
      const z2 = e.tensor([P * C, H, W, 2], 'spectrum-pair-filtered');
      e.run({
        kernel: k('apply_table_pair'),
        bindings: [table, slots, z, z2],
        uniforms: u(P * H * W),
        grid: grid1d(e, P * H * W),
        flops: 16 * np * C,
        bytes: 32 * np,
      });
      e.release(z);
      fftCols(e, z2, planes, true, 1);
      fftRows(e, z2, planes, true, 1);
      const out = e.tensor([N, C, H, W], 'spectral-out');
      if (offset)
        e.run({
          kernel: k('real_part_pair_offset'),
          bindings: [z2, out, offset, slots],
          uniforms: u(n, 1 / (H * W)),
          grid: grid1d(e, n),
          bytes: 16 * n,
        });
      else
        e.run({
          kernel: k('real_part_pair'),
          bindings: [z2, out],
          uniforms: u(n, 1 / (H * W)),
          grid: grid1d(e, n),
          bytes: 12 * n,
        });
      e.release(z2);
      return out;
    }
    const a = e.tensor([N, C, H, W, 2], 'spectral-a');
    e.run({
      kernel: k('row_dft'),
      bindings: [x, this.twW, a],
      uniforms: u(n),
      grid: grid1d(e, n),
      flops: 4 * n * W,
      bytes: 12 * n * W,
    });
    const b = e.tensor([N, C, H, W, 2], 'spectral-b');
    const nf = N * H * W;
    e.run({
      kernel: k('col_dft_filter'),
      bindings: [a, this.twH, table, slots, b],
      uniforms: u(nf),
      grid: grid1d(e, nf),
      flops: 8 * n * H + 8 * n * C,
      bytes: 8 * n * H,
    });
    e.run({
      kernel: k('col_idft'),
      bindings: [b, this.twH, a],
      uniforms: u(n),
      grid: grid1d(e, n),
      flops: 8 * n * H,
      bytes: 8 * n * H,
    });
    e.release(b);
    const out = e.tensor([N, C, H, W], 'spectral-out');
    const scale = 1 / (H * W);
    if (offset) {
      e.run({
        kernel: k('row_idft_real_offset'),
        bindings: [a, this.twW, out, offset, slots],
        uniforms: u(n, scale),
        grid: grid1d(e, n),
        flops: 4 * n * W,
        bytes: 8 * n * W,
      });
    } else {
      e.run({
        kernel: k('row_idft_real'),
        bindings: [a, this.twW, out],
        uniforms: u(n, scale),
        grid: grid1d(e, n),
        flops: 4 * n * W,
        bytes: 8 * n * W,
      });
    }
    e.release(a);
    return out;
  }

  /** FFT path: the per-channel DFT of real images as a new complex tensor [N, C, H, W, 2]. */
  private toSpectrum(x: Tensor): Tensor {
    const e = this.engine;
    const { channels: C, height: H, width: W } = this;
    const N = x.shape[0],
      n = N * C * H * W;
    const z = e.tensor([N * C, H, W, 2], 'spectrum');
    e.run({
      kernel: { family: 'prior-spectral', entry: 'to_complex' },
      bindings: [x, z],
      uniforms: uniforms(n, N, C, H, W, f32(1)),
      grid: grid1d(e, n),
      bytes: 12 * n,
    });
    const planes = { planes: N * C, h: H, w: W };
    fftRows(e, z, planes, false, 1);
    fftCols(e, z, planes, false, 1);
    return z;
  }

  /** FFT path: real part of the inverse DFT (consumes z), plus an optional per-slot offset. */
  private fromSpectrum(z: Tensor, off?: { offset: Tensor; slots: Tensor }): Tensor {
    const e = this.engine;
    const { channels: C, height: H, width: W } = this;
    const N = z.size / (2 * C * H * W),
      n = N * C * H * W;
    const planes = { planes: N * C, h: H, w: W };
    fftCols(e, z, planes, true, 1);
    fftRows(e, z, planes, true, 1);
    const out = e.tensor([N, C, H, W], 'spectral-out');
    const u = uniforms(n, N, C, H, W, f32(1 / (H * W)));
    if (off)
      e.run({
        kernel: { family: 'prior-spectral', entry: 'real_part_offset' },
        bindings: [z, out, off.offset, off.slots],
        uniforms: u,
        grid: grid1d(e, n),
        bytes: 16 * n,
      });
    else
      e.run({
        kernel: { family: 'prior-spectral', entry: 'real_part' },
        bindings: [z, out],
        uniforms: u,
        grid: grid1d(e, n),
        bytes: 12 * n,
      });
    e.release(z);
    return out;
  }

  /**
   * Real orthonormal Fourier coordinates of [N, C, H, W] images → [N, C·H·W] (entry k·C + c), with the
   * basis order given by `basis` (u32 pairs (frequency, kind 0 self / 1 cos / 2 sin), see prior-spectral.wgsl).
   */
  toCoords(x: Tensor, basis: Tensor): Tensor {
    const e = this.engine;
    const { channels: C, height: H, width: W } = this;
    const N = x.shape[0],
      n = N * C * H * W;
    const u = (scale: number) => uniforms(n, N, C, H, W, f32(scale));
    let b: Tensor;
    if (this.useFft) b = this.toSpectrum(x);
    else {
      const a = e.tensor([N, C, H, W, 2], 'coords-a');
      e.run({
        kernel: { family: 'prior-spectral', entry: 'row_dft' },
        bindings: [x, this.twW, a],
        uniforms: u(1),
        grid: grid1d(e, n),
        flops: 4 * n * W,
      });
      b = e.tensor([N, C, H, W, 2], 'coords-b');
      e.run({
        kernel: { family: 'prior-spectral', entry: 'col_dft' },
        bindings: [a, this.twH, b],
        uniforms: u(1),
        grid: grid1d(e, n),
        flops: 8 * n * H,
      });
      e.release(a);
    }
    const out = e.tensor([N, C * H * W], 'coords');
    e.run({
      kernel: { family: 'prior-spectral', entry: 'spec_pack' },
      bindings: [b, basis, out],
      uniforms: u(1 / Math.sqrt(H * W)),
      grid: grid1d(e, n),
    });
    e.release(b);
    return out;
  }

  /** Inverse of toCoords: [N, C·H·W] coordinates → [N, C, H, W] images (`map`: per frequency (k, kind)). */
  fromCoords(z: Tensor, map: Tensor): Tensor {
    const e = this.engine;
    const { channels: C, height: H, width: W } = this;
    const N = z.shape[0],
      n = N * C * H * W;
    if (z.size !== n) throw new Error(`SpectralFilter.fromCoords: [${z.shape}] is not [N, ${C * H * W}]`);
    const u = (scale: number) => uniforms(n, N, C, H, W, f32(scale));
    const a = e.tensor([N, C, H, W, 2], 'coords-a');
    e.run({
      kernel: { family: 'prior-spectral', entry: 'spec_unpack' },
      bindings: [z, map, a],
      uniforms: u(Math.sqrt(H * W)),
      grid: grid1d(e, n),
    });
    if (this.useFft) return this.fromSpectrum(a);
    const b = e.tensor([N, C, H, W, 2], 'coords-b');
    e.run({
      kernel: { family: 'prior-spectral', entry: 'col_idft' },
      bindings: [a, this.twH, b],
      uniforms: u(1),
      grid: grid1d(e, n),
      flops: 8 * n * H,
    });
    e.release(a);
    const out = e.tensor([N, C, H, W], 'coords-img');
    e.run({
      kernel: { family: 'prior-spectral', entry: 'row_idft_real' },
      bindings: [b, this.twW, out],
      uniforms: u(1 / (H * W)),
      grid: grid1d(e, n),
      flops: 4 * n * W,
    });
    e.release(b);
    return out;
  }

  /** out[n, q] = x[n, q]·w[q] for q < perIn (zero beyond): truncation/padding with per-coordinate weights. */
  coordScale(x: Tensor, w: Tensor, perIn: number, perOut: number): Tensor {
    const e = this.engine;
    const N = x.size / perIn;
    if (!Number.isInteger(N)) throw new Error(`coordScale: ${x.size} values are not rows of ${perIn}`);
    const out = e.tensor([N, perOut], 'coord-scale');
    e.run({
      kernel: { family: 'prior-spectral', entry: 'coord_scale' },
      bindings: [x, w, out],
      uniforms: uniforms(N * perOut, N, perIn, perOut, 0, f32(0)),
      grid: grid1d(e, N * perOut),
    });
    return out;
  }

  destroy(): void {
    this.engine.release(this.twW, this.twH);
  }
}

/**
 * Host-side cache of per-timestep filter tables: builds (in float64, on the CPU) and uploads one table slot
 * per distinct key of a batch, and the u32 slot index of every image. Small LRU so a sampler loop that
 * revisits a timestep (JVP after forward) does not rebuild it.
 */
export class SlotTables {
  private cache = new Map<string, { table: Tensor; offset?: Tensor; slots: Tensor }>();

  constructor(
    private engine: Engine,
    private slotSize: number,
    private offsetSize: number,
    private capacity = 8,
  ) {}

  get(keys: readonly number[], tag: string, build: (key: number) => { table: Float32Array; offset?: Float32Array }) {
    const uniq = [...new Set(keys)];
    const id = `${tag}|${keys.join(',')}`;
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    const table = new Float32Array(uniq.length * this.slotSize);
    let offset: Float32Array | undefined;
    uniq.forEach((key, s) => {
      const b = build(key);
      if (b.table.length !== this.slotSize)
        throw new Error(`SlotTables: table of ${b.table.length} floats, expected ${this.slotSize}`);
      table.set(b.table, s * this.slotSize);
      if (b.offset) {
        offset ??= new Float32Array(uniq.length * this.offsetSize);
        offset.set(b.offset, s * this.offsetSize);
      }
    });
    const slots = Uint32Array.from(keys.map((k) => uniq.indexOf(k)));
    const entry = {
      table: this.engine.upload(table, [uniq.length, this.slotSize], `${tag}-table`),
      offset: offset ? this.engine.upload(offset, [uniq.length, this.offsetSize], `${tag}-offset`) : undefined,
      slots: this.engine.upload(slots, [keys.length], `${tag}-slots`),
    };
    this.cache.set(id, entry);
    if (this.cache.size > this.capacity) {
      const [oldId, old] = this.cache.entries().next().value!;
      this.cache.delete(oldId);
      this.engine.release(old.table, old.offset, old.slots);
    }
    return entry;
  }

  clear(): void {
    for (const v of this.cache.values()) this.engine.release(v.table, v.offset, v.slots);
    this.cache.clear();
  }
}
