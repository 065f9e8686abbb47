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
  const runStep0 = async (scale: number) => {
    const xs: Float32Array[] = [];
    await sample({ model, operator: op, noise: { kind: 'gaussian', level: 0.05 }, y: e.upload(get('y'), shape), method: 'dps', schedule: full, scale, clip: true, varType: 'learned_range',
      xT: e.upload(get('x_T'), shape), stepNoise: e.upload(sn, [20, ...shape] as any), snapshotEvery: 1, onStep: (s) => void xs.push(s.x!, s.x0!) });
    return xs;
  };
  const a = await runStep0(0), b = await runStep0(0.5);
  const smp = a[0], x05 = b[0], x0hat = a[1];
  const ref = traj.subarray(0, per);
  const gOurs = smp.map((v, i) => (v - x05[i]) / 0.5), gImp = smp.map((v, i) => (v - ref[i]) / 0.5);
  let mx = 0, mi = 0, md = 0, arg = 0;
  for (let i = 0; i < per; i++) { mx = Math.max(mx, Math.abs(gImp[i])); const d = Math.abs(gOurs[i] - gImp[i]); if (d > md) { md = d; arg = i; } }
  let nz = 0; for (let i = 0; i < per; i++) if (Math.abs(gImp[i]) > 1e-6) nz++;
  const mk = get('mask');
  let e1 = 0, e0 = 0, n1 = 0, n0 = 0, g1 = 0, g0 = 0;
  for (let i = 0; i < per; i++) { const d = (gOurs[i] - gImp[i]) ** 2; if (mk[i]) { e1 += d; n1++; g1 += gImp[i] ** 2; } else { e0 += d; n0++; g0 += gImp[i] ** 2; } }
  console.log('measured rms err', Math.sqrt(e1 / n1).toExponential(2), 'rms grad', Math.sqrt(g1 / n1).toExponential(2), 'unmeasured rms err', Math.sqrt(e0 / n0).toExponential(2), 'rms grad', Math.sqrt(g0 / n0).toExponential(2));
  // correlation of the error with the gradient
  let dot = 0, gg = 0; for (let i = 0; i < per; i++) { dot += (gOurs[i] - gImp[i]) * gImp[i]; gg += gImp[i] ** 2; }
  console.log('error along grad', (dot / gg).toExponential(3));
  console.log('grad max', mx.toExponential(3), 'max diff', md.toExponential(3), 'at', arg, 'ours', gOurs[arg], 'implied', gImp[arg], 'x0hat', x0hat[arg], 'nonzero grads', nz);
}, 300000);
