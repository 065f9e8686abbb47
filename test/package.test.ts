// The npm package as a user gets it: `npm pack` (which builds dist/ through prepack), the tarball unpacked
// into an empty project, and then, with plain Node and no TypeScript loader:
// - the Node example of docs/api.md (docs/examples/reconstruct.mjs) reconstructs an image, with the same
//   numbers as the same code run from the sources in this process;
// - `posterior --help` through the package's bin;
// - a TypeScript consumer type-checks against the shipped .d.ts (strict, skipLibCheck off);
// - the browser example (docs/examples/browser.mjs) bundles with esbuild for a browser, through the
//   `browser` export condition, with no Dawn (npm `webgpu`) and no Node built-in in the bundle.
//
// The project is populated the way npm lays it out, without the network: the tarball is extracted to
// node_modules/webgpu-dps, each dependency the packed package.json names is linked from this checkout's
// node_modules, and the bin is linked into node_modules/.bin. (`npm i ./webgpu-dps-*.tgz` itself needs the
// registry for the dependencies' metadata; docs/api.md records a run of it.)
import { execFileSync, spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = join(ROOT, 'docs/examples');
/** the bound on what a user downloads */
const MAX_TARBALL_BYTES = 8 * 1024 * 1024;

let dir: string;
let tarball: string;
let files: string[];
let pkg: {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bin: Record<string, string>;
};

/** Plain Node in the consumer project: no tsx, no loader inherited from the test runner. */
function node(args: string[], cwd = dir) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'posterior-consumer-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const info = JSON.parse(out)[0] as { filename: string; files: Array<{ path: string }> };
  tarball = join(dir, info.filename);
  files = info.files.map((f) => f.path);

  const mod = join(dir, 'node_modules');
  const target = join(mod, 'webgpu-dps');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components', '1']);
  pkg = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
    const link = join(mod, dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(realpathSync(join(ROOT, 'node_modules', dep)), link, 'dir');
  }
  mkdirSync(join(mod, '.bin'));
  for (const [name, rel] of Object.entries(pkg.bin))
    symlinkSync(join('..', 'webgpu-dps', rel), join(mod, '.bin', name));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // the examples as a user copies them into their project
  for (const f of ['reconstruct.mjs', 'browser.mjs', 'ankle-boot.png']) copyFileSync(join(EXAMPLES, f), join(dir, f));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the build, shaders, embedded model, docs and licence — and no test fixtures — under 8 MB', () => {
    const size = statSync(tarball).size;
    console.log(`[package.test] ${tarball.split('/').pop()}: ${(size / 1e6).toFixed(2)} MB, ${files.length} files`);
    expect(size).toBeLessThan(MAX_TARBALL_BYTES);
    for (const f of [
      'package.json',
      'LICENSE',
      'README.md',
      'bin/posterior.mjs',
      'dist/node/index.js',
      'dist/node/cli.js',
      'dist/browser/index.js',
      'dist/types/src/index.d.ts',
      'models/fmnist-unet.safetensors',
      'shaders/vector.wgsl',
      'docs/api.md',
      'docs/examples/reconstruct.mjs',
    ])
      expect(files, f).toContain(f);
    // the one fixture shipped is the demo's 16 Fashion-MNIST test images (66 kB)
    expect(files.filter((f) => f.startsWith('test/') && !f.endsWith('README.md'))).toEqual([
      'test/fixtures/fmnist/test10k-first16.safetensors',
    ]);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('dist/web/'))).toEqual([]);
  });

  it('runs the Node example with plain node: the same reconstruction as the sources give', async () => {
    const steps = 10;
    const r = node(['reconstruct.mjs', 'ankle-boot.png', String(steps), 'ddrm']);
    expect(r.status, r.stderr).toBe(0);
    const m = /PSNR (-?[\d.]+) dB/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const fromPackage = Number(m![1]);
    expect(existsSync(join(dir, 'result.png'))).toBe(true);

    // the example's steps, from the sources
    const engine = await lib.Engine.create();
    const model = await lib.loadModel(engine);
    const [C, S] = [model.imageShape[0], model.imageShape[1]];
    const png = lib.decodePng(readFileSync(join(EXAMPLES, 'ankle-boot.png')), { channels: C as 1 | 3 });
    const truth = lib.fitImage(png.data, [C, png.shape[2], png.shape[3]], S);
    const x = engine.upload(truth.data, [1, C, S, S], 'truth');
    const operator = lib.createOperator('inpaint-box', { seed: 1 }, engine, [1, C, S, S]);
    const noise = { kind: 'gaussian', level: 0.05 } as const;
    const { y } = lib.measure(engine, operator, x, noise, 1);
    const res = await lib.sample({ model, operator, noise, y, method: 'ddrm', steps, seed: 1 });
    const fromSources = lib.psnr(await engine.read(res.x0), truth.data);
    engine.destroy();
    console.log(
      `[package.test] example, DDRM ${steps} steps: ${fromPackage} dB (package), ${fromSources.toFixed(2)} dB (sources)`,
    );
    // same device, same kernels, same seeds: the printed PSNR (2 decimals) is the sources' value
    expect(fromPackage).toBeCloseTo(fromSources, 2);
    // a reconstruction, not noise: the prior fills a 16×16 hole in a 32×32 image well above 15 dB
    expect(fromPackage).toBeGreaterThan(15);
  });

  it('runs the CLI through the package bin with plain node', () => {
    const r = node([join(dir, 'node_modules/.bin/posterior'), '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: posterior <command>/);
    const v = node([join(dir, 'node_modules/.bin/posterior'), '--version']);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('type-checks a TypeScript consumer against the shipped declarations', () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { Engine, METHOD_NAMES, TASKS, createOperator, loadModel, measure, sample, psnr, type MethodName, type SampleOptions, type Task } from 'webgpu-dps';

export async function run(task: Task, method: MethodName): Promise<number> {
  const engine = await Engine.create();
  const model = await loadModel(engine, 'weights.safetensors');
  const [C, H, W] = model.imageShape;
  const truth = new Float32Array(C * H * W);
  const x = engine.upload(truth, [1, C, H, W]);
  const operator = createOperator(task, { seed: 0 }, engine, [1, C, H, W]);
  const noise = { kind: 'gaussian', level: 0.05 } as const;
  const { y } = measure(engine, operator, x, noise, 0);
  const opts: SampleOptions = { model, operator, noise, y, method, steps: 20 };
  const { x0 } = await sample(opts);
  return psnr(await engine.read(x0), truth);
}
export const everything: Array<[Task, string]> = TASKS.flatMap((t) => METHOD_NAMES.map((m): [Task, string] => [t, m]));
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          lib: ['ES2022', 'DOM'],
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    const r = node([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('bundles the browser example for a browser with no Dawn and no Node built-in', async () => {
    const res = await build({
      entryPoints: [join(dir, 'browser.mjs')],
      absWorkingDir: dir,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(res.metafile.inputs);
    const js = res.outputFiles[0].text;
    console.log(
      `[package.test] browser example bundle: ${(js.length / 1024).toFixed(0)} KiB from ${inputs.length} modules`,
    );
    expect(inputs.some((p) => p.endsWith('webgpu-dps/dist/browser/index.js'))).toBe(true);
    expect(inputs.filter((p) => /node_modules\/(webgpu|pngjs)\//.test(p) || p.startsWith('node:'))).toEqual([]);
    expect(js).not.toMatch(/dawn\.node|from\s*["']webgpu["']|import\(\s*["']webgpu["']\s*\)|["']node:/);
    // every WGSL family is inlined (the browser cannot read shaders/ from disk)
    expect(js).toContain('registerShaderSources');
  });
});
