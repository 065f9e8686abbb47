// Shared test setup: one engine per test file (vitest isolates files in workers).
import { Engine, type Variant, type VariantOp } from '../src/engine/index.js';
import { readFileSync } from 'node:fs';
import { afterAll } from 'vitest';
const _afterAll = (globalThis as any).__vitest_worker__ ? afterAll : () => {};

let engine: Promise<Engine> | undefined;
/** One engine per test file; destroyed after the file (Dawn aborts at exit if a device is left alive). */
export function getTestEngine(): Promise<Engine> {
  if (!engine) {
    engine = Engine.create();
    _afterAll(async () => {
      const e = await engine!;
      await e.sync().catch(() => {});
      e.destroy();
      engine = undefined;
    });
  }
  return engine;
}

export const fixture = (p: string) => new URL(`./fixtures/${p}`, import.meta.url);
export const readFixture = (p: string) => new Uint8Array(readFileSync(fixture(p)));

/** max |a - b| / max |b| */
export function relMaxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den || 1);
}

/** Deterministic uniform [-1, 1) values (LCG), for randomized kernel tests. */
export function randomArray(n: number, seed = 1, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/**
 * Runs `fn` once per kernel variant the engine's adapter can run for `op` (as jax-js runs each test on
 * every device), forcing it per call; a variant that does not cover the case's shape is skipped.
 * Returns the variants that ran (the portable one covers every shape, so never none).
 */
export async function eachVariant(
  e: Engine,
  op: VariantOp,
  fn: (variant: Variant) => Promise<void>,
): Promise<Variant[]> {
  const ran: Variant[] = [];
  for (const v of e.adapter.variants(op)) {
    try {
      await fn(v);
    } catch (err) {
      if (v !== 'portable' && /does not cover this shape/.test(String(err))) continue;
      throw err;
    }
    ran.push(v);
  }
  return ran;
}
