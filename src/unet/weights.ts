// Weights of a converted model (tools/convert-weights output: safetensors with the UNetConfig in its
// metadata) as GPU tensors, verified against the architecture built from that config.
import type { Engine, Tensor } from '../engine/index.js';
import { firstNonFinite, parseSafetensors, tensorToFloat32 } from '../engine/safetensors.js';
import { architectureTensors } from './architecture.js';
import { parseStoredConfig, type UNetConfig } from './config.js';

export interface UNetWeights {
  config: UNetConfig;
  tensors: Map<string, Tensor>;
  numParams: number;
}

export function loadUNetWeights(e: Engine, bytes: Uint8Array, label = 'weights'): UNetWeights {
  const parsed = parseSafetensors(bytes, label);
  const stored = parsed.metadata.config;
  if (!stored) {
    throw new Error(
      `${label}: no model config in the safetensors metadata — convert the checkpoint with 'posterior convert' first`,
    );
  }
  let config: UNetConfig;
  try {
    config = parseStoredConfig(stored);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
  const want = architectureTensors(config);
  const missing: string[] = [];
  const misshaped: string[] = [];
  for (const [name, shape] of want) {
    const t = parsed.tensors.get(name);
    if (!t) missing.push(name);
    else if (t.shape.join(',') !== shape.join(',')) misshaped.push(`${name}: [${t.shape}] (expected [${shape}])`);
  }
  if (missing.length || misshaped.length) {
    throw new Error(
      `${label}: weights do not match their config — ${missing.length} missing, ${misshaped.length} mis-shaped` +
        (missing.length ? `\n  missing: ${missing.slice(0, 10).join(', ')}` : '') +
        (misshaped.length ? `\n  mis-shaped: ${misshaped.slice(0, 10).join('; ')}` : ''),
    );
  }
  const tensors = new Map<string, Tensor>();
  let numParams = 0;
  for (const [name, shape] of want) {
    const data = tensorToFloat32(parsed.tensors.get(name)!);
    const bad = firstNonFinite(data);
    if (bad >= 0) {
      for (const t of tensors.values()) e.release(t);
      throw new Error(
        `${label}: tensor "${name}" holds a non-finite value (${data[bad]} at index ${bad}); the weights are corrupt`,
      );
    }
    tensors.set(name, e.upload(data, shape, name));
    numParams += data.length;
  }
  return { config, tensors, numParams };
}

/** Random weights for an architecture (benchmarks of published configs whose weights we do not have). */
export function randomUNetWeights(e: Engine, config: UNetConfig, seed = 1): UNetWeights {
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const tensors = new Map<string, Tensor>();
  let numParams = 0;
  for (const [name, shape] of architectureTensors(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? n / shape[0] : 0;
    const data = new Float32Array(n);
    if (name.endsWith('.weight') && shape.length === 1)
      data.fill(1); // GroupNorm gamma
    else if (fanIn) for (let i = 0; i < n; i++) data[i] = (rnd() * 0.4 * Math.sqrt(3)) / Math.sqrt(fanIn);
    tensors.set(name, e.upload(data, shape, name));
    numParams += n;
  }
  return { config, tensors, numParams };
}
