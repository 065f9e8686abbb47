import { describe, expect, it } from 'vitest';
import { fmtDuration, fmtNum, Progress } from '../src/cli/progress.ts';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 120, write: (s: string) => chunks.push(s) } };
}

describe('progress', () => {
  it('TTY: redraws one line with bar, counts, rate, ETA and custom fields', () => {
    let t = 0;
    const { chunks, stream } = fakeStream(true);
    const p = new Progress({ total: 10, label: 'DPS', stream, now: () => t, redrawIntervalMs: 0 });
    for (let i = 0; i < 4; i++) {
      t += 500;
      p.tick({ '‖y−Ax̂₀‖': 0.123456 });
    }
    const last = chunks[chunks.length - 1];
    expect(last.startsWith('\r\x1b[K')).toBe(true);
    expect(last).toContain('4/10');
    expect(last).toContain('40%');
    expect(last).toContain('2 step/s');
    expect(last).toContain('ETA 0:03');
    expect(last).toContain('‖y−Ax̂₀‖ 0.1235');
    expect(last).toMatch(/█+░+/);
    p.done('finished');
    expect(chunks.join('')).toMatch(/4\/10 │ 40% │ 2 step\/s │ took 0:02 │ ‖y−Ax̂₀‖ 0.1235\n/);
    expect(chunks[chunks.length - 1]).toBe('finished\n');
  });

  it('plain mode: prints the first, periodic and final lines only', () => {
    let t = 0;
    const { chunks, stream } = fakeStream(false);
    const p = new Progress({ total: 100, label: 'eval', stream, now: () => t, plainIntervalMs: 10_000, unit: 'img' });
    for (let i = 0; i < 100; i++) {
      t += 1000; // 1 s per step: a line every 10 steps, plus the first
      p.tick({ psnr: 20 + i / 10 });
    }
    p.done();
    expect(chunks.every((c) => c.endsWith('\n') && !c.includes('\r'))).toBe(true);
    expect(chunks.length).toBeGreaterThanOrEqual(10);
    expect(chunks.length).toBeLessThanOrEqual(12);
    expect(chunks[0]).toMatch(/^eval: 1\/100, 1%, 1 img\/s, ETA 1:39, psnr 20/);
    expect(chunks[chunks.length - 1]).toMatch(/^eval: 100\/100, 100%, 1 img\/s, took 1:40, psnr 29\.9/);
  });

  it('log() keeps the bar intact on a TTY', () => {
    const { chunks, stream } = fakeStream(true);
    const p = new Progress({ total: 2, stream, redrawIntervalMs: 0 });
    p.tick();
    p.log('a message');
    expect(chunks[chunks.length - 2]).toBe('\r\x1b[Ka message\n');
    expect(chunks[chunks.length - 1]).toContain('1/2');
  });

  it('formats numbers and durations', () => {
    expect(fmtNum(0.000123)).toBe('1.23e-4');
    expect(fmtNum(12.3456)).toBe('12.35');
    expect(fmtNum(123456)).toBe('1.23e+5');
    expect(fmtDuration(59.6)).toBe('1:00');
    expect(fmtDuration(3725)).toBe('1:02:05');
  });
});
