// Shared test setup: one engine per test file (vitest isolates files in workers).
import { Engine, type Variant, type VariantOp } from '../src/engine/index.js';
import { readFileSync } from 'node:fs';

let engine: Promise<Engine> | undefined;
/** One engine per test file; closed after the file by test/setup.ts (closeTestEngine). */
export function getTestEngine(): Promise<Engine> {
  engine ??= Engine.create();
  return engine;
}

/** The file's engine if one was created (test/setup.ts). */
export function currentTestEngine(): Promise<Engine> | undefined {
  return engine;
}

/**
 * After each test file (test/setup.ts): every tensor the file allocated must have been released (the pool's
 * bytes in use back to zero once the engine's own caches are freed), then the engine is destroyed (Dawn
 * aborts at exit if a device is left alive).
 */
export async function closeTestEngine(): Promise<void> {
  if (!engine) return;
  const e = await engine;
  engine = undefined;
  await e.sync().catch(() => {});
  const inUse = e.liveBytes;
  const live = e.liveTensors();
  e.destroy();
  if (inUse !== 0 || e.pool.bytesInUse !== 0) {
    const shown = live.slice(0, 12).join(', ') + (live.length > 12 ? `, … (${live.length} tensors)` : '');
    throw new Error(`pool memory leaked by this test file: ${inUse} bytes in use at its end: ${shown}`);
  }
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
