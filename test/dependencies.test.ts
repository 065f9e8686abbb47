// The layout's dependency rules (tools/check-layout.ts, `npm run check:layout`) hold for this tree, and the
// check catches a breach in a synthetic one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkLayout } from '../tools/check-layout.js';

describe('layout', () => {
  it('every import of src/, web/, tools/ and bench/ follows the dependency rules', () => {
    expect(checkLayout(fileURLToPath(new URL('..', import.meta.url)))).toEqual([]);
  });

  it('reports an engine importing the samplers, samplers importing the UNet, and src/ importing tools/', () => {
    const root = mkdtempSync(join(tmpdir(), 'layout-'));
    try {
      const put = (p: string, text: string) => {
        mkdirSync(join(root, p, '..'), { recursive: true });
        writeFileSync(join(root, p), text);
      };
      put('src/engine/a.ts', "import { x } from '../samplers/b.js';\nexport const a = x;\n");
      put('src/samplers/b.ts', "export { y as x } from '../unet/c.js';\n");
      put('src/unet/c.ts', "export const y = 1;\nconst t = () => import('../../tools/d.js');\n");
      put('src/lab/ok.ts', "import '../samplers/b.js';\nimport { y } from '../unet/c.js';\n");
      put('src/cli/ok.ts', "import '../../tools/d.js';\n");
      put('tools/d.ts', "import '../src/lab/ok.js';\n");
      expect(checkLayout(root).sort()).toEqual([
        'src/engine/a.ts: imports ../samplers/b.js (src/engine may import nothing of ours)',
        'src/lab/ok.ts: imports ../unet/c.js (src/lab may import engine, operators, samplers, io)',
        'src/samplers/b.ts: imports ../unet/c.js (src/samplers may import engine, operators)',
        'src/unet/c.ts: imports ../../tools/d.js (only src/cli may import outside src/)',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
