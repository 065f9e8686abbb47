// `npm run build` (also run by `npm pack` / `npm publish` through prepack): the package's dist/.
//
//   dist/node/     index.js (the library) and cli.js (bin/posterior.mjs) + shared chunks: ESM for Node,
//                  npm packages left as imports (`webgpu` only inside Engine.create, when there is no
//                  navigator.gpu). The files sit two folders below the package root, as the sources do in
//                  src/<dir>/, so the module-relative paths of shaders/, models/ and package.json hold.
//   dist/browser/  index.js: the library for a browser (the `browser` export condition), one ESM file with
//                  every WGSL shader inlined and no Node code: no Dawn, no pngjs, no node: built-ins.
//   dist/types/    the .d.ts of src/index.ts and what it reaches (tsc, tsconfig.build.json).
//
// dist/web/ (the page, node web/build.mjs) is left alone.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { nodeGuardPlugin, ROOT, shadersPlugin } from '../web/bundle-plugins.mjs';

const DIST = join(ROOT, 'dist');
const quiet = process.argv.includes('--quiet');
const log = (s) => void (quiet || console.log(s));

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
  );
}

async function main() {
  const t0 = performance.now();
  for (const d of ['node', 'browser', 'types']) rmSync(join(DIST, d), { recursive: true, force: true });

  const common = { bundle: true, format: 'esm', target: 'es2022', logLevel: 'warning', legalComments: 'none' };
  await build({
    ...common,
    entryPoints: { index: join(ROOT, 'src/index.ts'), cli: join(ROOT, 'src/cli/main.ts') },
    outdir: join(DIST, 'node'),
    platform: 'node',
    target: 'node20',
    splitting: true,
    chunkNames: 'chunk-[hash]',
    // dependencies stay imports: `webgpu` (native, optional), pngjs, yaml …
    packages: 'external',
  });
  await build({
    ...common,
    stdin: {
      contents: `import 'virtual:shaders';\nexport * from './src/index.ts';\n`,
      resolveDir: ROOT,
      sourcefile: 'browser-entry.js',
      loader: 'js',
    },
    outfile: join(DIST, 'browser/index.js'),
    platform: 'browser',
    plugins: [shadersPlugin, nodeGuardPlugin],
  });

  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) throw new Error('tsc -p tsconfig.build.json failed');
  // Sources import './x.ts' in places; a consumer resolves declarations by the .js names.
  for (const f of walk(join(DIST, 'types')).filter((f) => f.endsWith('.d.ts'))) {
    const s = readFileSync(f, 'utf8');
    const t = s.replace(/((?:from\s+|import\()\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2');
    if (t !== s) writeFileSync(f, t);
  }

  const size = (d) => walk(join(DIST, d)).reduce((a, f) => a + statSync(f).size, 0);
  log(
    `built ${relative(ROOT, DIST)}/ in ${(performance.now() - t0).toFixed(0)} ms: node ${(size('node') / 1024).toFixed(0)} KiB, ` +
      `browser ${(size('browser') / 1024).toFixed(0)} KiB, types ${(size('types') / 1024).toFixed(0)} KiB`,
  );
}

main().catch((e) => {
  const errs = e?.errors;
  if (Array.isArray(errs) && errs.length) {
    for (const m of errs)
      console.error(`error: ${m.text}${m.location ? ` (${m.location.file}:${m.location.line})` : ''}`);
  } else console.error(`error: ${e?.message ?? e}`);
  process.exit(1);
});
