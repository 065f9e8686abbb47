// `posterior sample`'s outputs, spawned as a user runs it: the measurement beside the result (and inside a
// .safetensors output, readable back as --measurement), K posterior samples with their mean and per-pixel
// std, the x̂₀ trajectory strip, a folder of images as --input, and a batch refused for a .png output before
// any sampling. Two DDRM/ΠGDM steps on the embedded 32×32 model keep each run to a few seconds.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readSafetensorsFile } from '../src/engine/safetensors-node.ts';
import { writeSafetensorsFile } from '../src/io/atomic.ts';
import { tensorToFloat32 } from '../src/engine/safetensors.ts';
import { encodePng, readPng } from '../src/io/png.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/posterior.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'posterior-sample-'));

function posterior(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: tmp,
    encoding: 'utf8',
    env: { ...process.env, DEBUG: '' },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function image(path: string, phase: number) {
  const v = new Float32Array(32 * 32).map((_, i) => Math.sin(i / 7 + phase));
  writeFileSync(path, encodePng(v, [1, 1, 32, 32]));
}

const tensor = (file: string, name: string) => {
  const t = readSafetensorsFile(file).tensors.get(name);
  if (!t) throw new Error(`${file}: no ${name}`);
  return { data: tensorToFloat32(t), shape: [...t.shape] };
};

image(join(tmp, 'x.png'), 0);

describe('posterior sample outputs', () => {
  it('--samples K: K distinct samples, their mean as x0 and their per-pixel std; the measurement inside', () => {
    const out = join(tmp, 'k.safetensors');
    const r = posterior(
      ['sample', '-i', 'x.png', '--task', 'inpaint-box', '-m', 'ddrm', '--steps', '2', '--samples', '3'].concat([
        '--save-every',
        '1',
        '-o',
        out,
      ]),
    );
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const all = tensor(out, 'samples');
    const x0 = tensor(out, 'x0');
    const std = tensor(out, 'std');
    expect(all.shape).toEqual([3, 1, 32, 32]);
    expect(x0.shape).toEqual([1, 1, 32, 32]);
    const P = 32 * 32;
    let maxMeanErr = 0,
      maxStdErr = 0,
      spread = 0;
    for (let j = 0; j < P; j++) {
      const s = [0, 1, 2].map((k) => all.data[k * P + j]);
      const mu = (s[0] + s[1] + s[2]) / 3;
      const sd = Math.sqrt(s.reduce((a, v) => a + (v - mu) ** 2, 0) / 2);
      maxMeanErr = Math.max(maxMeanErr, Math.abs(x0.data[j] - mu));
      maxStdErr = Math.max(maxStdErr, Math.abs(std.data[j] - sd));
      spread = Math.max(spread, sd);
    }
    // float32 storage of float64 sums: agreement to a few ulps of values in [−1, 1]
    expect(maxMeanErr).toBeLessThan(1e-6);
    expect(maxStdErr).toBeLessThan(1e-5);
    expect(spread).toBeGreaterThan(1e-3); // distinct seeds: the samples differ
    // x̂₀ at each of the 2 steps, for all 3 samples
    expect(tensor(out, 'trajectory').shape).toEqual([2, 3, 1, 32, 32]);
    // the measurement: y (one per image, not per sample) and the mask, readable as --measurement
    expect(tensor(out, 'y').shape).toEqual([1, 1, 32, 32]);
    expect(tensor(out, 'mask').shape).toEqual([1, 1, 32, 32]);
    const back = posterior(['sample', '--measurement', out, '-m', 'pigdm', '--steps', '2', '-o', 'back.png']);
    expect(back.stderr).not.toMatch(/error/);
    expect(back.code).toBe(0);
  }, 120_000);

  it('a .png output: the result, OUT-measurement.png, OUT-std.png and OUT-trajectory.png beside it', () => {
    const dir = join(tmp, 'png');
    mkdirSync(dir);
    const r = posterior(
      ['sample', '-i', 'x.png', '--task', 'sr4', '-m', 'ddrm', '--steps', '3', '--samples', '2'].concat([
        '--save-every',
        '2',
        '-o',
        join(dir, 'o.png'),
      ]),
    );
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['o-measurement.png', 'o-std.png', 'o-trajectory.png', 'o.png']);
    expect(readPng(join(dir, 'o-measurement.png')).shape).toEqual([1, 1, 8, 8]); // ×4 super-resolution's y
    const strip = readPng(join(dir, 'o-trajectory.png'));
    expect(strip.shape[3]).toBeGreaterThanOrEqual(2 * 128); // steps 1 and 3 side by side, cells ≥ 128 px
    // a second run does not overwrite the companions it was not told to (the user named only o.png)
    const again = posterior(['sample', '-i', 'x.png', '--task', 'sr4', '-m', 'ddrm', '-o', join(dir, 'o.png')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/o-measurement\.png: exists and would be overwritten.*--force/);
  }, 120_000);

  it('a folder as --input: one output per image into the --output folder, batched, same as one by one', () => {
    const inDir = join(tmp, 'in');
    mkdirSync(inDir);
    ['a', 'b', 'c'].forEach((n, i) => image(join(inDir, `${n}.png`), i));
    const args = ['--task', 'inpaint-random', '-m', 'ddrm', '--steps', '2'];
    const r = posterior(['sample', '-i', inDir, ...args, '--batch', '2', '-o', 'outdir']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(readdirSync(join(tmp, 'outdir')).sort()).toEqual(
      ['a', 'b', 'c'].flatMap((n) => [`${n}-measurement.png`, `${n}.png`]),
    );
    // image 0 of the folder has the seeds of a single run: the same result
    const one = posterior(['sample', '-i', join(inDir, 'a.png'), ...args, '-o', 'a-alone.png']);
    expect(one.code).toBe(0);
    expect(readFileSync(join(tmp, 'outdir', 'a.png'))).toEqual(readFileSync(join(tmp, 'a-alone.png')));
  }, 120_000);

  it('a batch measurement with a .png output is refused before sampling, a .safetensors output takes it', () => {
    const y = new Float32Array(2 * 8 * 8).map((_, i) => Math.cos(i));
    writeSafetensorsFile(
      join(tmp, 'm2.safetensors'),
      { y: { shape: [2, 1, 8, 8], data: y } },
      { task: 'sr4', noise: 'gaussian', sigma_y: '0.05' },
    );
    const r = posterior(['sample', '--measurement', 'm2.safetensors', '-m', 'ddrm', '--steps', '2', '-o', 'b.png']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/m2\.safetensors: holds 2 images; a \.png output holds one/);
    expect(r.stderr).not.toMatch(/ddrm sr4: \d/); // no step ran
    const ok = posterior([
      'sample',
      '--measurement',
      'm2.safetensors',
      '-m',
      'ddrm',
      '--steps',
      '2',
      '-o',
      'b.safetensors',
    ]);
    expect(ok.code).toBe(0);
    expect(tensor(join(tmp, 'b.safetensors'), 'x0').shape).toEqual([2, 1, 32, 32]);
  }, 120_000);
});
