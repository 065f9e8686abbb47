// Runs in every test file before its own code.
// - Each test runs in an engine scope: the tensors it allocates and does not release are released after it
//   (what a test keeps across tests must come from beforeAll).
// - After the whole file (registered first, so after the file's own afterAll hooks): every tensor allocated
//   outside the tests (beforeAll: models, operators) must have been released — the pool's bytes in use back
//   to zero — and the engine is closed.
import { afterAll, afterEach, beforeEach } from 'vitest';
import type { ScopeToken } from '../src/engine/index.js';
import { closeTestEngine, currentTestEngine } from './helpers.js';

let open: { e: Awaited<ReturnType<typeof currentTestEngine>>; token: ScopeToken } | null = null;
beforeEach(async () => {
  const e = await currentTestEngine();
  open = e ? { e, token: e.beginScope() } : null;
});
afterEach(() => {
  if (open?.e) open.e.endScope(open.token);
  open = null;
});
afterAll(closeTestEngine);
