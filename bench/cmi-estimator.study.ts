// Is the CMI gradient estimator right? On the embedded prior (d = 1024) at points xₜ of a real DPS
// trajectory, builds the exact quantities of src/lab/cmi-exact.ts (dense ε-Jacobian from batched JVPs,
// I = ½ log det(I + ΣM), the exact ∇I in its hyper-dual and reverse-over-forward forms), checks them against
// finite differences of I, and compares the sampler's Hutchinson estimates (r = 1, 4, 16, 64; exact and
// isotropic Σ⁻¹) with them. Writes one JSON record per timestep (appended as each finishes).
//   npx tsx bench/cmi-estimator.study.ts [--task sr4] [--ts 900,600,300,100,30] [--image 0] [--probes 64]
//        [--batch 16] [--output docs/results/cmi-estimator.json]
//   npx tsx bench/cmi-estimator.study.ts --render docs/results/cmi-estimator.json   (table + PNG)
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../src/engine/index.js';
import { loadTestImages } from '../src/io/fmnist.js';
import {
  contractionFactors,
  cosine,
  denseJacobian,
  exactGradientHyperDual,
  finiteDifferenceI,
  hutchinsonPair,
  hutchinsonSolvers,
  jTimesAt,
  kDiagnostics,
  modelOracle,
  mutualInfoSigned,
  exactGradientReverse,
  rademacher,
  relErr,
  reverseOverForward,
  type CmiSetting,
  type HutchinsonMode,
} from '../src/lab/cmi-exact.js';
import { Rng64 } from '../src/lab/rng64.js';
import { alphaBar } from '../src/lab/schedule64.js';
import { renderPlot } from '../src/lab/study-plot.js';
import { createOperator, measure, type Task } from '../src/operators/index.js';
import { sample } from '../src/samplers/sampler.js';
import { DEFAULT_WEIGHTS, loadScoreModel } from '../src/cli/model-file.js';
import { samplerTask } from '../src/cli/measure-file.js';

const args = process.argv.slice(2);
const arg = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);

const R_LIST = [1, 4, 16, 64];

// the conditioning of K = I − √(1−ᾱ)J at a cached dense Jacobian: --k-diagnostics FILE.f64 T
if (args.includes('--k-diagnostics')) {
  const file = arg('--k-diagnostics', '');
  const t = Number(args[args.indexOf('--k-diagnostics') + 2]);
  const J = new Float64Array(new Uint8Array(readFileSync(file)).buffer);
  const d = Math.round(Math.sqrt(J.length));
  console.log(JSON.stringify({ t, ...kDiagnostics(J, d, alphaBar(t)) }));
  process.exit(0);
}

if (args.includes('--render')) {
  render(arg('--render', 'docs/results/cmi-estimator.json'));
  process.exit(0);
}

const task = arg('--task', 'sr4') as Task;
const targets = arg('--ts', '900,600,300,100,30').split(',').map(Number);
const image = Number(arg('--image', '0'));
const P = Number(arg('--probes', '64'));
const batch = Number(arg('--batch', '16'));
const out = arg('--output', 'docs/results/cmi-estimator.json');
const trajSteps = Number(arg('--trajectory-steps', '100'));
// where to build the dense Jacobian (d JVPs; the exact-Σ⁻¹ probes need it), and where to keep it
const denseAt = arg('--dense-at', targets.join(',')).split(',').map(Number);
const cacheDir = arg('--cache', 'out/cmi-estimator-cache');
// finite-difference order of the reverse-over-forward products and of I (2 halves their passes)
const order = Number(arg('--order', '4')) as 2 | 4;
const SIGMA_Y = 0.05;

const e = await Engine.create();
const model = loadScoreModel(e, DEFAULT_WEIGHTS);
const [C, H, W] = model.imageShape;
const d = C * H * W;
const clock = () => performance.now() / 1000;
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

// ---------------------------------------------------------------- the operator as a dense matrix
/** A (m × d, row-major) from the operator applied to the basis vectors; rows that are all zero dropped. */
async function operatorMatrix(): Promise<{ A: Float64Array; m: number; mOut: number }> {
  const B = 64;
  const op = createOperator(task, { seed: 0 }, e, [B, C, H, W]);
  if (!op.linear) throw new Error(`${task}: the CMI term needs a linear operator`);
  let full = new Float64Array(0);
  let mOut = 0;
  for (let j0 = 0; j0 < d; j0 += B) {
    const basis = new Float32Array(B * d);
    for (let q = 0; q < B && j0 + q < d; q++) basis[q * d + j0 + q] = 1;
    const x = e.upload(basis, [B, C, H, W]);
    const yt = op.forward(x);
    const y = await e.read(yt);
    e.release(x, yt);
    if (!mOut) ((mOut = y.length / B), (full = new Float64Array(mOut * d)));
    for (let q = 0; q < B && j0 + q < d; q++) for (let i = 0; i < mOut; i++) full[i * d + j0 + q] = y[q * mOut + i];
  }
  op.destroy();
  const keep: number[] = [];
  for (let i = 0; i < mOut; i++) if (full.subarray(i * d, (i + 1) * d).some((v) => v !== 0)) keep.push(i);
  const A = new Float64Array(keep.length * d);
  keep.forEach((i, r) => A.set(full.subarray(i * d, (i + 1) * d), r * d));
  return { A, m: keep.length, mOut };
}

// ---------------------------------------------------------------- a DPS trajectory
async function trajectory(): Promise<Map<number, { t: number; x: Float32Array }>> {
  const truth = loadTestImages(image + 1).x.subarray(image * d, (image + 1) * d);
  const op = createOperator(task, { seed: 0 }, e, [1, C, H, W]);
  const tx = e.upload(truth, [1, C, H, W]);
  const meas = measure(e, op, tx, { kind: 'gaussian', level: SIGMA_Y }, 7919);
  const seen: Array<{ t: number; x: Float32Array }> = [];
  let prev: Float32Array | null = null;
  const res = await sample({
    model,
    operator: op,
    noise: { kind: 'gaussian', level: SIGMA_Y },
    y: meas.y,
    method: 'dps',
    steps: trajSteps,
    seed: image,
    task: samplerTask(task),
    snapshotEvery: 1,
    onStep: (s) => {
      // x entering step i is the state after step i − 1; the first step's input (x_T) is not reported
      if (prev) seen.push({ t: s.t, x: prev });
      prev = s.x ? Float32Array.from(s.x) : null;
    },
  });
  e.release(res.x0, tx, meas.y);
  const pick = new Map<number, { t: number; x: Float32Array }>();
  for (const target of targets) {
    const best = seen.reduce((a, b) => (Math.abs(b.t - target) < Math.abs(a.t - target) ? b : a));
    pick.set(target, best);
  }
  return pick;
}

// ---------------------------------------------------------------- the study at one xₜ
const log10 = (v: number) => Math.log10(Math.abs(v));
function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
}

async function atPoint(target: number, t: number, x: Float32Array, op: { A: Float64Array; m: number }) {
  const ab = alphaBar(t);
  const s: CmiSetting = { alphaBar: ab, sigmaY2: SIGMA_Y ** 2, A: op.A, m: op.m, d };
  const o = modelOracle(e, model, x, t, batch);
  const times: Record<string, number> = {};
  let t0 = clock();
  const lap = (k: string) => {
    times[k] = clock() - t0;
    log(`t = ${t}: ${k} ${times[k].toFixed(1)} s`);
    t0 = clock();
  };
  // the dense Jacobian (d JVPs) where asked for, cached on disk; elsewhere only JAᵀ (m JVPs)
  let J: Float64Array | null = null;
  let jAt: Float64Array[];
  const cacheFile = join(cacheDir, `jacobian-img${image}-traj${trajSteps}-t${t}.f64`);
  if (denseAt.includes(target)) {
    if (existsSync(cacheFile)) J = new Float64Array(new Uint8Array(readFileSync(cacheFile)).buffer);
    else {
      J = await denseJacobian(o, batch);
      mkdirSync(cacheDir, { recursive: true });
      writeFileSync(cacheFile, new Uint8Array(J.buffer));
    }
    jAt = jTimesAt(s, J);
    lap('jacobian');
  } else {
    jAt = await o.jvp(Array.from({ length: s.m }, (_, l) => s.A.slice(l * d, (l + 1) * d)));
    lap('J Aᵀ');
  }
  let asymNum = 0,
    asymDen = 0;
  if (J)
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        asymNum += (J[i * d + j] - J[j * d + i]) ** 2;
        asymDen += (J[i * d + j] + J[j * d + i]) ** 2;
      }
  const { I, sign: detSign } = mutualInfoSigned(s, jAt);
  const f = contractionFactors(s, jAt);
  const gHd = await exactGradientHyperDual(o, f, batch);
  lap('exact (hyper-dual)');
  // reverse-over-forward (fourth-order differences of vjps; checked below by differences of I itself)
  const hRof = 0.02 * Math.sqrt(1 - ab);
  const gRof = await exactGradientReverse(o, f, hRof, batch, order);
  lap('exact (reverse-over-forward)');
  // finite differences of I along the reverse-over-forward gradient (and a random direction if asked)
  const rng = new Rng64(1000 + target);
  const hI = 0.02 * Math.sqrt(1 - ab);
  const fd: Array<{ dir: string; fd: number; rof: number; hd: number }> = [];
  const dirs: Array<[string, Float64Array]> = [['∇I (reverse-over-forward)', gRof]];
  if (args.includes('--fd-random')) dirs.push(['random', rng.normals(d)]);
  for (const [name, dir] of dirs) {
    const n = Math.hypot(...dir);
    const proj = (g: Float64Array) => g.reduce((acc, v, k) => acc + (v * dir[k]) / n, 0);
    fd.push({ dir: name, fd: await finiteDifferenceI(s, o, dir, hI, order), rof: proj(gRof), hd: proj(gHd) });
  }
  lap('finite differences of I');
  // the isotropic estimator's target: c Σₗ D²ε[uₗ, wₗ] with Σ ≈ σ²I, i.e. Y' = Iₘ + σ²AAᵀ/σ_y²
  const fIso = contractionFactors(
    s,
    Array.from({ length: s.m }, () => new Float64Array(d)),
  );
  const gIsoTarget = await exactGradientHyperDual(o, fIso, batch);
  lap('isotropic target');
  // Hutchinson probes
  const probeRng = new Rng64(7 + target);
  const vs = Array.from({ length: P }, () => rademacher(d, () => probeRng.uniform()));
  const est: Record<HutchinsonMode, Float64Array[]> = { exact: [], isotropic: [] };
  const pairs: Record<HutchinsonMode, { a: Float64Array[]; b: Float64Array[] }> = {
    exact: { a: [], b: [] },
    isotropic: { a: [], b: [] },
  };
  const modes: HutchinsonMode[] = J ? ['exact', 'isotropic'] : ['isotropic'];
  for (const mode of modes) {
    const solvers = hutchinsonSolvers(s, mode, mode === 'exact' ? J : null);
    for (const v of vs) {
      const p = hutchinsonPair(s, mode, v, solvers);
      pairs[mode].a.push(p.a);
      pairs[mode].b.push(p.b);
    }
    const h = await o.d2(pairs[mode].a, pairs[mode].b);
    est[mode] = h.map((v) => v.map((q) => f.c * q));
    lap(`probes (${mode})`);
  }
  const cosTable: Array<{ mode: HutchinsonMode; r: number; vsHd: number[]; vsRof: number[] }> = [];
  for (const mode of modes)
    for (const r of R_LIST) {
      if (r > P) continue;
      const vsHd: number[] = [],
        vsRof: number[] = [];
      for (let g0 = 0; g0 + r <= P; g0 += r) {
        const mean = new Float64Array(d);
        for (let j = g0; j < g0 + r; j++) for (let k = 0; k < d; k++) mean[k] += est[mode][j][k] / r;
        vsHd.push(cosine(mean, gHd));
        vsRof.push(cosine(mean, gRof));
      }
      cosTable.push({ mode, r, vsHd, vsRof });
    }
  const pairCos = (mode: HutchinsonMode) =>
    Array.from({ length: Math.floor(P / 2) }, (_, q) => cosine(est[mode][2 * q], est[mode][2 * q + 1]));
  // per probe: reverse-over-forward ∂ₖ⟨a, J b⟩ against the hyper-dual D²ε[a, b]
  const nPer = Math.min(8, P);
  const pm = modes[0];
  const rofPer = await reverseOverForward(
    o,
    pairs[pm].a.slice(0, nPer),
    pairs[pm].b.slice(0, nPer),
    hRof,
    batch,
    order,
  );
  const perProbe = rofPer.map((g, q) => {
    const hd = est[pm][q].map((v) => v / f.c);
    return { cos: cosine(g, hd), rel: relErr(hd, g) };
  });
  lap('per-probe reverse-over-forward');
  return {
    target,
    t,
    order,
    alphaBar: ab,
    task,
    m: s.m,
    d,
    I,
    detSign,
    dense: !!J,
    perProbeMode: pm,
    jacobianAsymmetry: J ? Math.sqrt(asymNum / asymDen) : null,
    normGradHd: Math.hypot(...gHd),
    normGradRof: Math.hypot(...gRof),
    cosHdRof: cosine(gHd, gRof),
    relHdRof: relErr(gHd, gRof),
    fd,
    cosIsoTargetHd: cosine(gIsoTarget, gHd),
    cosIsoTargetRof: cosine(gIsoTarget, gRof),
    normIsoTarget: Math.hypot(...gIsoTarget),
    cosTable,
    pairCos: Object.fromEntries(modes.map((md) => [md, pairCos(md)])),
    perProbe,
    seconds: times,
    log10NormHd: log10(Math.hypot(...gHd)),
  };
}

// ---------------------------------------------------------------- main
log(`${task}, image ${image}, t ≈ ${targets.join(', ')}, ${P} probes, batch ${batch} (${e.gpu.description})`);
const opm = await operatorMatrix();
log(`operator: ${opm.mOut} outputs, ${opm.m} nonzero rows`);
const traj = await trajectory();
log(`trajectory: DPS ${trajSteps} steps; picked t = ${[...traj.values()].map((p) => p.t).join(', ')}`);
if (!args.includes('--append') && existsSync(out)) writeFileSync(out, '');
for (const target of targets) {
  const p = traj.get(target)!;
  const rec = await atPoint(target, p.t, p.x, opm);
  appendFileSync(out, JSON.stringify({ device: e.gpu.description, ...rec }) + '\n');
  log(`t = ${p.t}: written`);
}
e.destroy();

// ---------------------------------------------------------------- render
function render(path: string) {
  const recs = readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const stats = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))];
    return s.length === 1 ? s[0].toFixed(3) : `${median(s).toFixed(3)} [${q(0.25).toFixed(3)}, ${q(0.75).toFixed(3)}]`;
  };
  const lines: string[] = [];
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
  lines.push(
    '| t | ᾱ | I (nats) | sign det | ‖∇I‖ | ‖J − Jᵀ‖/‖J + Jᵀ‖ | cos(HD, RoF) | ‖HD − RoF‖/‖RoF‖ | FD of I vs RoF | FD of I vs HD |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of recs)
    lines.push(
      `| ${r.t} | ${r.alphaBar.toPrecision(3)} | ${r.I.toFixed(3)} | ${r.detSign > 0 ? '+' : '−'} | ${r.normGradRof.toExponential(2)} | ${r.jacobianAsymmetry === null ? '–' : r.jacobianAsymmetry.toFixed(3)} | ${r.cosHdRof.toFixed(4)} | ${r.relHdRof.toFixed(3)} | ${rel(r.fd[0].fd, r.fd[0].rof).toExponential(1)} | ${rel(r.fd[0].fd, r.fd[0].hd).toExponential(1)} |`,
    );
  lines.push('');
  for (const [ref, key] of [
    ['the hyper-dual exact ∇I (the estimator’s target)', 'vsHd'],
    ['the true ∇I (reverse-over-forward)', 'vsRof'],
  ] as const) {
    lines.push(`Cosine to ${ref}: median [quartiles] over independent groups of r probes`);
    lines.push('');
    lines.push('| t | Σ⁻¹ | expectation | r = 1 | r = 4 | r = 16 | r = 64 |');
    lines.push('|---|---|---|---|---|---|---|');
    for (const r of recs)
      for (const mode of ['exact', 'isotropic']) {
        if (!r.pairCos[mode]) continue;
        const row = R_LIST.map((rr) => {
          const c = r.cosTable.find((q: any) => q.mode === mode && q.r === rr);
          return c ? stats(c[key]) : '–';
        });
        const expect =
          mode === 'isotropic'
            ? (key === 'vsHd' ? r.cosIsoTargetHd : r.cosIsoTargetRof).toFixed(3)
            : key === 'vsHd'
              ? '1 (symmetric K only)'
              : r.cosHdRof.toFixed(3) + ' (symmetric K only)';
        lines.push(`| ${r.t} | ${mode} | ${expect} | ${row.join(' | ')} |`);
      }
    lines.push('');
  }
  lines.push('Cosine between two independent r = 1 estimates: median [quartiles] over 32 pairs');
  lines.push('');
  lines.push('| t | Σ⁻¹ | two r = 1 draws |');
  lines.push('|---|---|---|');
  for (const r of recs)
    for (const mode of ['exact', 'isotropic'])
      if (r.pairCos[mode]) lines.push(`| ${r.t} | ${mode} | ${stats(r.pairCos[mode])} |`);
  lines.push('');
  lines.push('| t | probes | per probe: cos(∂ₖ⟨a, Jb⟩, D²ε[a, b]) | ‖D²ε[a, b] − ∂ₖ⟨a, Jb⟩‖/‖∂ₖ⟨a, Jb⟩‖ |');
  lines.push('|---|---|---|---|');
  for (const r of recs)
    lines.push(
      `| ${r.t} | ${r.perProbeMode} | ${stats(r.perProbe.map((p: any) => p.cos))} | ${stats(r.perProbe.map((p: any) => p.rel))} |`,
    );
  lines.push('');
  lines.push('| t | seconds per phase |');
  lines.push('|---|---|');
  for (const r of recs)
    lines.push(
      `| ${r.t} | ${Object.entries(r.seconds)
        .map(([k, v]: [string, any]) => `${k} ${v.toFixed(0)}`)
        .join(', ')} |`,
    );
  console.log(lines.join('\n'));
  const series = ['exact', 'isotropic'].flatMap((mode) =>
    recs
      .filter((r: any) => r.pairCos[mode])
      .flatMap((r: any) =>
        (['vsHd', 'vsRof'] as const).map((key) => ({
          label: `${mode === 'exact' ? 'EX' : 'ISO'} T${r.t} ${key === 'vsHd' ? 'TO HD' : 'TO TRUE'}`,
          points: R_LIST.map((rr) => {
            const c = r.cosTable.find((q: any) => q.mode === mode && q.r === rr);
            return [rr, c ? median(c[key]) : NaN] as [number, number];
          }),
        })),
      ),
  );
  const png = path.replace(/\.json$/, '.png');
  writeFileSync(
    png,
    renderPlot({
      title: 'CMI HUTCHINSON ESTIMATE: COSINE TO EXACT GRADIENT (SR4)',
      xLabel: 'probes r',
      yLabel: 'median cosine',
      series,
    }),
  );
  console.log(`wrote ${png}`);
}
