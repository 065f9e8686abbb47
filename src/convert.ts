// Checkpoint conversion for the library: a guided-diffusion checkpoint's bytes and its model config in, the
// engine's weight file out (bytes: write them anywhere, or pass them straight to loadModel). Node only: the
// .pt reader inflates with node:zlib (the browser build of the library replaces this module with a stub).
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';
import { serializeSafetensors } from './engine/safetensors.js';
import type { UNetConfig } from './unet/config.js';

export interface ConvertedCheckpoint {
  /** the weight file: float32 safetensors with the config in its metadata */
  weights: Uint8Array;
  config: UNetConfig;
  numParams: number;
  /** what the converter noticed (state dict used, stripped prefixes, …) */
  notes: string[];
}

/**
 * Convert a checkpoint (.pt/.pth zip or .safetensors, sniffed from the bytes) with its model config
 * (guided-diffusion create_model arguments as an object or JSON text, or the DPS model_config.yaml text).
 * Every tensor is checked against the architecture the config describes; nothing in the pickle is executed.
 */
export function convertCheckpoint(
  checkpoint: Uint8Array,
  config: string | object,
  opts: { sourceName?: string } = {},
): ConvertedCheckpoint {
  const c = convertCheckpointBytes(checkpoint, config, opts);
  return {
    weights: serializeSafetensors(c.tensors, c.metadata),
    config: c.config,
    numParams: c.numParams,
    notes: c.notes,
  };
}
