#!/usr/bin/env node
// The `posterior` executable: runs the TypeScript sources directly through tsx (no build step), from any
// working directory (paths below resolve against this file, not the cwd).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { cli } = await import('../src/cli/main.ts');
await cli();
