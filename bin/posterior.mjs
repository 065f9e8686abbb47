#!/usr/bin/env node
// The `posterior` executable, from any working directory (paths resolve against this file, not the cwd).
// - An installed package has no src/: it runs the built JavaScript (dist/node/cli.js) with plain Node.
// - A source checkout runs the TypeScript sources through tsx (a dev dependency), so what runs is always
//   what is checked out — no build step, and no stale dist/ after an edit.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
let cli;
if (existsSync(here('../src/cli/main.ts'))) {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: here('../tsconfig.json') });
  ({ cli } = await import('../src/cli/main.ts'));
} else {
  ({ cli } = await import('../dist/node/cli.js'));
}
await cli();
