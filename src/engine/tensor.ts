// A GPU tensor: a pooled storage buffer plus a shape. Always float32 (or u32 for masks/indices, same size),
// contiguous, row-major (NCHW for images, like PyTorch, so golden files map one-to-one).
//
// Ownership (checked, not a convention): a tensor from `engine.tensor`/`upload` owns a `Storage`; `reshape`
// gives another name for the same tensor (releasing either releases it, releasing both is a double
// release); `view` borrows a range of the storage until `engine.release(view)` (or a reshape of it). Releasing a storage twice, releasing
// it while a view of it is still held, and using a tensor whose storage was released all throw.

/** One pooled allocation and its state. */
export class Storage {
  released = false;
  /** views handed out by Tensor.view and not yet released */
  views = 0;
  /** the engine scope it was allocated in (null: none), see Engine.alongside */
  scope: object | null = null;
  constructor(
    readonly buffer: GPUBuffer,
    readonly label: string,
  ) {}
}

export class Tensor {
  constructor(
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly label: string,
    /** element offset into buffer (views produced by Tensor.view share the buffer) */
    readonly offset = 0,
    /** set on a borrowed view (Tensor.view, shared by its reshapes): releasing it ends the borrow */
    readonly borrow: { ended: boolean } | null = null,
  ) {}

  get isView(): boolean {
    return this.borrow !== null;
  }
  /** The GPU buffer; throws once the storage (or this view's borrow) has been released: use after release. */
  get buffer(): GPUBuffer {
    if (this.released) throw new Error(`tensor '${this.label}' used after release`);
    return this.storage.buffer;
  }
  get released(): boolean {
    return this.storage.released || !!this.borrow?.ended;
  }

  get size(): number {
    return shapeSize(this.shape);
  }
  get byteSize(): number {
    return this.size * 4;
  }
  /** Same memory, another shape of equal size (no copy): another name for this tensor (or view). */
  reshape(shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw new Error(
        `reshape '${this.label}': [${this.shape}] has ${this.size} elements, [${shape}] has ${shapeSize(shape)}`,
      );
    }
    this.buffer; // refuse a released tensor
    return new Tensor(this.storage, shape, this.label, this.offset, this.borrow);
  }
  /** Elements [start, start+count) of the flat tensor as a tensor of the given shape, borrowed until released. */
  view(start: number, shape: readonly number[]): Tensor {
    const n = shapeSize(shape);
    if (start < 0 || start + n > this.size) throw new Error(`view of '${this.label}' out of range`);
    this.buffer; // refuse a released tensor
    this.storage.views++;
    return new Tensor(this.storage, shape, this.label, this.offset + start, { ended: false });
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
