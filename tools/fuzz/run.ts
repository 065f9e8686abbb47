// `npm run fuzz [-- --count N --seed S]`: the long run of the weight-reader fuzzer (tools/fuzz/mutate.ts).
// Prints a summary (inputs, outcomes, slowest input, peak memory) and exits 1 on any internal error, any
// input taking over 5 s of CPU time (wall time is reported too; on a shared machine it measures the load),
// any accepted corrupt layout, or peak memory over 1 GiB.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { generate, loadBase, runOne, summarize, type FuzzInput, type FuzzResult } from './mutate.ts';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' } },
});
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: npm run fuzz -- [--count N] [--seed S]');
  process.exit(2);
}
const base = loadBase();
const results: { input: FuzzInput; result: FuzzResult }[] = [];
const t0 = performance.now();
let i = 0;
for (const input of generate(base, seed, count)) {
  const result = runOne(base, input);
  // keep only what the summary needs (not the bytes)
  results.push({ input: { format: input.format, kind: input.kind, bytes: new Uint8Array(0) }, result });
  if (++i % 1000 === 0) console.error(`${i}/${count} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
const s = summarize(results);
const slowest = results
  .map((r, i) => ({ i, kind: r.input.kind, ms: r.result.ms, cpu: r.result.cpuMs }))
  .sort((a, b) => b.cpu - a.cpu)
  .slice(0, 3);
const peakMiB = process.resourceUsage().maxRSS / 1024;
console.log(
  `seed ${seed}: ${s.inputs} inputs (${s.byFormat.pt} .pt, ${s.byFormat.safetensors} safetensors) in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
console.log(
  `outcomes: ${Object.entries(s.outcomes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
console.log(
  `slowest input: ${s.maxCpuMs.toFixed(0)} ms CPU (${s.maxMs.toFixed(0)} ms wall, load average ${os.loadavg()[0].toFixed(1)}); ` +
    `over 5 s of CPU: ${s.over5s}; peak RSS ${peakMiB.toFixed(0)} MiB`,
);
console.log(`slowest (CPU): ${slowest.map((x) => `#${x.i} ${x.kind} ${x.cpu.toFixed(0)} ms`).join(', ')}`);
if (Object.keys(s.changedKinds).length)
  console.log(
    `accepted with changed tensor values, by mutation: ${Object.entries(s.changedKinds)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
for (const e of s.examples) console.log(`  ${e.outcome} [${e.kind}] ${e.message}`);
const bad = s.outcomes['internal-error'] + s.outcomes['accepted-corrupt'] + s.over5s + (peakMiB > 1024 ? 1 : 0);
process.exitCode = bad ? 1 : 0;
