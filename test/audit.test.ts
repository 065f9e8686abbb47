// The dispatch audit (src/engine/audit.ts): workgroup sizes read from the WGSL, records without execution,
// and the property the GPU path is designed for: every conv of the FFHQ-256 UNet fills an H100.
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditEngine, H100, summarizeAudit, workgroupSize } from '../src/engine/audit.js';
import type { Engine, Tensor } from '../src/engine/index.js';
import { UNet, architectureTensors, parseModelConfig } from '../src/unet/index.js';
import { main } from '../src/cli/main.ts';
import { getTestEngine } from './helpers.js';

// the DPS FFHQ-256 config (test/fixtures/manifests/ffhq-256.keys.json)
const FFHQ = parseModelConfig({
  image_size: 256,
  num_channels: 128,
  num_res_blocks: 1,
  learn_sigma: true,
  attention_resolutions: '16',
  num_heads: 4,
  num_head_channels: 64,
  use_scale_shift_norm: true,
  resblock_updown: true,
});

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

describe('workgroupSize', () => {
  it('reads literals and resolves override constants (given or their defaults)', () => {
    expect(workgroupSize({ family: 'conv2d', entry: 'tiled' })).toBe(64); // @workgroup_size(8, 8)
    expect(workgroupSize({ family: 'conv2d', entry: 'splitk_reduce' })).toBe(64);
    expect(workgroupSize({ family: 'vector', entry: 'axpby' })).toBe(256);
    expect(workgroupSize({ family: 'groupnorm', entry: 'gn_stats', constants: { WG: 128 } })).toBe(128);
    expect(() => workgroupSize({ family: 'conv2d', entry: 'nope' })).toThrow(/no @workgroup_size for entry 'nope'/);
  });
});

describe('AuditEngine', () => {
  it('records the FFHQ-256 forward and VJP for an H100 without running them; every conv fills its 132 SMs', () => {
    const config = FFHQ;
    const a = new AuditEngine(e.gpu, H100);
    expect(a.adapter.kind).toBe('gpu');
    const tensors = new Map(architectureTensors(config).map(([n, s]) => [n, a.tensor(s, n)]));
    const net = new UNet(a, { config, tensors, numParams: 0 });
    const x = a.tensor([1, 3, 256, 256]);
    a.reset();
    a.release(net.forward(x, [500]));
    const fwd = summarizeAudit(a.audit);
    // 388 GFLOP: the count quoted for this UNet beside its H100 reference timings
    expect(fwd.flops / 1e9).toBeGreaterThan(380);
    expect(fwd.flops / 1e9).toBeLessThan(400);
    expect(a.peakBytes).toBeGreaterThan(0);
    a.reset();
    a.release(...(Object.values(net.vjp(x, [500], a.tensor([1, 6, 256, 256]))) as Tensor[]));
    const vjp = summarizeAudit(a.audit);
    expect(vjp.flops).toBeGreaterThan(1.9 * fwd.flops);
    for (const r of a.audit.filter((r) => r.kernel.startsWith('conv2d')))
      expect(r.workgroups, r.label).toBeGreaterThanOrEqual(H100.sms);
    // the time floor is dominated by the convolutions, not GroupNorm or attention
    expect(vjp.byKernel[0].kernel).toBe('conv2d:tiled');
    expect(() => a.read(x)).toThrow(/cannot be read/);
    // on a GPU the output blocks concatenate (fewer dispatches), as their 256x256 concat fits 2 GiB bindings
    expect(a.audit.filter((r) => r.kernel === 'channels:concat').length).toBe(12);
  });

  it('FFHQ-256 hyper-dual pass within 128 MiB bindings: the 256x256 output blocks go concat-free', () => {
    const small = new AuditEngine(e.gpu, { ...H100, limits: { ...H100.limits, maxStorageBufferBindingSize: 2 ** 27 } });
    const tensors = new Map(architectureTensors(FFHQ).map(([n, s]) => [n, small.tensor(s, n)]));
    const net = new UNet(small, { config: FFHQ, tensors, numParams: 0 });
    const x = small.tensor([1, 3, 256, 256]);
    small.reset();
    const r = net.d2(x, [500], x, x); // throws if any dispatch binds more than 128 MiB
    small.release(r.out, r.dw, r.dv, r.d2);
    // 12 output blocks: the two at 256x256 (128 + 128 channels) no longer concatenate
    expect(small.audit.filter((r) => r.kernel === 'channels:concat').length).toBe(10);
    net.concatFree = false;
    expect(() => net.d2(x, [500], x, x)).toThrow(/channels:concat' binds 256.0 MiB/);
  });
});

describe('posterior bench --audit', () => {
  const run = async (args: string[]) => {
    const out: string[] = [],
      err: string[] = [];
    const code = await main(args, { log: (s) => out.push(s), error: (s) => err.push(s) }, {});
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('prints every dispatch of the embedded prior with the H100 floor, and refuses an unknown model', async () => {
    const r = await run(['bench', '--audit', 'fmnist']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/## fmnist forward: \d+ dispatches, [\d.]+ GFLOP, .* floor at NVIDIA H100 SXM peak/);
    expect(r.out).toMatch(/## fmnist forward \+ VJP: \d+ dispatches/);
    expect(r.out).toMatch(/peak memory of the pass/);
    expect(r.out).toMatch(/^forward \+ VJP\s+\d+\s+[\d.]+\s+[\d.]+/m);
    const bad = await run(['bench', '--audit', 'no-such-model']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--audit: 'no-such-model' is neither a known model/);
  });
});
