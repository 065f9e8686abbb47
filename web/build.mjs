// Builds the browser page into dist/web/: one ESM bundle of web/main.ts (esbuild), the static files, the
// default model weights and a few Fashion-MNIST test images as PNG.
//
//   node web/build.mjs            (then: node web/serve.mjs, open the printed URL in a WebGPU browser)
//
// The bundle runs the same src/ engine, kernels and samplers as Node. Two things differ in a browser
// (web/bundle-plugins.mjs, shared with the library's browser build): WGSL is inlined, and Node-only
// packages and modules are stubbed; a Node built-in reaching the bundle fails the build.
import { build as esbuild } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { nodeGuardPlugin, ROOT, shadersPlugin } from './bundle-plugins.mjs';

export const OUT_DIR = join(ROOT, 'dist/web');
export const DEFAULT_MODEL = join(ROOT, 'models/fmnist-unet.safetensors');
const FMNIST_FIXTURE = join(ROOT, 'test/fixtures/fmnist/test10k-first16.safetensors');
const FMNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
/** bundled test images: the first N of the committed fixture */
const N_IMAGES = 8;

/** The first `n` images of the committed Fashion-MNIST fixture as 32×32 gray PNGs (+ index.json). */
function writeTestImages(dir, n) {
  const bytes = readFileSync(FMNIST_FIXTURE);
  const hlen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + hlen).toString('utf8'));
  const tensor = (name, dtype, Arr) => {
    const t = header[name];
    if (!t || t.dtype !== dtype) throw new Error(`${FMNIST_FIXTURE}: expected ${dtype} tensor '${name}'`);
    const [a, b] = t.data_offsets;
    const raw = bytes.subarray(8 + hlen + a, 8 + hlen + b);
    return { shape: t.shape, data: new Arr(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
  };
  const x = tensor('x', 'F32', Float32Array);
  const labels = tensor('labels', 'I32', Int32Array);
  const [count, , H, W] = x.shape;
  mkdirSync(dir, { recursive: true });
  const index = [];
  for (let k = 0; k < Math.min(n, count); k++) {
    const png = new PNG({ width: W, height: H, colorType: 0, inputColorType: 0, inputHasAlpha: false });
    // gray PNG: byte u with x = u/127.5 − 1 (the fixture's values are exactly that, so this is lossless)
    png.data = Buffer.from(
      Array.from(x.data.subarray(k * H * W, (k + 1) * H * W), (v) =>
        Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))),
      ),
    );
    const label = FMNIST_CLASSES[labels.data[k]] ?? String(labels.data[k]);
    const file = `fmnist-${k}.png`;
    writeFileSync(join(dir, file), PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
    index.push({ file, label: `#${k} ${label}` });
  }
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index, null, 1));
  return index.length;
}

/** Build dist/web. Returns the output directory and what went into it. */
export async function buildWeb({ outDir = OUT_DIR, minify = false, quiet = false } = {}) {
  const t0 = performance.now();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await esbuild({
    entryPoints: { main: join(ROOT, 'web/main.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: outDir,
    sourcemap: true,
    minify,
    metafile: true,
    logLevel: 'silent',
    plugins: [shadersPlugin, nodeGuardPlugin],
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(ROOT, 'web', f), join(outDir, f));
  mkdirSync(join(outDir, 'models'), { recursive: true });
  copyFileSync(DEFAULT_MODEL, join(outDir, 'models/fmnist-unet.safetensors'));
  const images = writeTestImages(join(outDir, 'images'), N_IMAGES);
  const bundleBytes = readFileSync(join(outDir, 'main.js')).length;
  const inputs = Object.keys(result.metafile.inputs);
  const ms = performance.now() - t0;
  if (!quiet) {
    console.log(
      `built ${relative(ROOT, outDir)}/ in ${ms.toFixed(0)} ms: main.js ${(bundleBytes / 1024).toFixed(0)} KiB from ${inputs.length} modules, ${images} test images, default model`,
    );
  }
  return { outDir, bundleBytes, inputs, images, ms, warnings: result.warnings };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await buildWeb({ minify: process.argv.includes('--minify') });
  } catch (e) {
    // esbuild's own errors carry file:line; print them without a stack trace
    const errs = e?.errors;
    if (Array.isArray(errs) && errs.length) {
      for (const m of errs)
        console.error(`error: ${m.text}${m.location ? ` (${m.location.file}:${m.location.line})` : ''}`);
    } else console.error(`error: ${e?.message ?? e}`);
    process.exit(1);
  }
}
