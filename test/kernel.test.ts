// Kernel descriptors (src/engine/kernel.ts): the generated WGSL interface, packing by declared type, and
// the refusals of Engine.run (missing, unknown, mistyped parameters and buffers), each naming the kernel.
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { defineKernels, packParams } from '../src/engine/kernel.js';
import { registerShaderSources, shaderSource } from '../src/engine/shaders.js';
import { VECTOR } from '../src/engine/ops/vector.js';
import { linear, LINEAR } from '../src/engine/ops/linear.js';
import { CONV2D_SG } from '../src/engine/ops/conv2d.js';
import { getTestEngine } from './helpers.js';

const SHADERS = new URL('../shaders/', import.meta.url);
const SRC = new URL('../src/', import.meta.url);

/** every module under src/ that declares kernels (imported so that their interfaces are registered) */
function kernelModules(dir = SRC): URL[] {
  const out: URL[] = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const u = new URL(ent.name + (ent.isDirectory() ? '/' : ''), dir);
    if (ent.isDirectory()) out.push(...kernelModules(u));
    else if (ent.name.endsWith('.ts') && readFileSync(u, 'utf8').includes('defineKernels(')) out.push(u);
  }
  return out;
}

let e: Engine;
beforeAll(async () => {
  e = await getTestEngine();
});

describe('kernel descriptors', () => {
  it('generate the uniform struct (WGSL layout), the bindings and the optional flags', () => {
    const K = defineKernels('test-layout', {
      uniforms: { n: 'u32', s: 'f32', v: 'vec4f', k: 'i32', t: 'vec2u' },
      entries: {
        a: { bindings: { x: 'read', y: { access: 'read_write', type: 'vec4f', wgsl: 'y4' } } },
        b: { uniforms: ['n'], bindings: { x: 'read', bias: { optional: 'BIAS' } } },
      },
    });
    // n@0 s@4 (pad) v@16 k@32 (pad) t@40: 48 bytes
    expect(K.a.slots.map((s) => [s.name, s.offset])).toEqual([
      ['n', 0],
      ['s', 4],
      ['v', 16],
      ['k', 32],
      ['t', 40],
    ]);
    expect(K.a.uniformBytes).toBe(48);
    registerShaderSources({ 'test-layout': '// test\n//#interface\n@compute @workgroup_size(1) fn a() {}\n' });
    const src = shaderSource('test-layout');
    expect(src).toContain('struct Params {\n  n: u32,\n  s: f32,\n  v: vec4f,\n  k: i32,\n  t: vec2u,\n}');
    expect(src).toContain('@group(0) @binding(0) var<uniform> p: Params;');
    expect(src).toContain('@group(0) @binding(1) var<storage, read> x: array<f32>;');
    expect(src).toContain('@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;');
    expect(src).toContain('@group(0) @binding(2) var<storage, read> bias: array<f32>;');
    expect(src).toContain('override BIAS: bool = false;');
  });

  it('refuse inconsistent declarations', () => {
    expect(() =>
      defineKernels('test-bad', {
        entries: { a: { bindings: { x: 'read', y: 'read_write' } }, b: { bindings: { y: 'read_write', x: 'read' } } },
      }),
    ).toThrow(/kernel 'test-bad:b': binding 'y' is declared differently/);
    expect(() =>
      defineKernels('test-bad2', { uniforms: { n: 'u32' }, entries: { a: { uniforms: ['m'], bindings: {} } } }),
    ).toThrow(/kernel 'test-bad2:a': uniform 'm' is not in the family's block/);
    expect(() =>
      defineKernels('test-bad3', { entries: { a: { bindings: { o: { access: 'read_write', optional: 'O' } } } } }),
    ).toThrow(/optional binding 'o' must be read-only/);
    expect(() => defineKernels('test-bad4', { entries: { a: { bindings: { v: { view: 'nope' } } } } })).toThrow(
      /'v' views unknown binding 'nope'/,
    );
    // a shader without its //#interface line, and one whose interface nobody declared
    defineKernels('test-noline', { entries: { a: { bindings: { x: 'read' } } } });
    registerShaderSources({ 'test-noline': 'fn f() {}\n', 'test-orphan': '//#interface\n' });
    expect(() => shaderSource('test-noline')).toThrow(/needs exactly one \/\/#interface line/);
    expect(() => shaderSource('test-orphan')).toThrow(/no kernel declaration/);
  });

  it('pack each parameter by its declared type: a whole-number float stays a float', () => {
    const buf = packParams(VECTOR.affine_clamp, { n: 7, a: 2, b: -3, c: 0.5, d: 4 })!;
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    expect(u[0]).toBe(7);
    expect([f[1], f[2], f[3], f[4]]).toEqual([2, -3, 0.5, 4]);
    // entries that read a subset leave the rest zero
    const cp = new Float32Array(packParams(VECTOR.copy, { n: 3 })!);
    expect(new Uint32Array(cp.buffer)[0]).toBe(3);
    expect([...cp.slice(1)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuse missing, unknown and mistyped parameters, naming the kernel', () => {
    const t = e.tensor([8], 't');
    const o = e.tensor([8], 'o');
    const run = (params: Record<string, unknown>) =>
      e.run({ kernel: VECTOR.axpby, params: params as any, buffers: { x: t, out: o }, grid: [1] });
    expect(() => run({ n: 8, a: 1 })).toThrow(/kernel 'vector:axpby': missing parameter 'b' \(f32\)/);
    expect(() => run({ n: 8, a: 1, b: 1, c: 2 })).toThrow(/kernel 'vector:axpby': unknown parameter 'c'/);
    expect(() => run({ n: 8.5, a: 1, b: 1 })).toThrow(/kernel 'vector:axpby': parameter 'n' must be u32, got 8.5/);
    expect(() => run({ n: -1, a: 1, b: 1 })).toThrow(/parameter 'n' must be u32, got -1/);
    expect(() => run({ n: 2 ** 32, a: 1, b: 1 })).toThrow(/parameter 'n' must be u32/);
    expect(() => run({ n: 8, a: '1', b: 1 })).toThrow(/kernel 'vector:axpby': parameter 'a' must be f32, got string 1/);
    expect(() => run({ n: 8, a: NaN, b: 1 })).toThrow(/parameter 'a' must be f32, got NaN/);
    expect(() => run({ n: 8, a: [1, 2], b: 1 })).toThrow(/parameter 'a' must be f32/);
    const V = defineKernels('test-vec', { uniforms: { v: 'vec2i' }, entries: { a: { bindings: {} } } });
    expect(() => packParams(V.a, { v: [1] })).toThrow(/kernel 'test-vec:a': parameter 'v' must be vec2i, got \[1\]/);
    expect(() => packParams(V.a, { v: [1, 2 ** 31] })).toThrow(/must be vec2i/);
    expect(new Int32Array(packParams(V.a, { v: [-1, 5] })!).slice(0, 2)).toEqual(new Int32Array([-1, 5]));
    e.release(t, o);
  });

  it('refuse missing, unknown and view buffers, and a flag set by hand', () => {
    const t = e.tensor([8], 't');
    const params = { n: 8, a: 1, b: 1 };
    expect(() => e.run({ kernel: VECTOR.axpby, params, buffers: { x: t }, grid: [1] })).toThrow(
      /kernel 'vector:axpby': missing buffer 'out'/,
    );
    expect(() => e.run({ kernel: VECTOR.axpby, params, buffers: { x: t, out: t, y: t }, grid: [1] })).toThrow(
      /kernel 'vector:axpby': unknown buffer 'y' \(it takes: x, out\)/,
    );
    expect(() => e.run({ kernel: VECTOR.axpby, params, buffers: { x: t, out: {} as any }, grid: [1] })).toThrow(
      /kernel 'vector:axpby': buffer 'out' is not a tensor/,
    );
    // a view of another binding is bound by the engine, not passed
    const lp = { n: 2, cin: 4, cout: 4, bias_batches: 2 };
    const convParams = { n: 1, cin: 1, h: 2, w: 4, cout: 1, ho: 2, wo: 4, pp: 8, npix: 8, bias_batches: 0 };
    expect(() =>
      e.run({ kernel: CONV2D_SG.conv1, params: convParams, buffers: { x: t, x1: t, w: t, y: t }, grid: [1] }),
    ).toThrow(/kernel 'conv2d-sg:conv1': unknown buffer 'x1'/);
    // an optional binding's flag follows the buffer
    expect(() =>
      e.run({ kernel: LINEAR.main, constants: { BIAS: 1 }, params: lp, buffers: { x: t, w: t, y: t }, grid: [1] }),
    ).toThrow(/kernel 'linear:main': override 'BIAS' is set from binding 'bias', not by the caller/);
    e.release(t);
  });

  it('an absent optional binding sets its flag: linear without bias equals linear with a zero bias', async () => {
    const x = e.upload(
      Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5),
      [3, 4],
    );
    const w = e.upload(
      Float32Array.from({ length: 8 }, (_, i) => (i % 3) - 1),
      [2, 4],
    );
    const zero = e.upload(new Float32Array(2), [2]);
    const bias = e.upload(new Float32Array([10, 20]), [2]);
    const a = await e.read(linear(e, x, w, null, { variant: 'portable' }));
    const b = await e.read(linear(e, x, w, zero, { variant: 'portable' }));
    const c = await e.read(linear(e, x, w, bias, { variant: 'portable' }));
    expect([...a]).toEqual([...b]);
    // c − a = bias up to float32 rounding of c (|c| ≤ 25: ulp 2e-6)
    [...c].forEach((v, i) => expect(Math.abs(v - a[i] - [10, 20][i % 2])).toBeLessThan(1e-5));
  });

  it('no shader declares its own uniform struct or bindings; every family compiles from its declaration', async () => {
    for (const m of kernelModules()) await import(m.href);
    const families = readdirSync(SHADERS)
      .filter((f) => f.endsWith('.wgsl'))
      .map((f) => f.slice(0, -5));
    const withInterface: string[] = [];
    for (const f of families) {
      const text = readFileSync(new URL(`${f}.wgsl`, SHADERS), 'utf8');
      expect(text, f).not.toMatch(/struct Params|@binding\(/);
      if (/^\/\/#interface\s*$/m.test(text)) withInterface.push(f);
    }
    expect(withInterface.length).toBeGreaterThan(25);
    for (const f of withInterface) {
      const mod = e.device.createShaderModule({ code: shaderSource(f), label: f });
      const info = await mod.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error').map((m) => `${f}:${m.lineNum}: ${m.message}`);
      expect(errors).toEqual([]);
    }
  });
});
