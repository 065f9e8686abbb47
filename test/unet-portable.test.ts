// The same PyTorch-golden parity as unet.test.ts, on the portable kernels (tiled implicit-GEMM conv,
// workgroup-memory GroupNorm and attention) that GPUs and adapters without 8/16-lane subgroups use. On
// lavapipe the simd kernels are picked automatically, so this file forces the portable variant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { parseSafetensors, serializeSafetensors, tensorToFloat32 } from '../src/engine/safetensors.js';
import { UNet, loadUNet } from '../src/unet/index.js';
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';
import { getTestEngine, readFixture, relMaxErr } from './helpers.js';
import { readFileSync } from 'node:fs';

let e: Engine;
let net: UNet;
const golden = parseSafetensors(readFixture('adm-tiny/unet-golden.safetensors'));
const g = (name: string) => tensorToFloat32(golden.tensors.get(name)!);
const up = (name: string) => e.upload(g(name), golden.tensors.get(name)!.shape, name);
const t = () => Array.from(g('t'));

beforeAll(async () => {
  e = await getTestEngine();
  e.adapter.forceAll('portable'); // this file's engine only
  const cfg = JSON.parse(readFileSync(new URL('./fixtures/adm-tiny/config.json', import.meta.url), 'utf8'));
  const conv = convertCheckpointBytes(readFixture('adm-tiny/model.pt'), cfg, { sourceName: 'model.pt' });
  net = loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata));
});
afterAll(() => net.destroy());

describe('adm-tiny UNet on the portable kernels vs guided-diffusion', () => {
  it('forward ≤ 1e-4, VJP, JVP and D² ≤ 1e-3 relative', async () => {
    expect(relMaxErr(await e.read(net.forward(up('x'), t())), g('out'))).toBeLessThan(1e-4);
    expect(relMaxErr(await e.read(net.vjp(up('x'), t(), up('vjp.u')).grad), g('vjp.x'))).toBeLessThan(1e-3);
    const r = net.d2(up('x'), t(), up('d2.w'), up('jvp.v'));
    expect(relMaxErr(await e.read(r.dv), g('jvp.out'))).toBeLessThan(1e-3);
    expect(relMaxErr(await e.read(r.d2), g('d2.out'))).toBeLessThan(1e-3);
  });
});
