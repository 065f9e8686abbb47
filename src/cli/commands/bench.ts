// `posterior bench`: the benchmark suite (bench/*.bench.ts, each in its own process) — same as `npm run bench`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineCommand } from '../command.ts';

export default defineCommand({
  name: 'bench',
  description:
    'Runs every bench/*.bench.ts (conv2d, nonlinear kernels, UNet forward/VJP/JVP/hyper-dual, operators, samplers), or ' +
    'only those whose file name contains one of the given words. Set BENCH_FFHQ=1 to include the FFHQ-256 ' +
    'architecture (slow on a software GPU).',
  positionals: 8,
  usage: '[word ...]',
  flags: {},
  examples: ['posterior bench unet', 'BENCH_FFHQ=1 posterior bench unet samplers'],
  run(_f, ctx) {
    const runner = fileURLToPath(new URL('../../../bench/run-all.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', runner, ...ctx.positionals], { stdio: 'inherit' });
    return r.status ?? 1;
  },
});
