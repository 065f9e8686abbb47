// Size-bucketed pool of storage buffers. Buckets are powers of two from 256 B up (≤ 2× waste) and
// 1/8-steps above 1 MiB (≤ 12.5% waste) so that the big UNet activations do not double in size.
// Reuse is safe without fences: WebGPU executes a queue's work in submission order. A buffer released twice
// would be handed to two live tensors: the pool refuses a release of a buffer it has not lent out.

const USAGE = GPUBufferUsageFlags();
function GPUBufferUsageFlags(): number {
  const U = (globalThis as any).GPUBufferUsage;
  // STORAGE | COPY_SRC | COPY_DST, numeric values from the spec (GPUBufferUsage may be undefined at import).
  return U ? U.STORAGE | U.COPY_SRC | U.COPY_DST : 0x80 | 0x04 | 0x08;
}

export function bucketSize(bytes: number): number {
  const b = Math.max(256, bytes);
  if (b <= 1 << 20) return 1 << Math.ceil(Math.log2(b));
  const p = 1 << Math.floor(Math.log2(b));
  const step = p / 8;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private lent = new Set<GPUBuffer>();
  bytesAllocated = 0;
  bytesInUse = 0;
  peakBytesInUse = 0;

  constructor(
    private device: GPUDevice,
    private maxBufferSize: number,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) {
      throw new Error(
        `buffer limit exceeded: '${label}' needs ${fmtBytes(bytes)} but this adapter allows ${fmtBytes(this.maxBufferSize)} per buffer`,
      );
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size, usage: USAGE, label });
      this.bytesAllocated += size;
    }
    this.lent.add(buf);
    this.bytesInUse += size;
    this.peakBytesInUse = Math.max(this.peakBytesInUse, this.bytesInUse);
    return buf;
  }

  release(buf: GPUBuffer): void {
    if (!this.lent.delete(buf))
      throw new Error(`pool: release of buffer '${buf.label}' that is not in use (double release?)`);
    const size = buf.size;
    this.bytesInUse -= size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
  }

  resetPeak(): void {
    this.peakBytesInUse = this.bytesInUse;
  }

  destroyFree(): void {
    for (const list of this.free.values())
      for (const b of list) {
        this.bytesAllocated -= b.size;
        b.destroy();
      }
    this.free.clear();
  }
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
