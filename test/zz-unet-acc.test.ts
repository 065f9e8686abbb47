import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { readSafetensorsFile } from '../src/engine/safetensors-node.js';
import { serializeSafetensors, tensorToFloat32 } from '../src/engine/safetensors.js';
import { fixture, getTestEngine, relMaxErr } from './helpers.js';
import * as unet from '../src/unet/index.js';
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';
it('acc', async () => {
  const e = await getTestEngine();
  const g = readSafetensorsFile(fixture('adm-tiny/unet-golden.safetensors').pathname).tensors;
  const get = (k: string) => tensorToFloat32(g.get(k)!);
  const cfg = JSON.parse(readFileSync(fixture('adm-tiny/config.json'), 'utf8'));
  const conv = convertCheckpointBytes(new Uint8Array(readFileSync(fixture('adm-tiny/model.pt'))), cfg);
  const model = unet.loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata));
  const x = e.upload(get('x'), [2, 3, 32, 32]);
  const t = Array.from(get('t'));
  const out = await e.read(model.forward(x, t));
  const ref = get('out');
  const per = 6 * 1024;
  for (let n = 0; n < 2; n++) {
    const o = out.subarray(n * per, (n + 1) * per), r = ref.subarray(n * per, (n + 1) * per);
    console.log('t', t[n], 'forward eps rel', relMaxErr(o.subarray(0, 3072), r.subarray(0, 3072)).toExponential(2), 'v rel', relMaxErr(o.subarray(3072), r.subarray(3072)).toExponential(2));
  }
  const vj = model.vjp(x, t, e.upload(get('vjp.u'), [2, 6, 32, 32]));
  const gx = await e.read(vj.grad);
  const rg = get('vjp.x');
  for (let n = 0; n < 2; n++) console.log('t', t[n], 'vjp rel', relMaxErr(gx.subarray(n * 3072, (n + 1) * 3072), rg.subarray(n * 3072, (n + 1) * 3072)).toExponential(2));
}, 300000);
