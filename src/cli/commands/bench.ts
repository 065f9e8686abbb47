// `posterior bench`: the benchmark suite (bench/*.bench.ts, each in its own process) — same as `npm run bench`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../args.ts';
import { AUDIT_MODELS, runAudit } from '../audit.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  name: 'bench',
  description:
    'Runs every bench/*.bench.ts (conv2d, nonlinear kernels, UNet forward/VJP/JVP/hyper-dual, operators, samplers), or ' +
    'only those whose file name contains one of the given words. Set BENCH_FFHQ=1 to include the FFHQ-256 ' +
    'architecture (slow on a software GPU).\n\n' +
    '--audit MODEL runs nothing: it lists every dispatch of a forward and a forward + VJP pass as an NVIDIA H100 ' +
    'would get it (the GPU kernel variants), with workgroups, invocations, FLOPs, bytes and the time floor at the ' +
    "H100's peak (67 TFLOP/s fp32, 3.35 TB/s); dispatches with fewer workgroups than its 132 SMs are marked '!'.",
  positionals: 8,
  usage: '[word ...] | --audit MODEL',
  flags: {
    audit: {
      type: 'string',
      placeholder: 'MODEL',
      help: `per-dispatch audit for an H100 of ${AUDIT_MODELS.join(', ')}, a converted .safetensors or a model config (.json/.yaml)`,
    },
    batch: { type: 'int', default: 1, help: 'images per pass (with --audit)' },
  },
  examples: ['posterior bench unet', 'BENCH_FFHQ=1 posterior bench unet samplers', 'posterior bench --audit ffhq-256'],
  async run(f, ctx) {
    if (f.audit !== undefined) {
      if (f.batch < 1) throw new UsageError('--batch must be at least 1', 'bench');
      await runAudit(f.audit, f.batch, ctx.io);
      return 0;
    }
    const runner = fileURLToPath(new URL('../../../bench/run-all.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', runner, ...ctx.positionals], { stdio: 'inherit' });
    return r.status ?? 1;
  },
});
