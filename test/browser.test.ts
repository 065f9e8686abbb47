// The browser page (web/) in headless Chromium: the bundle builds, the page finds a WebGPU adapter, and the
// same src/ code computes the same numbers in the page as on Node — vector ops, a UNet forward pass of the
// bundled prior, and a short sampling run driven through the page's UI. Skips (with the reason) when
// Chromium cannot be installed or started, or exposes no WebGPU adapter; runs for real wherever it can.
//
// Chromium's WebGPU here is Dawn on SwiftShader (its bundled CPU Vulkan), Node's is Dawn on Mesa lavapipe:
// two compilers of the same WGSL, so results agree to rounding (FMA contraction, exp/log/rsqrt), not bits.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PNG } from 'pngjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { readMeasurement } from '../src/cli/measure-file.js';
import { loadFmnistFixture } from '../src/io/fmnist.js';
import { fitImage } from '../src/io/pixels.js';
import { decodePng, toByte } from '../src/io/png.js';
import { createOperator, measure } from '../src/operators/index.js';
import { Stream } from '../src/samplers/noise.js';
import { buildWeb, DEFAULT_MODEL } from '../web/build.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../web/chromium.mjs';
import { unetProbe, vectorProbe, type VectorProbeInput } from '../web/probes.js';
import { loadPrior, runPosterior, type RunSpec } from '../web/pipeline.js';
import { serve, type StaticServer } from '../web/serve.mjs';
import { getTestEngine, randomArray, relMaxErr } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** DPS page vs Node: with the page's random numbers replayed on Node, and with each side's own draws (see the test) */
const TOL_SAME_NOISE = 1e-3;
const TOL_SAME_SEED = 2e-2;
/** the page after the test's short run (the committed docs/browser-screenshot.png comes from web/screenshot.mjs) */
const SCREENSHOT = join(ROOT, 'dist/browser-test.png');

type Setup = { ok: true; browser: Browser; server: StaticServer } | { ok: false; reason: string };

async function startBrowser(): Promise<Setup> {
  if (!existsSync(CHROMIUM)) {
    const r = spawnSync('bash', [join(ROOT, 'scripts/ensure-chromium.sh')], {
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, CHROMIUM },
    });
    if (r.status !== 0 || !existsSync(CHROMIUM)) {
      const why = (r.stderr || r.error?.message || 'no output').trim().split('\n').pop();
      return {
        ok: false,
        reason: `no Chromium at ${CHROMIUM}, and scripts/ensure-chromium.sh could not install it (${why})`,
      };
    }
  }
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return { ok: false, reason: 'playwright-core is not installed (npm install)' };
  }
  const server = await serve();
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  } catch (e) {
    await server.close();
    return {
      ok: false,
      reason: `Chromium at ${CHROMIUM} does not start: ${String((e as Error).message).split('\n')[0]}`,
    };
  }
  // any page of http://127.0.0.1 is a secure context, which navigator.gpu requires (about:blank is not)
  const page = await browser.newPage();
  await page.goto(`${server.url}adapter-probe`);
  const missing = await page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) return 'navigator.gpu is undefined';
    return (await gpu.requestAdapter()) ? null : 'requestAdapter() returned null';
  });
  await page.close();
  if (missing) {
    await browser.close();
    await server.close();
    return { ok: false, reason: `headless Chromium exposes no WebGPU adapter (${missing})` };
  }
  return { ok: true, browser, server };
}

const setup = await startBrowser();
if (!setup.ok) console.warn(`[browser.test] SKIPPED: ${setup.reason}`);

describe.skipIf(!setup.ok)('browser page on headless Chromium WebGPU: same kernels, same numbers as Node', () => {
  const { browser, server } = setup as Extract<Setup, { ok: true }>;
  let e: Engine;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    e = await getTestEngine();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('bundles web/main.ts for the browser: every WGSL family inlined, no Node module', async () => {
    const b = await buildWeb({ quiet: true });
    expect(b.inputs.filter((p) => p.startsWith('node:') || p.includes('node_modules/webgpu'))).toEqual([]);
    expect(b.inputs).toContain('src/engine/executor.ts');
    const js = readFileSync(join(b.outDir, 'main.js'), 'utf8');
    for (const f of readdirSync(join(ROOT, 'shaders')).filter((f) => f.endsWith('.wgsl'))) {
      expect(js, `shaders/${f} inlined`).toContain(`${JSON.stringify(f.slice(0, -5))}:`);
    }
    expect(existsSync(join(b.outDir, 'models/fmnist-unet.safetensors'))).toBe(true);
    console.log(
      `[browser.test] bundle ${(b.bundleBytes / 1024).toFixed(0)} KiB, ${b.inputs.length} modules, built in ${b.ms.toFixed(0)} ms`,
    );
  });

  it('opens the page: WebGPU adapter, the bundled prior and a test image decoded exactly', async () => {
    page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => void (m.type() === 'error' && pageErrors.push(m.text())));
    await page.goto(server.url);
    await page.waitForFunction(() => ['ready', 'error'].includes((window as any).dps?.state), null, {
      timeout: 90_000,
    });
    // (page.evaluate callbacks run in the page: `window.dps` is web/main.ts's test hook)
    const st = await page.evaluate(() => {
      const d = (window as any).dps;
      return {
        state: d.state,
        error: d.error,
        adapter: d.adapter,
        summary: d.prior?.summary,
        image: d.image && Array.from(d.image.data as Float32Array),
      };
    });
    expect(st.error).toBeUndefined();
    expect(st.state).toBe('ready');
    console.log(
      `[browser.test] page adapter: ${st.adapter.description}; timestamps ${st.adapter.timestamps}; prior ${st.summary}`,
    );
    // the bundled PNG, decoded by the browser, is exactly test image 0 of the committed fixture
    const fx = loadFmnistFixture();
    expect(st.image).toEqual(Array.from(fx.x.subarray(0, 32 * 32)));
  });

  it('vector ops and seeded randn equal Node', async () => {
    const rows = 3,
      per = 1000;
    const input: VectorProbeInput = {
      x: Array.from(randomArray(rows * per, 11)),
      y: Array.from(randomArray(rows * per, 12)),
      rows,
      a: 0.7,
      b: -1.3,
      seed: 1234,
    };
    const inPage = await page.evaluate(
      async (p) => (window as any).dps.vectorProbe((window as any).dps.engine, p),
      input,
    );
    const onNode = await vectorProbe(e, input);
    // Elementwise a·x + b·y and the clamp: one rounding each, or one fused multiply-add: ≤ 1 ulp apart.
    expect(relMaxErr(inPage.lincomb, onNode.lincomb)).toBeLessThan(2e-7);
    expect(relMaxErr(inPage.clamp, onNode.clamp)).toBeLessThan(2e-7);
    // Reductions: same workgroup tree on both sides; FMA contraction may differ per partial sum.
    expect(relMaxErr(inPage.sumsq, onNode.sumsq)).toBeLessThan(1e-6);
    expect(relMaxErr(inPage.dot, onNode.dot)).toBeLessThan(1e-6);
    // Philox is integer arithmetic: uniform and Rademacher draws are bit-identical.
    expect(inPage.uniform).toEqual(onNode.uniform);
    expect(inPage.rademacher).toEqual(onNode.rademacher);
    // Box–Muller's cos/sin/log are only as exact as WGSL requires: SwiftShader's cos and sin err by up to
    // 1.9e-4 absolute (measured; WGSL allows 2^-11 = 4.9e-4), times r = √(−2 log u) ≤ 5.4 for the 23-bit
    // uniforms — ≤ 1e-3 absolute, ≤ 2.5e-4 of max|z| ≈ 4 here; lavapipe's agree with float64 to 1e-6.
    expect(relMaxErr(inPage.randn, onNode.randn)).toBeLessThan(5e-4);
  });

  it('UNet forward on the bundled Fashion-MNIST prior equals Node (1e-4 relative)', async () => {
    const prior = loadPrior(e, new Uint8Array(readFileSync(DEFAULT_MODEL)), 'fmnist-unet');
    const fx = loadFmnistFixture();
    // two images, two noise levels: x_t = √ᾱ x0 + √(1−ᾱ) z with a fixed z, at t = 999 and t = 250
    const z = randomArray(2 * 32 * 32, 5);
    const x = Array.from({ length: 2 * 1024 }, (_, i) =>
      i < 1024 ? 0.02 * fx.x[i] + z[i] : 0.6 * fx.x[i] + 0.8 * z[i],
    );
    const t = [999, 250];
    const t0 = performance.now();
    const inPage: number[] = await page.evaluate(
      async ({ x, t }) =>
        (window as any).dps.unetProbe((window as any).dps.engine, (window as any).dps.prior.model, x, t),
      { x, t },
    );
    const pageMs = performance.now() - t0;
    const onNode = await unetProbe(e, prior.model, x, t);
    const err = relMaxErr(inPage, onNode);
    console.log(
      `[browser.test] UNet forward: page vs Node max|Δ|/max|ref| = ${err.toExponential(2)} (page ${pageMs.toFixed(0)} ms incl. compile)`,
    );
    // float32 on both sides through ~30 layers; the differences are rounding of the same operations
    // (FMA contraction, exp in SiLU/softmax, rsqrt in GroupNorm), each ~1e-7 relative, grown by the depth.
    expect(err).toBeLessThan(1e-4);
  });

  it('a 2-step DPS run through the page UI equals the same run on Node (seeded), and is screenshotted', async () => {
    // 2 steps: SwiftShader takes ~25 s per DPS step on this machine (lavapipe on Node ~1 s); the first step
    // is a full guided step with fresh noise, the second the noiseless last step.
    const steps = 2;
    const spec: RunSpec = { task: 'inpaint-box', method: 'dps', steps, seed: 7, sigmaY: 0.05, previewEvery: 1 };
    await page.selectOption('#image-select', 'fmnist-0.png');
    await page.selectOption('#task', spec.task);
    await page.selectOption('#method', spec.method);
    await page.fill('#steps', String(spec.steps));
    await page.fill('#seed', String(spec.seed));
    await page.fill('#sigma-y', String(spec.sigmaY));
    await page.fill('#preview-every', String(spec.previewEvery));
    await page.check('#profile');
    await page.click('#run');
    await page.waitForFunction(() => ['done', 'error'].includes((window as any).dps.state), null, { timeout: 120_000 });
    const got = await page.evaluate(() => {
      const d = (window as any).dps;
      return {
        state: d.state,
        error: d.error,
        spec: d.lastSpec,
        x0: d.lastResult && Array.from(d.lastResult.x0 as Float32Array),
        profile: d.lastProfile,
        seconds: d.lastResult?.seconds,
        warmup: d.lastResult?.warmup,
        firstStep: d.lastResult?.firstStepSeconds,
      };
    });
    expect(got.error).toBeUndefined();
    expect(got.spec).toEqual(spec);
    console.log(
      `[browser.test] DPS ${steps} steps: warm-up ${got.warmup?.kernels} kernels in ${got.warmup?.seconds.toFixed(1)} s, first step ${got.firstStep?.toFixed(1)} s`,
    );
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // The page's own random numbers: measurement noise (stream 0, as the CLI), x_T and the step noise.
    const size = 32 * 32;
    const offsets = [0, Stream.XT * 2 ** 32, ...Array.from({ length: steps - 1 }, (_, i) => Stream.Step * 2 ** 32 + i)];
    const draws: number[][] = await page.evaluate(
      async ({ size, seed, offsets }) =>
        (window as any).dps.noiseDraws((window as any).dps.engine, size, seed, offsets),
      { size, seed: spec.seed, offsets },
    );

    const prior = loadPrior(e, new Uint8Array(readFileSync(DEFAULT_MODEL)), 'fmnist-unet');
    const fx = loadFmnistFixture();
    const truth = { data: fx.x.slice(0, size), shape: [1, 32, 32] as [number, number, number] };
    const replay = {
      yNoise: Float32Array.from(draws[0]),
      xT: Float32Array.from(draws[1]),
      stepNoise: Float32Array.from(draws.slice(2).flat()),
    };
    const sameNoise = await runPosterior(prior, truth, spec, {}, replay);
    const ownNoise = await runPosterior(prior, truth, spec);
    const errSame = relMaxErr(got.x0!, sameNoise.x0);
    const errOwn = relMaxErr(got.x0!, ownNoise.x0);
    console.log(
      `[browser.test] DPS ${spec.steps} steps: page ${got.seconds?.toFixed(1)} s; page vs Node, max|Δ|/max|ref|: ${errSame.toExponential(2)} with the page's random numbers replayed, ` +
        `${errOwn.toExponential(2)} with Node's own draws of the same seed; profile: ${got.profile?.dispatches} dispatches, ${got.profile?.kernels} kernels (${got.profile?.source})`,
    );
    // Same random numbers: the remaining difference is rounding in the UNet forward/backward (1e-6 level,
    // above) amplified by DPS: x̂₀ = (x_t − √(1−ᾱ)ε)/√ᾱ multiplies ε's error by √(1/ᾱ−1) ≈ 156 at t = 999.
    expect(errSame).toBeLessThan(TOL_SAME_NOISE);
    // Same seed, each device's own draws: SwiftShader's Box–Muller normals differ by up to ~1e-3 (above),
    // and x_T's difference passes through the same 1/√ᾱ amplification — the seeds agree, the bits do not.
    expect(errOwn).toBeLessThan(TOL_SAME_SEED);
    expect(got.profile?.kernels).toBeGreaterThan(5);
    expect(pageErrors).toEqual([]);
  });

  it('takes a 64×64 colour PNG, runs phase retrieval with DDIM updates, and downloads result, measurement and trace', async () => {
    // a colour picture of another size than the model's: test image 1 at 2×, tinted
    const fx = loadFmnistFixture();
    const png = new PNG({ width: 64, height: 64 });
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++) {
        const u = Math.round((fx.x[1024 + (y >> 1) * 32 + (x >> 1)] + 1) * 127.5);
        png.data.set([u, Math.round(0.6 * u), 255 - u, 255], 4 * (y * 64 + x));
      }
    const pngBytes = PNG.sync.write(png);
    const tmp = mkdtempSync(join(tmpdir(), 'posterior-page-'));
    const pngPath = join(tmp, 'colour-64.png');
    writeFileSync(pngPath, pngBytes);
    await page.setInputFiles('#image-file', pngPath);
    await page.waitForFunction(() => (window as any).dps.imageSource?.name === 'colour-64.png');
    const img = await page.evaluate(() => {
      const d = (window as any).dps;
      return { data: Array.from(d.image.data as Float32Array), source: d.imageSource };
    });
    expect(img.source).toEqual({ name: 'colour-64.png', width: 64, height: 64, fit: 'resized' });
    // the page reads the picture as the CLI does (decodePng: BT.601 gray), fitted to 32×32 (2×2 means)
    const cli = decodePng(new Uint8Array(pngBytes), { channels: 1 });
    expect(img.data).toEqual(Array.from(fitImage(cli.data, [1, 64, 64], 32).data));

    // phase retrieval, DSG (DDIM updates) with η = 0 over a 2-step DDIM respacing
    await page.selectOption('#task', 'phase');
    await page.selectOption('#method', 'dsg');
    await page.fill('#steps', 'ddim2');
    await page.fill('#eta', '0');
    await page.fill('#seed', '3');
    await page.fill('#sigma-y', '0.05');
    await page.fill('#preview-every', '1');
    await page.uncheck('#profile');
    await page.click('#run');
    await page.waitForFunction(() => ['done', 'error'].includes((window as any).dps.state), null, { timeout: 240_000 });
    const got = await page.evaluate(() => {
      const d = (window as any).dps;
      return {
        error: d.error,
        spec: d.lastSpec,
        x0: d.lastResult && Array.from(d.lastResult.x0 as Float32Array),
        trace: d.lastResult?.trace,
        warmup: d.lastResult?.warmup,
        firstStep: d.lastResult?.firstStepSeconds,
        seconds: d.lastResult?.seconds,
        status: document.getElementById('status')!.textContent,
        timing: document.getElementById('timing')!.textContent,
      };
    });
    expect(got.error).toBeUndefined();
    expect(got.spec).toEqual({
      task: 'phase',
      method: 'dsg',
      steps: 'ddim2',
      seed: 3,
      sigmaY: 0.05,
      previewEvery: 1,
      eta: 0,
      operator: { pad: 64 },
    });
    console.log(
      `[browser.test] phase retrieval, DSG ddim2: warm-up ${got.warmup.kernels} kernels in ${got.warmup.seconds.toFixed(1)} s, ` +
        `first step ${got.firstStep.toFixed(1)} s, run ${got.seconds.toFixed(1)} s · ${got.timing}`,
    );
    expect(got.x0!.every(Number.isFinite)).toBe(true);
    expect(got.trace.map((r: { step: number }) => r.step)).toEqual([1, 2]);
    // the warm-up compiled what earlier runs of this page had not (phase retrieval's FFT kernels at least)
    expect(got.warmup.kernels).toBeGreaterThan(0);
    expect(got.status).toMatch(/^done in \d+:\d\d /);
    expect(got.timing).toMatch(/first step \d+\.\d\d s/);

    const save = async (button: string) => {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      const path = join(tmp, dl.suggestedFilename());
      await dl.saveAs(path);
      return path;
    };
    // the result: a PNG of x₀ (8-bit, as `posterior sample` writes it)
    const resultPath = await save('#dl-result');
    expect(resultPath.endsWith('phase-dsg-ddim2-seed3.png')).toBe(true);
    const result = PNG.sync.read(readFileSync(resultPath));
    expect([result.width, result.height]).toEqual([32, 32]);
    expect(Array.from({ length: 32 * 32 }, (_, i) => result.data[4 * i])).toEqual(got.x0!.map(toByte));
    // the measurement: a file `posterior sample --measurement` reads, y as Node computes it
    const measPath = await save('#dl-measurement');
    const m = readMeasurement(measPath);
    expect([m.task, m.sigmaY, m.noise, m.opts.pad]).toEqual(['phase', 0.05, 'gaussian', 64]);
    expect(m.y.shape).toEqual([1, 1, 160, 160]);
    const op = createOperator('phase', { pad: 64, seed: 3 }, e, [1, 1, 32, 32]);
    const truth = e.upload(Float32Array.from(img.data), [1, 1, 32, 32]);
    const yNode = measure(e, op, truth, { kind: 'gaussian', level: 0.05 }, 3).y;
    // |F P x| through two WGSL compilers; the noise's Box–Muller differs by ≤ 1e-3 × σ_y (see above)
    expect(relMaxErr(m.y.data, await e.read(yNode))).toBeLessThan(1e-4);
    e.release(truth, yNode);
    op.destroy();
    // the trace: settings, timings and ‖y − A x̂₀‖ per step
    const trace = JSON.parse(readFileSync(await save('#dl-trace'), 'utf8'));
    expect(trace.spec).toEqual(got.spec);
    expect(trace.steps).toEqual(got.trace);
    expect(trace.warmup).toEqual(got.warmup);
    rmSync(tmp, { recursive: true, force: true });
    expect(pageErrors).toEqual([]);
  });
});

if (!setup.ok) it.skip(`browser page: ${setup.reason}`, () => {});
