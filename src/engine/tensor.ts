// A GPU tensor: a pooled storage buffer plus a shape. Always float32 (or u32 for masks/indices, same size),
// contiguous, row-major (NCHW for images, like PyTorch, so golden files map one-to-one).

export class Tensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly label: string,
    /** element offset into buffer (views produced by Tensor.view share the buffer) */
    readonly offset = 0,
  ) {}

  get size(): number {
    return shapeSize(this.shape);
  }
  get byteSize(): number {
    return this.size * 4;
  }
  /** Same memory, another shape of equal size (no copy). */
  reshape(shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw new Error(
        `reshape '${this.label}': [${this.shape}] has ${this.size} elements, [${shape}] has ${shapeSize(shape)}`,
      );
    }
    return new Tensor(this.buffer, shape, this.label, this.offset);
  }
  /** Elements [start, start+count) of the flat tensor as a tensor of the given shape. */
  view(start: number, shape: readonly number[]): Tensor {
    const n = shapeSize(shape);
    if (start < 0 || start + n > this.size) throw new Error(`view of '${this.label}' out of range`);
    return new Tensor(this.buffer, shape, this.label, this.offset + start);
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertShape(t: { shape: readonly number[] }, want: readonly number[], what: string): void {
  if (!sameShape(t.shape, want)) throw new Error(`${what}: expected shape [${want}], got [${t.shape}]`);
}
