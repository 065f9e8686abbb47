// Parity of the UNet with the published guided-diffusion code: test/fixtures/adm-tiny/unet-golden.safetensors
// holds float64 reference math on the float32 weights of model.pt. Acceptance: every block activation and
// the output within 1e-4 × max|reference| (float32 through ~30 layers accumulates ~1e-6..1e-5 relative).
// Derivatives: VJP, JVP and the hyper-dual D² within 1e-3 × max|reference| (the d2 reference is a float64
// central difference accurate to ~1e-6 relative).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import { parseSafetensors, serializeSafetensors, tensorToFloat32 } from '../src/engine/safetensors.js';
import { UNet, loadUNet } from '../src/unet/index.js';
import { VECTOR } from '../src/engine/ops/vector.js';
import { convertCheckpointBytes } from '../tools/convert-weights/convert.js';
import { getTestEngine, readFixture, relMaxErr } from './helpers.js';
import { readFileSync } from 'node:fs';

let e: Engine;
let net: UNet;
const golden = parseSafetensors(readFixture('adm-tiny/unet-golden.safetensors'));
const g = (name: string) => tensorToFloat32(golden.tensors.get(name)!);
const shape = (name: string) => golden.tensors.get(name)!.shape;

beforeAll(async () => {
  e = await getTestEngine();
  const cfg = JSON.parse(readFileSync(new URL('./fixtures/adm-tiny/config.json', import.meta.url), 'utf8'));
  const conv = convertCheckpointBytes(readFixture('adm-tiny/model.pt'), cfg, { sourceName: 'model.pt' });
  net = loadUNet(e, serializeSafetensors(conv.tensors, conv.metadata));
});
afterAll(() => net.destroy());

const up = (name: string) => e.upload(g(name), shape(name), name);
const t = () => Array.from(g('t'));

describe('adm-tiny UNet vs guided-diffusion (float64 reference)', () => {
  it('forward: time embedding, every block activation and the output within 1e-4 relative', async () => {
    const acts = new Map<string, Tensor>();
    const emb = net.timeEmbedding(t());
    const x = up('x');
    const pass = (net as any).begin(t(), 1);
    const out = net.run(pass, x, (name, h) => acts.set(name, (h as Tensor) && copyOf(h)));
    const errs: Record<string, number> = {};
    errs['time_embed'] = relMaxErr(await e.read(emb), g('act.time_embed'));
    for (const [name, tensor] of acts) errs[name] = relMaxErr(await e.read(tensor), g(`act.${name}`));
    errs['out'] = relMaxErr(await e.read(out), g('out'));
    console.log('forward max rel errors', errs);
    expect(acts.size).toBe(13);
    for (const [k, v] of Object.entries(errs)) expect(v, k).toBeLessThan(1e-4);
    // The public forward gives the same result.
    expect(relMaxErr(await e.read(net.forward(x, t())), g('out'))).toBeLessThan(1e-4);
  });

  it('VJP uᵀ∂f/∂x within 1e-3 relative', async () => {
    const { grad } = net.vjp(up('x'), t(), up('vjp.u'));
    const err = relMaxErr(await e.read(grad), g('vjp.x'));
    console.log('vjp max rel error', err);
    expect(err).toBeLessThan(1e-3);
  });

  it('forwardWithVjp gives the same output and gradient as forward + vjp', async () => {
    const r = net.forwardWithVjp(up('x'), t());
    expect(relMaxErr(await e.read(r.out), g('out'))).toBeLessThan(1e-4);
    expect(relMaxErr(await e.read(r.backward(up('vjp.u'))), g('vjp.x'))).toBeLessThan(1e-3);
    expect(() => r.backward(up('vjp.u'))).toThrow(/once/);
    const r2 = net.forwardWithVjp(up('x'), t());
    r2.release();
  });

  it('JVP ∂f/∂x·v within 1e-3 relative', async () => {
    const { out, tangent } = net.jvp(up('x'), t(), up('jvp.v'));
    const err = relMaxErr(await e.read(tangent), g('jvp.out'));
    console.log('jvp max rel error', err);
    expect(relMaxErr(await e.read(out), g('out'))).toBeLessThan(1e-4);
    expect(err).toBeLessThan(1e-3);
  });

  it('hyper-dual D²f[w, v] within 1e-3 relative', async () => {
    const r = net.d2(up('x'), t(), up('d2.w'), up('jvp.v'));
    const err = relMaxErr(await e.read(r.d2), g('d2.out'));
    console.log('d2 max rel error', err);
    expect(relMaxErr(await e.read(r.dv), g('jvp.out'))).toBeLessThan(1e-3);
    expect(relMaxErr(await e.read(r.out), g('out'))).toBeLessThan(1e-4);
    expect(err).toBeLessThan(1e-3);
  });

  it('rejects a wrongly shaped input with a clear error', () => {
    expect(() => net.forward(e.upload(new Float32Array(3 * 16 * 16), [1, 3, 16, 16]), [5])).toThrow(
      /x must be \[N, 3, 32, 32\]/,
    );
    expect(() => net.forward(up('x'), [1])).toThrow(/1 timesteps for a batch of 2/);
  });
});

function copyOf(h: Tensor): Tensor {
  const c = e.tensor(h.shape, 'act');
  // record a copy so that later frees of h do not disturb the check
  e.run({
    kernel: VECTOR.copy,
    buffers: { x: h, out: c },
    params: { n: h.size },
    grid: [Math.ceil(h.size / 256)],
  });
  return c;
}
