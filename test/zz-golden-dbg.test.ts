import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { copy, mulInPlace } from '../src/engine/ops/vector.js';
import { readSafetensorsFile } from '../src/engine/safetensors-node.js';
import { serializeSafetensors, tensorToFloat32 } from '../src/engine/safetensors.js';
import { sample } from '../src/samplers/sampler.js';
import { createSchedule } from '../src/samplers/schedule.js';
import { fixture, getTestEngine } from './helpers.js';
import * as unet from '../src/unet/index.js';
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';
it('dbg', async () => {
  const e = await getTestEngine();
  const g = readSafetensorsFile(fixture('adm-tiny/dps-golden.safetensors').pathname).tensors;
  const get = (k: string) => tensorToFloat32(g.get(k)!);
  const shape = g.get('x_T')!.shape;
  const cfg = JSON.parse(readFileSync(fixture('adm-tiny/config.json'), 'utf8'));
  const conv = convertCheckpointBytes(new Uint8Array(readFileSync(fixture('adm-tiny/model.pt'))), cfg);
  const model = unet.loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata));
  const mask = e.upload(get('mask'), shape);
  const apply = (x: any) => mulInPlace(e, copy(e, x), mask);
  const op: any = { name: 'm', inputShape: shape, outputShape: shape, linear: true, forward: apply, vjp: (_: any, u: any) => apply(u), adjoint: apply, pinv: apply };
  const traj = get('trajectory'), sn = get('step_noise');
  const per = 3072;
  const full = createSchedule({ respacing: '20' });
  // one step from trajectory[j-1] with a 1-step schedule whose k is the same as the full run's step j
  // full run's first output
  const first: Float32Array[] = [];
  {
    const sched = full;
    await sample({ model, operator: op, noise: { kind: 'gaussian', level: 0.05 }, y: e.upload(get('y'), shape), method: 'dps', schedule: sched, scale: 0.5, clip: true, varType: 'learned_range',
      xT: e.upload(get('x_T'), shape), stepNoise: e.upload(sn, [20, ...shape] as any), snapshotEvery: 1, onStep: (s) => void first.push(s.x!) });
  }
  for (const j of [1, 2, 5]) {
    const k = 19 - j;
    const sched = { ...full, length: k + 1, timestepMap: full.timestepMap.slice(0, k + 1) } as any;
    for (const key of ['betas','alphasCumprod','alphasCumprodPrev','sqrtRecipAlphasCumprod','sqrtRecipm1AlphasCumprod','posteriorVariance','posteriorLogVarianceClipped','posteriorMeanCoef1','posteriorMeanCoef2']) sched[key] = (full as any)[key].slice(0, k + 1);
    for (const scale of [0.5, 0]) { const sc = 0.5;
      const xs: Float32Array[] = [];
      await sample({ model, operator: op, noise: { kind: 'gaussian', level: 0.05 }, y: e.upload(get('y'), shape), method: 'dps', schedule: sched, scale: sc, clip: true, varType: 'learned_range',
        xT: e.upload(scale === 0 ? first[j - 1] : traj.slice((j - 1) * per, j * per), shape), stepNoise: e.upload(sn.slice(j * per, (j + 1) * per * 20), [Math.min(20 - j, k + 1), ...shape] as any),
        snapshotEvery: 1, onStep: (s) => void xs.push(s.x!) });
      const ref = traj.subarray(j * per, (j + 1) * per);
      let num = 0, den = 0, dn = 0;
      for (let i = 0; i < per; i++) { num = Math.max(num, Math.abs(xs[0][i] - ref[i])); den = Math.max(den, Math.abs(ref[i])); dn += (xs[0][i]-ref[i])**2; }
      console.log('step', j, scale === 0 ? 'from ours' : 'from golden', 'maxerr', (num / den).toExponential(3), 'l2 diff', Math.sqrt(dn).toFixed(4));
    }
  }
}, 300000);
