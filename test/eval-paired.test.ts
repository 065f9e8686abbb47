// `posterior eval`'s paired +CMI comparison (pure function, no GPU).
import { describe, expect, it } from 'vitest';
import { pairedCmiSection } from '../src/cli/commands/eval.js';

describe('eval: +CMI paired against its base', () => {
  it('mean difference ± standard error, images improved; rows without a base are skipped', () => {
    const rows = [
      { task: 'sr4', method: 'dps', psnr: [10, 12, 14], ssim: [0.5, 0.6, 0.7] },
      { task: 'sr4', method: 'dps+cmi', psnr: [11, 12.5, 13.9], ssim: [0.5, 0.6, 0.7] },
      { task: 'sr4', method: 'pigdm+cmi', psnr: [1], ssim: [0] },
    ];
    const md = pairedCmiSection(rows);
    // Δ = [1, 0.5, −0.1]: mean 0.4667, sample std 0.5508, SEM 0.3180
    expect(md.filter((l) => l.startsWith('| sr4'))).toEqual(['| sr4 | dps | +0.467 ± 0.318 | +0.000 ± 0.000 | 2/3 |']);
    expect(pairedCmiSection(rows.slice(0, 1))).toEqual([]);
  });
});
