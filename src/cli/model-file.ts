// The default model and loading a converted weights file into a ScoreModel, with the diffusion settings
// its metadata records (src/samplers/diffusion-config.ts; guided-diffusion's defaults when it has none).
import { fileURLToPath } from 'node:url';
import type { Engine } from '../engine/index.ts';
import { parseSafetensors } from '../engine/safetensors.ts';
import { readFileBytes } from '../engine/safetensors-node.ts';
import { diffusionFromMetadata, type ScoreModel } from '../samplers/index.ts';
import { loadUNet } from '../unet/index.ts';

/** the embedded Fashion-MNIST prior (models/README.md) */
export const DEFAULT_WEIGHTS = fileURLToPath(new URL('../../models/fmnist-unet.safetensors', import.meta.url));

/** The `--weights` flag of every command that loads a model. */
export const WEIGHTS_FLAG = {
  type: 'string',
  short: 'w',
  placeholder: 'W.safetensors',
  help: 'converted weights (default: the embedded Fashion-MNIST model)',
} as const;

export function loadScoreModel(e: Engine, path: string): ScoreModel {
  const bytes = readFileBytes(path);
  // The UNet implements the ScoreModel interface structurally (src/unet does not import src/samplers).
  const model: ScoreModel = loadUNet(e, bytes, path);
  model.diffusion = diffusionFromMetadata(parseSafetensors(bytes, path).metadata.diffusion, model.learnSigma, path);
  return model;
}
