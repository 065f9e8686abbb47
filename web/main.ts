// The page: pick a prior, an image, a task and a method; run the sampler on navigator.gpu with live x̂₀
// previews and show the per-kernel profile. All computation is src/ (the same engine, kernels and samplers
// as on Node); this file only moves pixels and DOM. `window.dps` exposes state and probes to the browser
// test (test/browser.test.ts).
import 'virtual:shaders';
import { Engine, formatKernelTable, summarize, type KernelRecord } from '../src/engine/index.ts';
import { psnr, ssim } from '../src/io/metrics.ts';
import { modelToRgba, rgbaToModel, type ModelImage } from './image.ts';
import {
  DEFAULT_CMI_ETA,
  METHODS,
  StoppedError,
  loadPrior,
  runPosterior,
  type Prior,
  type RunResult,
  type RunSpec,
  type Task,
} from './pipeline.ts';
import { noiseDraws, unetProbe, vectorProbe } from './probes.ts';

const $ = <T extends HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: no element #${id}`);
  return el as T;
};
const ui = {
  adapter: $('adapter'),
  modelSource: $<HTMLSelectElement>('model-source'),
  modelFile: $<HTMLInputElement>('model-file'),
  modelInfo: $('model-info'),
  imageSelect: $<HTMLSelectElement>('image-select'),
  imageFile: $<HTMLInputElement>('image-file'),
  task: $<HTMLSelectElement>('task'),
  method: $<HTMLSelectElement>('method'),
  cmiRow: $('cmi-row'),
  cmiEta: $<HTMLInputElement>('cmi-eta'),
  steps: $<HTMLInputElement>('steps'),
  seed: $<HTMLInputElement>('seed'),
  sigmaY: $<HTMLInputElement>('sigma-y'),
  previewEvery: $<HTMLInputElement>('preview-every'),
  profile: $<HTMLInputElement>('profile'),
  run: $<HTMLButtonElement>('run'),
  stop: $<HTMLButtonElement>('stop'),
  progress: $<HTMLProgressElement>('progress'),
  status: $('status'),
  truth: $<HTMLCanvasElement>('c-truth'),
  measurement: $<HTMLCanvasElement>('c-measurement'),
  x0hat: $<HTMLCanvasElement>('c-x0hat'),
  result: $<HTMLCanvasElement>('c-result'),
  capMeasurement: $('cap-measurement'),
  capX0hat: $('cap-x0hat'),
  capResult: $('cap-result'),
  profileSource: $('profile-source'),
  profileBody: $('profile-table').querySelector('tbody')!,
};

type PageState = 'starting' | 'ready' | 'running' | 'done' | 'error';

/** What the browser test reads and drives. */
interface PageApi {
  state: PageState;
  error?: string;
  adapter?: { description: string; features: string[]; timestamps: boolean };
  engine?: Engine;
  prior?: Prior;
  image?: ModelImage;
  lastSpec?: RunSpec;
  lastResult?: RunResult;
  lastProfile?: { table: string; kernels: number; dispatches: number; source: string };
  vectorProbe: typeof vectorProbe;
  unetProbe: typeof unetProbe;
  noiseDraws: typeof noiseDraws;
}
const api: PageApi = { state: 'starting', vectorProbe, unetProbe, noiseDraws };
(window as unknown as { dps: PageApi }).dps = api;

let stopRequested = false;

function fail(where: string, e: unknown) {
  const msg = e instanceof Error ? e.message : String(e);
  api.state = 'error';
  api.error = `${where}: ${msg}`;
  ui.status.textContent = api.error;
  ui.status.className = 'error';
  console.error(api.error, e instanceof Error ? `\n${e.stack}` : '');
}

function setStatus(text: string) {
  ui.status.textContent = text;
  ui.status.className = 'muted';
}

function draw(canvas: HTMLCanvasElement, data: ArrayLike<number>, shape: readonly number[]) {
  const { rgba, width, height } = modelToRgba(data, shape);
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d')!.putImageData(new ImageData(rgba, width, height), 0, 0);
}

async function decodePng(blob: Blob): Promise<{ rgba: Uint8ClampedArray; width: number; height: number }> {
  // colorSpaceConversion 'none' keeps the PNG's bytes (no gamma/ICC adjustment): the model sees u/127.5 − 1
  const bmp = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const g = c.getContext('2d')!;
  g.drawImage(bmp, 0, 0);
  const { data } = g.getImageData(0, 0, bmp.width, bmp.height);
  return { rgba: data, width: bmp.width, height: bmp.height };
}

async function setImage(blob: Blob, name: string) {
  const prior = api.prior;
  if (!prior) throw new Error('load a prior first');
  const { rgba, width, height } = await decodePng(blob);
  const [C, S] = [prior.model.config.inChannels, prior.model.config.imageSize];
  api.image = rgbaToModel(rgba, width, height, C, S);
  draw(ui.truth, api.image.data, api.image.shape);
  for (const c of [ui.measurement, ui.x0hat, ui.result]) c.getContext('2d')!.clearRect(0, 0, c.width, c.height);
  setStatus(`image ${name} (${width}×${height})`);
}

async function loadBundledImage() {
  const file = ui.imageSelect.value;
  if (!file) return;
  const res = await fetch(`images/${file}`);
  if (!res.ok) throw new Error(`images/${file}: HTTP ${res.status}`);
  await setImage(await res.blob(), file);
}

async function setPrior(bytes: Uint8Array, label: string) {
  const engine = api.engine!;
  ui.modelInfo.textContent = `loading ${label}…`;
  api.prior = loadPrior(engine, bytes, label);
  await engine.sync();
  ui.modelInfo.textContent = `${label}: ${api.prior.summary}`;
}

function readSpec(): RunSpec {
  const int = (el: HTMLInputElement, what: string, min: number) => {
    const v = Number(el.value);
    if (!Number.isInteger(v) || v < min) throw new Error(`${what} must be an integer ≥ ${min}, got '${el.value}'`);
    return v;
  };
  const sigmaY = Number(ui.sigmaY.value);
  if (!(sigmaY >= 0)) throw new Error(`σ_y must be ≥ 0, got '${ui.sigmaY.value}'`);
  const spec: RunSpec = {
    task: ui.task.value as Task,
    method: ui.method.value,
    steps: int(ui.steps, 'steps', 1),
    seed: int(ui.seed, 'seed', 0),
    sigmaY,
    previewEvery: int(ui.previewEvery, 'preview interval', 1),
  };
  if (spec.method.endsWith('+cmi')) spec.cmiEta = ui.cmiEta.value.trim() || DEFAULT_CMI_ETA;
  return spec;
}

function showProfile(records: KernelRecord[], source: string) {
  const rows = summarize(records);
  const total = rows.reduce((a, r) => a + r.ms, 0);
  ui.profileBody.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement('tr');
      const s = r.ms / 1000;
      const cells = [
        r.kernel,
        String(r.calls),
        r.ms.toFixed(2),
        `${((100 * r.ms) / (total || 1)).toFixed(1)}%`,
        r.flops ? (r.flops / s / 1e9).toFixed(2) : '–',
        r.bytes ? (r.bytes / s / 1e9).toFixed(2) : '–',
      ];
      for (const c of cells) tr.appendChild(document.createElement('td')).textContent = c;
      return tr;
    }),
  );
  ui.profileSource.textContent = `${records.length} dispatches, ${rows.length} kernels, ${total.toFixed(1)} ms of GPU work (${source})`;
  api.lastProfile = { table: formatKernelTable(records), kernels: rows.length, dispatches: records.length, source };
}

async function run() {
  const engine = api.engine!;
  const prior = api.prior!;
  const image = api.image;
  if (!image) throw new Error('choose an image first');
  const spec = readSpec();
  api.lastSpec = spec;
  api.lastResult = undefined;
  api.state = 'running';
  stopRequested = false;
  ui.run.disabled = true;
  ui.stop.disabled = false;
  ui.progress.value = 0;
  const profiling = ui.profile.checked;
  if (profiling) engine.startProfiling();
  const t0 = performance.now();
  try {
    const result = await runPosterior(prior, image, spec, {
      shouldStop: () => stopRequested,
      onStep: (s) => {
        ui.progress.value = s.step / s.total;
        const el = (performance.now() - t0) / 1000;
        const eta = (el / s.step) * (s.total - s.step);
        setStatus(
          `step ${s.step}/${s.total} · ${el.toFixed(1)} s · ETA ${eta.toFixed(1)} s` +
            (s.distance !== undefined ? ` · ‖y − A x̂₀‖ ${s.distance.toFixed(3)}` : ''),
        );
        if (s.x0hat) {
          draw(ui.x0hat, s.x0hat, image.shape);
          ui.capX0hat.textContent = `x̂₀ at step ${s.step}/${s.total}`;
        }
      },
    });
    api.lastResult = result;
    draw(ui.measurement, result.yImage, result.yImageShape);
    ui.capMeasurement.textContent = `measurement y (${spec.task}, σ_y ${spec.sigmaY})`;
    draw(ui.result, result.x0, image.shape);
    const label = METHODS.find((m) => m.id === spec.method)?.label ?? spec.method;
    ui.capResult.textContent = `${label}, ${spec.steps} steps: PSNR ${psnr(result.x0, image.data).toFixed(2)} dB, SSIM ${ssim(result.x0, image.data, image.shape).toFixed(3)}`;
    setStatus(`done in ${result.seconds.toFixed(1)} s (${((1000 * result.seconds) / spec.steps).toFixed(0)} ms/step)`);
    api.state = 'done';
  } catch (e) {
    if (!(e instanceof StoppedError)) throw e;
    setStatus(e.message);
    api.state = 'ready';
  } finally {
    if (profiling) showProfile(await engine.stopProfiling(), engine.timingSource);
    ui.run.disabled = false;
    ui.stop.disabled = true;
  }
}

async function start() {
  METHODS.forEach((m) => ui.method.add(new Option(m.label, m.id)));
  ui.cmiEta.value = DEFAULT_CMI_ETA;
  const showCmi = () => void (ui.cmiRow.hidden = !ui.method.value.endsWith('+cmi'));
  ui.method.addEventListener('change', showCmi);
  showCmi();
  let engine: Engine;
  try {
    engine = await Engine.create();
  } catch (e) {
    ui.adapter.textContent = e instanceof Error ? e.message : String(e);
    ui.adapter.className = 'error';
    throw e;
  }
  api.engine = engine;
  const g = engine.gpu;
  api.adapter = { description: g.description, features: [...g.device.features].sort(), timestamps: g.hasTimestamps };
  ui.adapter.textContent = `WebGPU adapter: ${g.description} · timestamps ${g.hasTimestamps ? 'yes' : 'no'} · f16 ${g.hasF16 ? 'yes' : 'no'} · subgroups ${g.hasSubgroups ? 'yes' : 'no'}`;

  const res = await fetch('models/fmnist-unet.safetensors');
  if (!res.ok) throw new Error(`models/fmnist-unet.safetensors: HTTP ${res.status}`);
  await setPrior(new Uint8Array(await res.arrayBuffer()), 'fmnist-unet.safetensors');

  const idx = await fetch('images/index.json');
  const list: Array<{ file: string; label: string }> = idx.ok ? await idx.json() : [];
  for (const it of list) ui.imageSelect.add(new Option(it.label, it.file));
  await loadBundledImage();

  const guard = (where: string, f: () => Promise<void>) => () => void f().catch((e) => fail(where, e));
  ui.imageSelect.addEventListener('change', guard('image', loadBundledImage));
  ui.imageFile.addEventListener(
    'change',
    guard('image', async () => {
      const f = ui.imageFile.files?.[0];
      if (f) await setImage(f, f.name);
    }),
  );
  ui.modelSource.addEventListener('change', () => {
    if (ui.modelSource.value === 'file') ui.modelFile.click();
  });
  ui.modelFile.addEventListener(
    'change',
    guard('weights', async () => {
      const f = ui.modelFile.files?.[0];
      if (!f) return;
      await setPrior(new Uint8Array(await f.arrayBuffer()), f.name);
      await loadBundledImage().catch(() => {});
    }),
  );
  ui.run.addEventListener('click', guard('run', run));
  ui.stop.addEventListener('click', () => void (stopRequested = true));
  ui.run.disabled = false;
  api.state = 'ready';
  setStatus('ready');
}

start().catch((e) => fail('start', e));
