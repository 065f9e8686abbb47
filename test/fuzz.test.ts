// The weight readers under mutation (tools/fuzz/mutate.ts): the hostile files named in the hardening issue and
// a fixed-seed sample of random and structure-aware mutations of the committed fixtures. Every input must be
// accepted unchanged or refused with "<file>: <what is wrong>" — no internal error, no accepted corrupt layout,
// nothing slow. `npm run fuzz` runs the same generator on ≥ 10,000 inputs.
import { describe, expect, it } from 'vitest';
import {
  generate,
  hostileTemplates,
  loadBase,
  runOne,
  summarize,
  type FuzzInput,
  type FuzzResult,
} from '../tools/fuzz/mutate.ts';

const base = loadBase();

describe('weight-reader fuzzing', () => {
  it('refuses every hostile template cleanly and quickly, naming the problem', () => {
    const byKind = new Map<string, FuzzResult>();
    for (const input of hostileTemplates(base)) byKind.set(input.kind, runOne(base, input));
    for (const [kind, r] of byKind) {
      expect(r.outcome, `${kind}: ${r.message}`).toBe('refused');
      // CPU time (wall time measures the load of a shared machine): each takes milliseconds to a few hundred
      expect(r.cpuMs, kind).toBeLessThan(5000);
    }
    const msg = (k: string) => byKind.get(k)!.message;
    expect(msg('long4-1MiB')).toMatch(/fuzz\.pt: .*integer of 1048576 bytes exceeds the limit/);
    expect(msg('text-int-1M-digits')).toMatch(/exceeds the limit of 4300 digits/);
    expect(msg('appends-500k')).toMatch(/fuzz\.pt: /);
    expect(msg('marks-200k-deep')).toMatch(/MARKs nested more than/);
    expect(msg('empty-lists-6M')).toMatch(/more than 1000000 values/);
    expect(msg('zero-stride-65536^2')).toMatch(/maps several elements to one storage position/);
    expect(msg('negative-shape')).toMatch(/negative size/);
    expect(msg('negative-stride')).toMatch(/negative stride/);
    expect(msg('view-past-storage')).toMatch(/exceeds its storage of 64 elements/);
    expect(msg('storage-short')).toMatch(/has 128 bytes, but 64 float32 elements take 256/);
    expect(msg('storage-long')).toMatch(/has 512 bytes, but 64 float32 elements take 256/);
    expect(msg('dtype-proto')).toMatch(/refused to load the pickled global "torch.__proto__"/);
    expect(msg('ordereddict-of-int')).toMatch(/OrderedDict: argument is not a list of \(key, value\) pairs/);
    expect(msg('duplicate-zip-names')).toMatch(/two entries are named/);
    expect(msg('local-central-mismatch')).toMatch(/local header at byte \d+ names/);
    expect(msg('deflate-bomb-lying-size')).toMatch(/inflates to more than its declared/);
    expect(msg('deflate-declared-beyond-ratio')).toMatch(/beyond deflate's maximum ratio/);
    expect(msg('header-100MiB-claimed')).toMatch(/fuzz\.safetensors: .*above the \d+-byte limit/);
    expect(msg('header-one-byte-short')).toMatch(/not valid JSON|cover/);
    expect(msg('trailing-bytes')).toMatch(/cover \d+ bytes but the data section has \d+/);
    expect(msg('duplicate-key')).toMatch(/duplicate key "out\.2\.bias"/);
    expect(msg('dtype-toString')).toMatch(/unsupported dtype "toString"/);
    expect(msg('gap')).toMatch(/a gap in the data section/);
    expect(msg('overlap')).toMatch(/overlaps the previous tensor/);
    expect(msg('st-negative-shape')).toMatch(/bad shape/);
    expect(msg('deep-header')).toMatch(/nested more than 4 levels/);
    expect(msg('nan-weight')).toMatch(/non-finite value \(NaN at index 0\)/);
    expect(msg('config-numResBlocks-1e300')).toMatch(/numResBlocks must be an integer in \[1, 16\]/);
    expect(msg('config-learnSigma-vs-out')).toMatch(/outChannels is 2 but learnSigma false/);
  });

  it('a fixed-seed sample of 300 mutations: no internal error, no accepted corrupt layout', () => {
    const results: { input: FuzzInput; result: FuzzResult }[] = [];
    for (const input of generate(base, 20261206, 300)) results.push({ input, result: runOne(base, input) });
    const s = summarize(results);
    expect(s.examples).toEqual([]);
    expect(s.outcomes['internal-error']).toBe(0);
    expect(s.outcomes['accepted-corrupt']).toBe(0);
    expect(s.over5s).toBe(0);
    // A .pt is CRC-protected: a mutation that survives the reader must leave the weights as they were.
    const ptChanged = results.filter((r) => r.input.format === 'pt' && r.result.outcome === 'accepted-changed');
    expect(ptChanged.map((r) => r.input.kind)).toEqual([]);
    // the sample exercises both formats and mostly refusals
    expect(s.byFormat.pt).toBeGreaterThan(80);
    expect(s.byFormat.safetensors).toBeGreaterThan(80);
    expect(s.outcomes.refused).toBeGreaterThan(240);
  });
});
