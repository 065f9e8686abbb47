// Dispatch audit: what a pass would ask of a named GPU, computed from shapes without running anything.
// An AuditEngine records every dispatch (kernel, grid, FLOPs, bytes) instead of encoding it; its tensors are
// placeholders that never touch GPU memory (uploads and writes are dropped), so a model of any size can be
// audited on any machine, with the target's limits and kernel variants. For each dispatch the time floor is
// max(FLOPs / peak FLOP/s, bytes / peak bandwidth); a dispatch with fewer workgroups than the target has
// streaming multiprocessors cannot fill it, whatever its floor.
import { Adapter } from './adapter.js';
import type { GpuContext } from './device.js';
import { Engine, type Dispatch } from './executor.js';
import { packParams } from './kernel.js';
import { kernelKey, type KernelSpec } from './pipelines.js';
import { bucketSize, fmtBytes } from './pool.js';
import { shaderSource } from './shaders.js';
import { Storage, Tensor, shapeSize } from './tensor.js';

export interface GpuTarget {
  name: string;
  /** fp32 FMA peak, FLOP/s */
  flops: number;
  /** memory bandwidth, bytes/s */
  bandwidth: number;
  /** streaming multiprocessors (compute units): a dispatch needs at least this many workgroups */
  sms: number;
  subgroupSize: number;
  /** CPU-side cost of one dispatch in an open compute pass, µs (a lower bound on a pass's time, with the floor) */
  dispatchUs: number;
  /** the limits Dawn reports there */
  limits: Partial<Record<keyof GPUSupportedLimits, number>>;
}

/**
 * NVIDIA H100 SXM: 67 TFLOP/s fp32 (FMA), 3.35 TB/s HBM3, 132 SMs (NVIDIA H100 datasheet); subgroup size and
 * limits as Dawn reports them on the Vulkan driver (2 GiB storage bindings, 48 KiB workgroup memory).
 */
export const H100: GpuTarget = {
  name: 'NVIDIA H100 SXM',
  flops: 67e12,
  bandwidth: 3.35e12,
  sms: 132,
  subgroupSize: 32,
  // measured there with Dawn: 5.5-6.5 µs per dispatch in one compute pass (shared/gpu README)
  dispatchUs: 6,
  limits: {
    maxStorageBufferBindingSize: 2 ** 31 - 4,
    maxBufferSize: 2 ** 31 - 4,
    maxComputeWorkgroupStorageSize: 48 * 1024,
    maxComputeWorkgroupsPerDimension: 65535,
    maxComputeInvocationsPerWorkgroup: 1024,
  },
};

export interface AuditRecord {
  label: string;
  kernel: string;
  grid: [number, number, number];
  workgroups: number;
  /** invocations per workgroup */
  workgroupSize: number;
  invocations: number;
  flops: number;
  bytes: number;
  /** max(flops / peak, bytes / bandwidth), ms */
  floorMs: number;
  /** fewer workgroups than the target's SMs */
  small: boolean;
  /** which of FLOPs or bytes sets the floor */
  bound: 'compute' | 'memory';
}

/** An Engine that records dispatches for a target GPU instead of running them. */
export class AuditEngine extends Engine {
  readonly audit: AuditRecord[] = [];
  private inUse = 0;
  private peak = 0;
  private base = 0;

  constructor(
    gpu: GpuContext,
    readonly target: GpuTarget,
  ) {
    super(gpu);
    // the target's limits and adapter class, so that ops pick the variants and tiles it would get
    (this as { limits: GPUSupportedLimits }).limits = { ...limitsObject(gpu.device.limits), ...target.limits } as any;
    (this as { adapter: Adapter }).adapter = new Adapter({
      adapter: { info: { subgroupMinSize: target.subgroupSize, subgroupMaxSize: target.subgroupSize } } as any,
      hasSubgroups: true,
    });
  }

  override tensor(shape: readonly number[], label = 'tensor'): Tensor {
    const n = shapeSize(shape);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`tensor '${label}': invalid shape [${shape}]`);
    const size = bucketSize(n * 4);
    this.inUse += size;
    this.peak = Math.max(this.peak, this.inUse);
    return new Tensor(new Storage({ size, label } as GPUBuffer, label), shape, label);
  }

  override write(t: Tensor, data: Float32Array | Uint32Array | Int32Array): void {
    if (data.length !== t.size) throw new Error(`write '${t.label}': ${data.length} values for ${t.size} elements`);
  }

  override release(...ts: Array<Tensor | null | undefined>): void {
    for (const t of ts) if (t && !t.isView) this.inUse -= t.storage.buffer.size;
  }

  override read(t: Tensor): Promise<Float32Array> {
    throw new Error(`audit: '${t.label}' cannot be read (nothing runs in an audit)`);
  }

  override run(d: Dispatch): void {
    const k = d.kernel;
    packParams(k, d.params); // refuses missing, unknown or mistyped parameters as the engine does
    let constants = d.constants;
    for (const b of k.bindings)
      if (b.optional) constants = { ...constants, [b.optional]: d.buffers[b.view ?? b.name] ? 1 : 0 };
    const spec: KernelSpec = { family: k.family, entry: k.entry, constants };
    const name = kernelKey(spec);
    const [gx, gy = 1, gz = 1] = d.grid;
    const maxG = this.limits.maxComputeWorkgroupsPerDimension;
    if (gx > maxG || gy > maxG || gz > maxG)
      throw new Error(`kernel '${name}': grid [${gx},${gy},${gz}] exceeds maxComputeWorkgroupsPerDimension ${maxG}`);
    for (const [slot, t] of Object.entries(d.buffers)) {
      if (t && t.byteSize > this.limits.maxStorageBufferBindingSize)
        throw new Error(`kernel '${name}' binds ${fmtBytes(t.byteSize)} at '${slot}', over the target's limit`);
    }
    const workgroups = gx * gy * gz;
    if (workgroups === 0) return;
    const wg = workgroupSize(spec);
    const flops = d.flops ?? 0,
      bytes = d.bytes ?? 0;
    const tc = flops / this.target.flops,
      tm = bytes / this.target.bandwidth;
    this.audit.push({
      label: d.label ?? name,
      kernel: name,
      grid: [gx, gy, gz],
      workgroups,
      workgroupSize: wg,
      invocations: workgroups * wg,
      flops,
      bytes,
      floorMs: Math.max(tc, tm) * 1e3,
      small: workgroups < this.target.sms,
      bound: tc >= tm ? 'compute' : 'memory',
    });
    this.dispatchCount++;
  }

  override flush(): void {}
  override async sync(): Promise<void> {}

  /**
   * Peak bytes of tensors allocated since the last reset and live at once (in pool buckets, as the real
   * pool would allocate them); what was live at the reset (weights, inputs) is not counted.
   */
  get peakBytes(): number {
    return this.peak - this.base;
  }

  /** Clears the records and restarts the peak at the current bytes in use. */
  reset(): void {
    this.audit.length = 0;
    this.peak = this.base = this.inUse;
  }

  override destroy(): void {
    super.destroy();
  }
}

function limitsObject(l: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in l) out[k] = (l as any)[k];
  return out;
}

const wgCache = new Map<string, number>();

/**
 * Invocations per workgroup of a kernel, read from its WGSL `@workgroup_size(...)`: literals, or `override`
 * / `const` names resolved from the kernel's constants and their declared defaults.
 */
export function workgroupSize(k: KernelSpec): number {
  const key = kernelKey(k);
  const hit = wgCache.get(key);
  if (hit !== undefined) return hit;
  const src = shaderSource(k.family);
  const entry = k.entry ?? 'main';
  const m = new RegExp(`@workgroup_size\\(([^)]*)\\)\\s*(?:\\n\\s*)?fn\\s+${entry}\\s*\\(`).exec(src);
  if (!m) throw new Error(`audit: no @workgroup_size for entry '${entry}' in shaders/${k.family}.wgsl`);
  const dims = m[1].split(',').map((s) => s.trim());
  let n = 1;
  for (const d of dims) {
    if (/^\d+u?$/.test(d)) n *= parseInt(d, 10);
    else if (k.constants && d in k.constants) n *= k.constants[d];
    else {
      const decl = new RegExp(`(?:override|const)\\s+${d}\\s*(?::\\s*\\w+)?\\s*=\\s*(\\d+)u?\\s*;`).exec(src);
      if (!decl) throw new Error(`audit: cannot resolve workgroup size '${d}' of ${key}`);
      n *= parseInt(decl[1], 10);
    }
  }
  wgCache.set(key, n);
  return n;
}

export interface AuditSummary {
  dispatches: number;
  floorMs: number;
  flops: number;
  bytes: number;
  small: number;
  /** floor per kernel family:entry, largest first */
  byKernel: Array<{ kernel: string; calls: number; floorMs: number; share: number; small: number }>;
}

const familyEntry = (kernel: string) => kernel.replace(/\{.*$/, '');

export function summarizeAudit(recs: AuditRecord[]): AuditSummary {
  const floorMs = recs.reduce((a, r) => a + r.floorMs, 0);
  const by = new Map<string, { kernel: string; calls: number; floorMs: number; share: number; small: number }>();
  for (const r of recs) {
    const k = familyEntry(r.kernel);
    let s = by.get(k);
    if (!s) by.set(k, (s = { kernel: k, calls: 0, floorMs: 0, share: 0, small: 0 }));
    s.calls++;
    s.floorMs += r.floorMs;
    if (r.small) s.small++;
  }
  for (const s of by.values()) s.share = s.floorMs / (floorMs || 1);
  return {
    dispatches: recs.length,
    floorMs,
    flops: recs.reduce((a, r) => a + r.flops, 0),
    bytes: recs.reduce((a, r) => a + r.bytes, 0),
    small: recs.filter((r) => r.small).length,
    byKernel: [...by.values()].sort((a, b) => b.floorMs - a.floorMs),
  };
}

/** The per-dispatch table and the per-kernel summary, as printed by `posterior bench --audit`. */
export function formatAudit(recs: AuditRecord[], target: GpuTarget, title: string): string {
  const s = summarizeAudit(recs);
  const lines = [
    `## ${title}: ${s.dispatches} dispatches, ${(s.flops / 1e9).toFixed(1)} GFLOP, ${fmtBytes(s.bytes)} moved; ` +
      `floor at ${target.name} peak (${target.flops / 1e12} TFLOP/s, ${target.bandwidth / 1e12} TB/s): ${s.floorMs.toFixed(3)} ms ` +
      `(+ ${((s.dispatches * target.dispatchUs) / 1e3).toFixed(2)} ms of dispatch overhead at ${target.dispatchUs} µs each); ` +
      `${s.small} dispatches with < ${target.sms} workgroups (marked !)`,
    `${'#'.padStart(4)} ${'dispatch'.padEnd(58)} ${'workgroups'.padStart(10)} ${'invocations'.padStart(11)} ${'GFLOP'.padStart(8)} ${'MB'.padStart(8)} ${'floor µs'.padStart(9)}  bound`,
  ];
  recs.forEach((r, i) => {
    lines.push(
      `${String(i).padStart(4)} ${r.label.slice(0, 58).padEnd(58)} ${String(r.workgroups).padStart(10)}${r.small ? '!' : ' '}${String(r.invocations).padStart(11)} ` +
        `${(r.flops / 1e9).toFixed(3).padStart(8)} ${(r.bytes / 1e6).toFixed(2).padStart(8)} ${(r.floorMs * 1e3).toFixed(2).padStart(9)}  ${r.bound}`,
    );
  });
  lines.push('', `per kernel (floor share, largest first):`);
  lines.push(
    `${'kernel'.padEnd(44)} ${'calls'.padStart(6)} ${'floor ms'.padStart(9)} ${'share'.padStart(6)} ${'small'.padStart(6)}`,
  );
  for (const k of s.byKernel)
    lines.push(
      `${k.kernel.slice(0, 44).padEnd(44)} ${String(k.calls).padStart(6)} ${k.floorMs.toFixed(3).padStart(9)} ${(100 * k.share).toFixed(1).padStart(5)}% ${String(k.small).padStart(6)}`,
    );
  return lines.join('\n');
}
