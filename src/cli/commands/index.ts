// The registry of `posterior` subcommands. Each entry loads its module lazily, so `posterior --help` and a
// command's own help start fast and never touch the GPU. To add or wire a command: write
// src/cli/commands/<name>.ts as `export default defineCommand({ name, flags, run })` (see convert.ts) and
// add its line here. The summary here is the command's only one: `posterior --help` lists it and
// `posterior <name> --help` opens with it.
import type { CommandDef } from '../command.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<{ default: CommandDef<any> }>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'convert',
    summary: 'convert a guided-diffusion PyTorch checkpoint to the engine weight file',
    load: () => import('./convert.ts'),
  },
  {
    name: 'run-unet',
    summary: 'run the UNet on tensors from a safetensors file (cross-check against PyTorch)',
    load: () => import('./run-unet.ts'),
  },
  {
    name: 'measure',
    summary: 'apply a measurement operator (inpainting, SR, deblur, phase) to an image',
    load: () => import('./measure.ts'),
  },
  {
    name: 'sample',
    summary: 'reconstruct an image from a measurement with a posterior sampler',
    load: () => import('./sample.ts'),
  },
  {
    name: 'study',
    summary: 'samplers × NFE against the exact posterior of an analytic prior (validation lab)',
    load: () => import('./study.ts'),
  },
  {
    name: 'eval',
    summary: 'PSNR/SSIM table (mean ± std over N images) per task × method: markdown + CSV + grid',
    load: () => import('./eval.ts'),
  },
  {
    name: 'bench',
    summary: 'run the benchmarks: per-kernel and per-model GPU timings, FLOP/s, bytes/s',
    load: () => import('./bench.ts'),
  },
  {
    name: 'profile',
    summary: 'per-kernel profile of one sampling step: table + Chrome trace (Perfetto)',
    load: () => import('./profile.ts'),
  },
  {
    name: 'demo',
    summary: 'reconstruct Fashion-MNIST test images for every task, each method at its protocol: PNG grid + summary',
    load: () => import('./demo.ts'),
  },
];
