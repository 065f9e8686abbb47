// GPU per-frequency filters out = F⁻¹ M(ξ) F x (+ offset) for the lab's circulant priors and circular blurs.
//
// Which FFT: the shared GPU FFT of src/operators/fft.ts (in place on [planes, H, W, 2]) whenever H and W are
// of the form 2^a·3^b·5^c, with this file's kernels (shaders/prior-spectral.wgsl) converting real ↔ complex
// and applying M(ξ) per image slot in between. Other sizes (e.g. 7) fall back to separable *direct* DFTs
// in WGSL: O(HW(H+W)) per image instead of O(HW log HW), exact to f32 rounding. `useFft = false` forces
// the direct path (the tests compare both).
import type { Engine, ScopeToken } from '../engine/executor.js';
import { defineKernels } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import { grid1d } from '../engine/ops/vector.js';
import { fftCols, fftRadices, fftRows } from '../operators/fft.js';

// binding specs by access and element type, with the WGSL variable's name
const R = (wgsl: string) => ({ wgsl }) as const;
const W = (wgsl: string) => ({ access: 'read_write', wgsl }) as const;
const C = (wgsl: string) => ({ type: 'vec2f', wgsl }) as const;
const CW = (wgsl: string) => ({ access: 'read_write', type: 'vec2f', wgsl }) as const;
const U = (wgsl: string) => ({ type: 'u32', wgsl }) as const;
const U2 = (wgsl: string) => ({ type: 'vec2u', wgsl }) as const;
export const PRIOR_SPECTRAL = defineKernels('prior-spectral', {
  uniforms: {
    count: 'u32', // invocations that do work
    nimg: 'u32',
    c: 'u32',
    h: 'u32',
    w: 'u32',
    scale: 'f32', // final scale of the inverse transform (1/(HW))
  },
  entries: {
    row_dft: { bindings: { x: R('rd_x'), tw: C('rd_tw'), out: CW('rd_out') } },
    col_dft_filter: {
      bindings: { in: C('cf_in'), tw: C('cf_tw'), table: C('cf_table'), slot: U('cf_slot'), out: CW('cf_out') },
    },
    col_idft: { bindings: { in: C('ci_in'), tw: C('ci_tw'), out: CW('ci_out') } },
    row_idft_real: { bindings: { in: C('ri_in'), tw: C('ri_tw'), out: W('ri_out') } },
    row_idft_real_offset: {
      bindings: { in: C('ri_in'), tw: C('ri_tw'), out: W('ri_out'), offset: R('ro_offset'), slot: U('ro_slot') },
    },
    col_dft: { bindings: { in: C('cd_in'), tw: C('cd_tw'), out: CW('cd_out') } },
    spec_pack: { bindings: { spec: C('pk_spec'), basis: U2('pk_basis'), out: W('pk_out') } },
    spec_unpack: { bindings: { z: R('up_z'), map: U2('up_map'), out: CW('up_out') } },
    coord_scale: {
      bindings: { in: R('cs_in'), w: R('cs_w'), out: W('cs_out') },
    },
    to_complex: { bindings: { x: R('tc_x'), out: CW('tc_out') } },
    apply_table: { bindings: { table: C('at_table'), slot: U('at_slot'), data: CW('at_data') } },
    real_part: { bindings: { in: C('rp_in'), out: W('rp_out') } },
    real_part_offset: { bindings: { in: C('rp_in'), out: W('rp_out'), offset: R('rpo_offset'), slot: U('rpo_slot') } },
    to_complex_pair: {
      bindings: { x: R('tp_x'), out: CW('tp_out') },
    },
    apply_table_pair: { bindings: { table: C('ap_table'), slot: U('ap_slot'), in: C('ap_in'), out: CW('ap_out') } },
    real_part_pair: {
      bindings: { in: C('rq_in'), out: W('rq_out') },
    },
    real_part_pair_offset: {
      bindings: { in: C('rq_in'), out: W('rq_out'), offset: R('rqo_offset'), slot: U('rqo_slot') },
    },
  },
});

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
    const u = (count: number, scale = 1) => ({ count, nimg: N, c: C, h: H, w: W, scale });
    const k = (entry: keyof typeof PRIOR_SPECTRAL) => ({
      kernel: PRIOR_SPECTRAL[entry],
      constants: entry === 'col_dft_filter' || entry === 'apply_table_pair' ? { CH: C } : undefined,
    });
    if (offset && offset.size % (C * H * W))
      throw new Error(`SpectralFilter: offset of ${offset.size} floats is not a multiple of ${C * H * W}`);
    if (this.useFft) {
      // two real images per complex FFT (shaders/prior-spectral.wgsl, "two real images per complex FFT")
      const P = Math.ceil(N / 2);
      const np = P * C * H * W;
      const z = e.tensor([P * C, H, W, 2], 'spectrum-pair');
      e.run({ ...k('to_complex_pair'), buffers: { x, out: z }, params: u(np), grid: grid1d(e, np), bytes: 16 * np });
      const planes = { planes: P * C, h: H, w: W };
      fftRows(e, z, planes, false, 1);
      fftCols(e, z, planes, false, 1);
      const z2 = e.tensor([P * C, H, W, 2], 'spectrum-pair-filtered');
      e.run({
        ...k('apply_table_pair'),
        buffers: { table, slot: slots, in: z, out: z2 },
        params: u(P * H * W),
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
          ...k('real_part_pair_offset'),
          buffers: { in: z2, out, offset, slot: slots },
          params: u(n, 1 / (H * W)),
          grid: grid1d(e, n),
          bytes: 16 * n,
        });
      else
        e.run({
          ...k('real_part_pair'),
          buffers: { in: z2, out },
          params: u(n, 1 / (H * W)),
          grid: grid1d(e, n),
          bytes: 12 * n,
        });
      e.release(z2);
      return out;
    }
    const a = e.tensor([N, C, H, W, 2], 'spectral-a');
    e.run({
      ...k('row_dft'),
      buffers: { x, tw: this.twW, out: a },
      params: u(n),
      grid: grid1d(e, n),
      flops: 4 * n * W,
      bytes: 12 * n * W,
    });
    const b = e.tensor([N, C, H, W, 2], 'spectral-b');
    const nf = N * H * W;
    e.run({
      ...k('col_dft_filter'),
      buffers: { in: a, tw: this.twH, table, slot: slots, out: b },
      params: u(nf),
      grid: grid1d(e, nf),
      flops: 8 * n * H + 8 * n * C,
      bytes: 8 * n * H,
    });
    e.run({
      ...k('col_idft'),
      buffers: { in: b, tw: this.twH, out: a },
      params: u(n),
      grid: grid1d(e, n),
      flops: 8 * n * H,
      bytes: 8 * n * H,
    });
    e.release(b);
    const out = e.tensor([N, C, H, W], 'spectral-out');
    const scale = 1 / (H * W);
    if (offset) {
      e.run({
        ...k('row_idft_real_offset'),
        buffers: { in: a, tw: this.twW, out, offset, slot: slots },
        params: u(n, scale),
        grid: grid1d(e, n),
        flops: 4 * n * W,
        bytes: 8 * n * W,
      });
    } else {
      e.run({
        ...k('row_idft_real'),
        buffers: { in: a, tw: this.twW, out },
        params: u(n, scale),
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
      kernel: PRIOR_SPECTRAL.to_complex,
      buffers: { x, out: z },
      params: { count: n, nimg: N, c: C, h: H, w: W, scale: 1 },
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
    const u = { count: n, nimg: N, c: C, h: H, w: W, scale: 1 / (H * W) };
    if (off)
      e.run({
        kernel: PRIOR_SPECTRAL.real_part_offset,
        buffers: { in: z, out, offset: off.offset, slot: off.slots },
        params: u,
        grid: grid1d(e, n),
        bytes: 16 * n,
      });
    else
      e.run({
        kernel: PRIOR_SPECTRAL.real_part,
        buffers: { in: z, out },
        params: u,
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
    const u = (scale: number) => ({ count: n, nimg: N, c: C, h: H, w: W, scale });
    let b: Tensor;
    if (this.useFft) b = this.toSpectrum(x);
    else {
      const a = e.tensor([N, C, H, W, 2], 'coords-a');
      e.run({
        kernel: PRIOR_SPECTRAL.row_dft,
        buffers: { x, tw: this.twW, out: a },
        params: u(1),
        grid: grid1d(e, n),
        flops: 4 * n * W,
      });
      b = e.tensor([N, C, H, W, 2], 'coords-b');
      e.run({
        kernel: PRIOR_SPECTRAL.col_dft,
        buffers: { in: a, tw: this.twH, out: b },
        params: u(1),
        grid: grid1d(e, n),
        flops: 8 * n * H,
      });
      e.release(a);
    }
    const out = e.tensor([N, C * H * W], 'coords');
    e.run({
      kernel: PRIOR_SPECTRAL.spec_pack,
      buffers: { spec: b, basis, out },
      params: u(1 / Math.sqrt(H * W)),
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
    const u = (scale: number) => ({ count: n, nimg: N, c: C, h: H, w: W, scale });
    const a = e.tensor([N, C, H, W, 2], 'coords-a');
    e.run({
      kernel: PRIOR_SPECTRAL.spec_unpack,
      buffers: { z, map, out: a },
      params: u(Math.sqrt(H * W)),
      grid: grid1d(e, n),
    });
    if (this.useFft) return this.fromSpectrum(a);
    const b = e.tensor([N, C, H, W, 2], 'coords-b');
    e.run({
      kernel: PRIOR_SPECTRAL.col_idft,
      buffers: { in: a, tw: this.twH, out: b },
      params: u(1),
      grid: grid1d(e, n),
      flops: 8 * n * H,
    });
    e.release(a);
    const out = e.tensor([N, C, H, W], 'coords-img');
    e.run({
      kernel: PRIOR_SPECTRAL.row_idft_real,
      buffers: { in: b, tw: this.twW, out },
      params: u(1 / (H * W)),
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
      kernel: PRIOR_SPECTRAL.coord_scale,
      buffers: { in: x, w, out },
      params: { count: N * perOut, nimg: N, c: perIn, h: perOut, w: 0, scale: 0 }, // c = perIn, h = perOut
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
  ) {
    this.home = engine.currentScope();
  }
  /** the scope this cache was made in: its tables live there (Engine.inScope) */
  private readonly home: ScopeToken | null;

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
    // cached across calls: owned by this cache, not by a scope around the call
    const entry = this.engine.inScope(this.home, () => ({
      table: this.engine.upload(table, [uniq.length, this.slotSize], `${tag}-table`),
      offset: offset ? this.engine.upload(offset, [uniq.length, this.offsetSize], `${tag}-offset`) : undefined,
      slots: this.engine.upload(slots, [keys.length], `${tag}-slots`),
    }));
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
