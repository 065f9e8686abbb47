export { buildArchitecture, architectureTensors } from './architecture.js';
export { parseModelConfig, type UNetConfig } from './config.js';
export { UNet } from './model.js';
export { loadUNetWeights, randomUNetWeights, type UNetWeights } from './weights.js';

import type { Engine } from '../engine/index.js';
import { UNet } from './model.js';
import { loadUNetWeights } from './weights.js';

/** A UNet from the bytes of a converted weights file (safetensors with the config in its metadata). */
export function loadUNet(engine: Engine, bytes: Uint8Array, label = 'weights'): UNet {
  return new UNet(engine, loadUNetWeights(engine, bytes, label));
}
