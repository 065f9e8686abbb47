// The adapter classification and the one place that picks kernel variants (src/engine/adapter.ts).
import { describe, expect, it } from 'vitest';
import { Adapter, parseVariantForce, VARIANT_OPS } from '../src/engine/adapter.js';

const fake = (sub: [number, number] | null, extra: Record<string, unknown> = {}) => ({
  adapter: { info: sub ? { subgroupMinSize: sub[0], subgroupMaxSize: sub[1] } : {}, ...extra } as any,
  hasSubgroups: sub !== null,
});

describe('Adapter', () => {
  it('classifies CPU SIMD (8/16 lanes), GPU (32/64 or none) and compatibility-mode adapters', () => {
    expect(new Adapter(fake([8, 8])).kind).toBe('cpu-simd');
    expect(new Adapter(fake([8, 8])).sg8).toBe(true);
    expect(new Adapter(fake([8, 16])).kind).toBe('cpu-simd');
    expect(new Adapter(fake([8, 16])).sg8).toBe(false);
    expect(new Adapter(fake([4, 4])).kind).toBe('gpu'); // SSE width: the simd kernels need 8-lane multiples
    expect(new Adapter(fake([32, 32])).kind).toBe('gpu');
    expect(new Adapter(fake([32, 64])).kind).toBe('gpu');
    expect(new Adapter(fake(null)).kind).toBe('gpu');
    expect(new Adapter(fake(null, { featureLevel: 'compatibility' })).kind).toBe('compat');
  });

  it('picks simd on CPU SIMD adapters where the shape fits, portable elsewhere', () => {
    const cpu = new Adapter(fake([8, 8])),
      gpu = new Adapter(fake([32, 32]));
    for (const op of VARIANT_OPS) {
      expect(cpu.pick(op, true, op, '')).toBe('simd');
      expect(cpu.pick(op, false, op, '')).toBe('portable');
      expect(gpu.pick(op, true, op, '')).toBe('portable');
      expect(cpu.variants(op)).toEqual(['simd', 'portable']);
      expect(gpu.variants(op)).toEqual(['portable']);
    }
  });

  it('forces variants per engine and per call, and refuses what cannot run', () => {
    const cpu = new Adapter(fake([8, 8]), { conv2d: 'portable' });
    expect(cpu.pick('conv2d', true, 'conv2d', '')).toBe('portable');
    expect(cpu.pick('conv2d', true, 'conv2d', '', 'simd')).toBe('simd'); // per call wins
    expect(cpu.pick('linear', true, 'linear', '')).toBe('simd');
    expect(() => cpu.pick('conv2d', false, 'conv2d', 'k=5', 'simd')).toThrow(
      /conv2d: variant 'simd' does not cover this shape \(k=5\)/,
    );
    cpu.forceAll('portable');
    expect(VARIANT_OPS.map((op) => cpu.pick(op, true, op, ''))).toEqual(VARIANT_OPS.map(() => 'portable'));
    cpu.forceAll(undefined);
    expect(cpu.pick('conv2d', true, 'conv2d', '')).toBe('simd');
    const gpu = new Adapter(fake([32, 32]));
    expect(() => gpu.force('attention', 'simd')).toThrow(/needs a CPU SIMD adapter/);
    expect(() => gpu.pick('attention', true, 'attention', '', 'simd')).toThrow(/needs a CPU SIMD adapter/);
  });

  it('parses POSTERIOR_KERNELS specs and names what is wrong', () => {
    expect(parseVariantForce('portable')).toEqual({
      conv2d: 'portable',
      linear: 'portable',
      groupnorm: 'portable',
      attention: 'portable',
    });
    expect(parseVariantForce('conv2d=portable, attention=simd')).toEqual({ conv2d: 'portable', attention: 'simd' });
    expect(() => parseVariantForce('fast')).toThrow(/POSTERIOR_KERNELS: unknown kernel variant 'fast'/);
    expect(() => parseVariantForce('matmul=simd')).toThrow(/POSTERIOR_KERNELS: unknown op 'matmul'/);
  });
});
