// The registry of `posterior` subcommands. Each entry loads its module lazily, so `posterior --help` and a
// command's own help start fast and never touch the GPU. To add or wire a command: write
// src/cli/commands/<name>.ts as `export default defineCommand({ name, summary, flags, run })` (see
// convert.ts) and keep its line here; the summary here is what `posterior --help` lists.
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
    summary: 'apply a measurement operator (inpainting, SR, deblur, ...) to an image',
    load: () => import('./measure.ts'),
  },
  {
    name: 'sample',
    summary: 'reconstruct an image from a measurement with a posterior sampler',
    load: () => import('./sample.ts'),
  },
  {
    name: 'study',
    summary: 'sweep sampler settings on a few images and tabulate the results',
    load: () => import('./study.ts'),
  },
  {
    name: 'eval',
    summary: "PSNR/SSIM table over tasks x methods (the paper's Table I protocol)",
    load: () => import('./eval.ts'),
  },
  {
    name: 'bench',
    summary: 'time the UNet forward pass and the samplers, with a per-kernel table',
    load: () => import('./bench.ts'),
  },
  {
    name: 'profile',
    summary: 'per-kernel profile and Chrome trace of one sampling step',
    load: () => import('./profile.ts'),
  },
  {
    name: 'demo',
    summary: 'reconstruct a few Fashion-MNIST test images for every task with DPS and CMI+DPS',
    load: () => import('./demo.ts'),
  },
];
