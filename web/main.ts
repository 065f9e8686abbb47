// The page: pick a prior, an image, a task and a method with their options; run the sampler on
// navigator.gpu with live x̂₀ previews, download the result, the measurement and the trace, and see the
// per-kernel profile. All computation is src/ (the same engine, kernels and samplers as on Node); this file
// only moves pixels and DOM. `window.dps` exposes state and probes to the browser test (test/browser.test.ts).
import 'virtual:shaders';
import { Engine, formatKernelTable, summarize, type KernelRecord } from '../src/engine/index.ts';
import { psnr, ssim } from '../src/io/metrics.ts';
import { clock, modelToRgba, rgbaToModel, type ModelImage } from './image.ts';
import {
  DEFAULT_CMI_ETA,
  METHODS,
  OPERATOR_FIELDS,
  StoppedError,
  TASK_LABELS,
  TASKS,
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
  imageInfo: $('image-info'),
  task: $<HTMLSelectElement>('task'),
  operatorFields: $('operator-fields'),
  method: $<HTMLSelectElement>('method'),
  cmiRow: $('cmi-row'),
  cmiEta: $<HTMLInputElement>('cmi-eta'),
  steps: $<HTMLInputElement>('steps'),
  zeta: $<HTMLInputElement>('zeta'),
  eta: $<HTMLInputElement>('eta'),
  seed: $<HTMLInputElement>('seed'),
  sigmaY: $<HTMLInputElement>('sigma-y'),
  previewEvery: $<HTMLInputElement>('preview-every'),
  profile: $<HTMLInputElement>('profile'),
  run: $<HTMLButtonElement>('run'),
  stop: $<HTMLButtonElement>('stop'),
  progress: $<HTMLProgressElement>('progress'),
  status: $('status'),
  timing: $('timing'),
  downloads: $('downloads'),
  dlResult: $<HTMLButtonElement>('dl-result'),
  dlMeasurement: $<HTMLButtonElement>('dl-measurement'),
  dlTrace: $<HTMLButtonElement>('dl-trace'),
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
  /** the chosen picture as decoded, before the fit to the model */
  imageSource?: { name: string; width: number; height: number; fit: string };
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

async function decodePicture(blob: Blob): Promise<{ rgba: Uint8ClampedArray; width: number; height: number }> {
  // colorSpaceConversion 'none' keeps the file's bytes (no gamma/ICC adjustment): the model sees u/127.5 − 1
  const bmp = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const g = c.getContext('2d')!;
  g.drawImage(bmp, 0, 0);
  const { data } = g.getImageData(0, 0, bmp.width, bmp.height);
  return { rgba: data, width: bmp.width, height: bmp.height };
}

/** the picture last chosen, to fit it again when another prior (another size) is loaded */
let lastPicture: { blob: Blob; name: string } | undefined;

async function setImage(blob: Blob, name: string) {
  const prior = api.prior;
  if (!prior) throw new Error('load a prior first');
  lastPicture = { blob, name };
  const { rgba, width, height } = await decodePicture(blob);
  const [C, S] = [prior.model.config.inChannels, prior.model.config.imageSize];
  const { fit, ...image } = rgbaToModel(rgba, width, height, C, S);
  api.image = image;
  api.imageSource = { name, width, height, fit };
  draw(ui.truth, image.data, image.shape);
  for (const c of [ui.measurement, ui.x0hat, ui.result]) c.getContext('2d')!.clearRect(0, 0, c.width, c.height);
  const how = { exact: 'as is', padded: 'padded', resized: 'centre-cropped and resized' }[fit];
  ui.imageInfo.textContent = `${name}: ${width}×${height} → ${S}×${S} ${C === 1 ? 'gray (BT.601)' : 'RGB'}, ${how}`;
  ui.downloads.hidden = true;
  setStatus('ready');
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

/** The operator option inputs of the chosen task (OPERATOR_FIELDS). */
function showOperatorFields() {
  const task = ui.task.value as Task;
  ui.operatorFields.replaceChildren(
    ...OPERATOR_FIELDS[task].map((f) => {
      const label = document.createElement('label');
      label.append(`${f.label} `);
      const input = label.appendChild(document.createElement('input'));
      input.type = 'number';
      input.step = 'any';
      input.value = String(f.value);
      input.dataset.key = f.key;
      input.id = `op-${f.key}`;
      return label;
    }),
  );
}

function readSpec(): RunSpec {
  const int = (el: HTMLInputElement, what: string, min: number) => {
    const v = Number(el.value);
    if (!Number.isInteger(v) || v < min) throw new Error(`${what} must be an integer ≥ ${min}, got '${el.value}'`);
    return v;
  };
  /** an optional number: empty means the method's default */
  const opt = (el: HTMLInputElement, what: string) => {
    const s = el.value.trim();
    if (s === '') return undefined;
    const v = Number(s);
    if (!Number.isFinite(v) || v < 0)
      throw new Error(`${what} must be a number ≥ 0 (or empty for the default), got '${s}'`);
    return v;
  };
  const sigmaY = Number(ui.sigmaY.value);
  if (!(sigmaY >= 0 && Number.isFinite(sigmaY))) throw new Error(`σ_y must be a number ≥ 0, got '${ui.sigmaY.value}'`);
  const stepsText = ui.steps.value.trim();
  if (!/^(\d+|ddim\d+)$/.test(stepsText) || /^(0+|ddim0+)$/.test(stepsText))
    throw new Error(`steps must be a positive integer or ddimN (e.g. ddim50), got '${stepsText}'`);
  const operator: Record<string, number> = {};
  for (const input of ui.operatorFields.querySelectorAll<HTMLInputElement>('input[data-key]')) {
    const v = Number(input.value);
    if (!Number.isFinite(v) || v < 0)
      throw new Error(`${input.dataset.key} must be a number ≥ 0, got '${input.value}'`);
    // a hole size of 0 means the default (half the image)
    if (!(input.dataset.key === 'boxSize' && v === 0)) operator[input.dataset.key!] = v;
  }
  const spec: RunSpec = {
    task: ui.task.value as Task,
    method: ui.method.value,
    steps: /^\d+$/.test(stepsText) ? Number(stepsText) : stepsText,
    seed: int(ui.seed, 'seed', 0),
    sigmaY,
    previewEvery: int(ui.previewEvery, 'preview interval', 1),
  };
  const zeta = opt(ui.zeta, 'ζ');
  const eta = opt(ui.eta, 'η');
  if (zeta !== undefined) spec.zeta = zeta;
  if (eta !== undefined) spec.eta = eta;
  if (Object.keys(operator).length) spec.operator = operator;
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

/** Save `blob` as `name` through a temporary link (what a download button does). */
function download(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Base name of the downloads: task, method and seed of the run. */
function runName(spec: RunSpec): string {
  return `${spec.task}-${spec.method.replace('+', '-')}-${spec.steps}-seed${spec.seed}`;
}

function traceJson(spec: RunSpec, r: RunResult): string {
  return JSON.stringify(
    {
      spec,
      image: api.imageSource,
      prior: api.prior?.summary,
      adapter: api.adapter?.description,
      warmup: r.warmup,
      firstStepSeconds: r.firstStepSeconds,
      seconds: r.seconds,
      psnr: api.image ? psnr(r.x0, api.image.data) : undefined,
      steps: r.trace,
      profile: api.lastProfile?.table,
    },
    null,
    1,
  );
}

async function run() {
  const engine = api.engine!;
  const prior = api.prior!;
  const image = api.image;
  if (!image) throw new Error('choose an image first');
  const spec = readSpec();
  api.lastSpec = spec;
  api.lastResult = undefined;
  api.lastProfile = undefined;
  api.state = 'running';
  stopRequested = false;
  ui.run.disabled = true;
  ui.stop.disabled = false;
  ui.downloads.hidden = true;
  ui.progress.value = 0;
  ui.timing.textContent = '';
  const profiling = ui.profile.checked;
  const t0 = performance.now();
  let tFirst = 0;
  let warmupText = '';
  try {
    const result = await runPosterior(prior, image, spec, {
      // ?warmup=0 turns the warm-up off (to measure what it saves)
      warmup: new URLSearchParams(location.search).get('warmup') !== '0',
      shouldStop: () => stopRequested,
      onWarmup: () => setStatus('warm-up: compiling the kernels of the run (asynchronously)…'),
      onSampling: () => {
        tFirst = performance.now();
        // profile the sampling steps, not the warm-up
        if (profiling) engine.startProfiling();
      },
      onStep: (s) => {
        ui.progress.value = s.step / s.total;
        const el = (performance.now() - t0) / 1000;
        // ETA from the mean step time so far
        const per = (performance.now() - tFirst) / 1000 / s.step;
        setStatus(
          `step ${s.step}/${s.total} · ${clock(el)} elapsed · ETA ${clock(per * (s.total - s.step))}` +
            (s.distance !== undefined ? ` · ‖y − A x̂₀‖ ${s.distance.toFixed(3)}` : ''),
        );
        if (s.x0hat) {
          draw(ui.x0hat, s.x0hat, image.shape);
          ui.capX0hat.textContent = `x̂₀ at step ${s.step}/${s.total}`;
        }
      },
    });
    api.lastResult = result;
    warmupText = `warm-up ${result.warmup.kernels} kernels in ${result.warmup.seconds.toFixed(1)} s`;
    draw(ui.measurement, result.yImage, result.yImageShape);
    ui.capMeasurement.textContent = `measurement y (${TASK_LABELS[spec.task]}${spec.task === 'phase' ? ', log |F P x|' : ''}, σ_y ${spec.sigmaY})`;
    draw(ui.result, result.x0, image.shape);
    const label = METHODS.find((m) => m.id === spec.method)?.label ?? spec.method;
    ui.capResult.textContent = `${label}, ${spec.steps} steps: PSNR ${psnr(result.x0, image.data).toFixed(2)} dB, SSIM ${ssim(result.x0, image.data, image.shape).toFixed(3)}`;
    const n = result.trace.length;
    const rest = n > 1 ? result.trace.slice(1).reduce((a, r) => a + r.ms, 0) / (n - 1) / 1000 : result.firstStepSeconds;
    setStatus(`done in ${clock(result.seconds)} (${result.seconds.toFixed(1)} s)`);
    ui.timing.textContent = `${warmupText} · first step ${result.firstStepSeconds.toFixed(2)} s · then ${rest.toFixed(2)} s/step`;
    ui.downloads.hidden = false;
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
  for (const t of TASKS) ui.task.add(new Option(TASK_LABELS[t], t));
  METHODS.forEach((m) => ui.method.add(new Option(m.label, m.id)));
  ui.method.value = 'dps';
  ui.cmiEta.value = DEFAULT_CMI_ETA;
  const showCmi = () => void (ui.cmiRow.hidden = !ui.method.value.endsWith('+cmi'));
  ui.method.addEventListener('change', showCmi);
  showCmi();
  ui.task.addEventListener('change', showOperatorFields);
  showOperatorFields();
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
      if (!f) return;
      await setImage(f, f.name);
      ui.imageSelect.selectedIndex = -1; // the picture, not a test image, is the input now
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
      if (lastPicture) await setImage(lastPicture.blob, lastPicture.name);
    }),
  );
  ui.run.addEventListener('click', guard('run', run));
  ui.stop.addEventListener('click', () => void (stopRequested = true));
  ui.dlResult.addEventListener(
    'click',
    guard('download', async () => {
      const blob = await new Promise<Blob | null>((ok) => ui.result.toBlob(ok, 'image/png'));
      if (!blob) throw new Error('the result canvas gave no PNG');
      download(blob, `${runName(api.lastSpec!)}.png`);
    }),
  );
  ui.dlMeasurement.addEventListener('click', () => {
    const r = api.lastResult!;
    download(
      new Blob([r.measurementFile as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
      `${runName(api.lastSpec!)}-measurement.safetensors`,
    );
  });
  ui.dlTrace.addEventListener('click', () => {
    download(
      new Blob([traceJson(api.lastSpec!, api.lastResult!)], { type: 'application/json' }),
      `${runName(api.lastSpec!)}-trace.json`,
    );
  });
  ui.run.disabled = false;
  api.state = 'ready';
  setStatus('ready');
}

start().catch((e) => fail('start', e));
