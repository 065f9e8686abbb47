// Buffer ownership (src/engine/tensor.ts, executor.ts, pool.ts): a double release, releasing a tensor while a
// view of it is held, and using a released tensor throw; scope() frees temporaries; the pool refuses to take
// back a buffer it has not lent out (a double release would hand one buffer to two live tensors).
import { beforeAll, describe, expect, it } from 'vitest';
import { BufferPool, type Engine, type Tensor } from '../src/engine/index.js';
import { copy, scale } from '../src/engine/ops/vector.js';
import { getTestEngine } from './helpers.js';

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

describe('ownership', () => {
  it('a double release throws, also through a reshape (another name for the same tensor)', () => {
    const a = e.tensor([4], 'a');
    e.release(a);
    expect(() => e.release(a)).toThrow(/release of 'a': already released \(double release\)/);
    const b = e.tensor([2, 2], 'b');
    const r = b.reshape([4]);
    e.release(r);
    expect(() => e.release(b)).toThrow(/double release/);
    // the pool itself: a second release would hand one buffer to two live tensors
    const pool = new BufferPool(e.device, 1 << 20);
    const buf = pool.acquire(64, 'c');
    pool.release(buf);
    expect(() => pool.release(buf)).toThrow(/release of buffer 'c' that is not in use \(double release\?\)/);
    pool.destroyFree();
  });

  it('releasing a tensor while a view of it is held throws; releasing the view first is fine', () => {
    const p = e.tensor([8], 'parent');
    const v = p.view(4, [4]);
    const v0 = p.view(0, [2, 2]);
    expect(() => e.release(p)).toThrow(/release of 'parent' while 2 view\(s\) of it are still held/);
    e.release(v, v0.reshape([4]));
    expect(() => e.release(v)).toThrow(/release of view of 'parent': already released/);
    expect(() => e.release(v0)).toThrow(/already released/);
    e.release(p);
  });

  it('using a released tensor throws: run, read, write, view, reshape', async () => {
    const a = e.upload(new Float32Array([1, 2, 3, 4]), [4], 'gone');
    const v = a.view(0, [2]);
    e.release(v);
    expect(() => copy(e, v)).toThrow(/tensor 'gone' used after release/);
    e.release(a);
    expect(() => copy(e, a)).toThrow(/tensor 'gone' used after release/);
    await expect(e.read(a)).rejects.toThrow(/used after release/);
    expect(() => e.write(a, new Float32Array(4))).toThrow(/used after release/);
    expect(() => a.view(0, [2])).toThrow(/used after release/);
    expect(() => a.reshape([2, 2])).toThrow(/used after release/);
  });

  it('scope() frees the temporaries and keeps what it returns', async () => {
    const before = e.pool.bytesInUse;
    const x = e.upload(new Float32Array([1, 2, 3, 4]), [4], 'x');
    let tmp: Tensor | undefined;
    const y = e.scope(() => {
      tmp = scale(e, x, 2);
      return { y: scale(e, tmp, 3) };
    }).y;
    expect(tmp!.released).toBe(true);
    expect(x.released).toBe(false);
    expect([...(await e.read(y))]).toEqual([6, 12, 18, 24]);
    // nested and async: the inner result belongs to the outer scope, which frees it
    let inner: Tensor | undefined;
    const z = await e.scope(async () => {
      inner = e.scope(() => [scale(e, x, 5)])[0];
      await e.sync();
      return scale(e, inner, 1);
    });
    expect(inner!.released).toBe(true);
    expect([...(await e.read(z))]).toEqual([5, 10, 15, 20]);
    // a throwing scope frees everything it allocated
    let lost: Tensor | undefined;
    expect(() =>
      e.scope(() => {
        lost = scale(e, x, 1);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(lost!.released).toBe(true);
    // tensors released inside the scope are not released again
    e.scope(() => e.release(scale(e, x, 1)));
    e.release(x, y, z);
    expect(e.pool.bytesInUse).toBe(before);
  });

  it("an object's lazily built state lives in the scope the object was made in, not the one that built it", () => {
    let owner: Tensor | undefined, lazy: Tensor | undefined;
    e.scope(() => {
      owner = e.tensor([4], 'owner');
      // a later, inner scope triggers the lazy build: it must not free it
      e.scope(() => {
        lazy = e.alongside(owner!, () => e.tensor([4], 'lazy'));
      });
      expect(lazy!.released).toBe(false);
    });
    // the owner's scope ended: both go
    expect(owner!.released).toBe(true);
    expect(lazy!.released).toBe(true);
    // an owner made outside every scope: its lazy state is the owner's to release
    const top = e.tensor([4], 'top');
    let kept: Tensor | undefined;
    e.scope(() => {
      kept = e.alongside(top, () => e.tensor([4], 'kept-lazy'));
    });
    expect(kept!.released).toBe(false);
    e.release(top, kept);
  });

  it('lists the tensors still alive', () => {
    const t = e.tensor([4], 'still-here');
    expect(e.liveTensors().some((s) => s.startsWith('still-here'))).toBe(true);
    e.release(t);
    expect(e.liveTensors().some((s) => s.startsWith('still-here'))).toBe(false);
  });
});
