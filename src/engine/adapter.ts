// Which kernel variant each op runs, decided in one place (as TF.js's WEBGPU_MATMUL_PROGRAM_TYPE flag and
// burn's per-shape tuner do): the adapter is classified once, each op with more than one kernel family asks
// `pick()` per call with whether its shape fits the specialised variant, and a force flag (per engine, per
// call, or the POSTERIOR_KERNELS environment variable) overrides the choice for tests and benchmarks.
//
// Adapter classes:
//  - 'cpu-simd': a software adapter that runs one invocation per SIMD lane (lavapipe: subgroups of exactly 8
//    lanes on AVX2; SwiftShader-like adapters 4-16). There dispatches and barriers are expensive, every
//    storage load is a bounds-checked per-lane loop and subgroup shuffles are single instructions, so the
//    'simd' families (conv2d-sg, linear-sg, attention-sg, the one-dispatch GroupNorm) win by 10-100x.
//  - 'gpu': subgroups of 32/64 or none; the 'portable' families (workgroup-tiled GEMMs, chunked reductions).
//  - 'compat': a compatibility-mode adapter (WebGPU featureLevel 'compatibility': GL ES / D3D11 class),
//    which offers no subgroups; the 'portable' families only.
import type { GpuContext } from './device.js';

export type AdapterClass = 'cpu-simd' | 'gpu' | 'compat';

/** The ops that have more than one kernel family. */
export const VARIANT_OPS = ['conv2d', 'linear', 'groupnorm', 'attention'] as const;
export type VariantOp = (typeof VARIANT_OPS)[number];

/**
 * 'simd': the families tuned for CPU SIMD adapters (8/16-lane subgroups): shaders/conv2d-sg.wgsl,
 * linear-sg.wgsl, attention-sg.wgsl and groupnorm's gn_group / gnb_group.
 * 'portable': the families any adapter runs (the GPU path): conv2d.wgsl, linear.wgsl, attention.wgsl +
 * attention-backward.wgsl, groupnorm's stats / finalize / apply.
 */
export const VARIANTS = ['simd', 'portable'] as const;
export type Variant = (typeof VARIANTS)[number];

export type VariantForce = Partial<Record<VariantOp, Variant>>;

/**
 * Parses a force spec: `portable` or `simd` (every op), or `conv2d=portable,attention=simd`.
 * Throws with the offending part named.
 */
export function parseVariantForce(spec: string, what = 'POSTERIOR_KERNELS'): VariantForce {
  const out: VariantForce = {};
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [a, b] = part.split('=');
    const op = b === undefined ? undefined : a;
    const v = (b ?? a) as Variant;
    if (!VARIANTS.includes(v))
      throw new Error(`${what}: unknown kernel variant '${v}' (one of ${VARIANTS.join(', ')})`);
    if (op === undefined) for (const o of VARIANT_OPS) out[o] = v;
    else if ((VARIANT_OPS as readonly string[]).includes(op)) out[op as VariantOp] = v;
    else throw new Error(`${what}: unknown op '${op}' (one of ${VARIANT_OPS.join(', ')})`);
  }
  return out;
}

export class Adapter {
  readonly kind: AdapterClass;
  readonly subgroupMinSize: number;
  readonly subgroupMaxSize: number;
  /** subgroups are exactly 8 lanes: the simd kernels use constant shuffle indices */
  readonly sg8: boolean;
  private forced: VariantForce = {};

  constructor(gpu: Pick<GpuContext, 'adapter' | 'hasSubgroups'>, force: VariantForce = {}) {
    const info = (gpu.adapter as any).info ?? {};
    this.subgroupMinSize = info.subgroupMinSize ?? 0;
    this.subgroupMaxSize = info.subgroupMaxSize ?? 0;
    this.sg8 = this.subgroupMinSize === 8 && this.subgroupMaxSize === 8;
    // CPU SIMD widths are 4-16 lanes (SSE to AVX-512); the simd kernels need lanes in multiples of 8.
    const simdLanes = gpu.hasSubgroups && this.subgroupMinSize >= 8 && this.subgroupMaxSize <= 16;
    const compat = (gpu.adapter as any).featureLevel === 'compatibility' || (gpu.adapter as any).isCompatibilityMode;
    this.kind = simdLanes ? 'cpu-simd' : compat ? 'compat' : 'gpu';
    for (const [op, v] of Object.entries(force)) this.force(op as VariantOp, v);
  }

  /** The variants this adapter can run for an op, preferred first. */
  variants(_op: VariantOp): Variant[] {
    return this.kind === 'cpu-simd' ? ['simd', 'portable'] : ['portable'];
  }

  /** Force an op's variant (undefined: back to automatic). Throws if this adapter cannot run it. */
  force(op: VariantOp, v: Variant | undefined): void {
    if (!(VARIANT_OPS as readonly string[]).includes(op)) throw new Error(`unknown op '${op}' to force a variant for`);
    if (v === undefined) {
      delete this.forced[op];
      return;
    }
    if (!this.variants(op).includes(v))
      throw new Error(
        `${op}: variant '${v}' needs a CPU SIMD adapter (8/16-lane subgroups); this one is '${this.kind}'`,
      );
    this.forced[op] = v;
  }

  /** Force every op's variant (undefined: all automatic). */
  forceAll(v: Variant | undefined): void {
    for (const op of VARIANT_OPS) this.force(op, v);
  }

  /** The forced variant of an op, if any. */
  forcedVariant(op: VariantOp): Variant | undefined {
    return this.forced[op];
  }

  /**
   * The variant for one call. `simdFits`: the shape is covered by the simd kernel (the portable kernels
   * cover every shape the op accepts); `request`: a per-call force. A forced 'simd' that the adapter
   * cannot run or the shape does not fit throws (`what` names the op and `detail` the shape).
   */
  pick(op: VariantOp, simdFits: boolean, what: string, detail: string, request?: Variant): Variant {
    const want = request ?? this.forced[op];
    if (want === 'portable') return 'portable';
    if (want === 'simd') {
      if (!this.variants(op).includes('simd'))
        throw new Error(
          `${what}: variant 'simd' needs a CPU SIMD adapter (8/16-lane subgroups); this one is '${this.kind}'`,
        );
      if (!simdFits) throw new Error(`${what}: variant 'simd' does not cover this shape (${detail})`);
      return 'simd';
    }
    return this.kind === 'cpu-simd' && simdFits ? 'simd' : 'portable';
  }

  describe(): string {
    const f = VARIANT_OPS.filter((o) => this.forced[o]).map((o) => `${o}=${this.forced[o]}`);
    const sg = this.subgroupMaxSize ? `, subgroups ${this.subgroupMinSize}-${this.subgroupMaxSize}` : '';
    return `${this.kind}${sg}${f.length ? `, forced ${f.join(',')}` : ''}`;
  }
}
