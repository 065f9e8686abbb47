// web/serve.mjs, the page's static server: real paths stay under the root (symbolic links out are refused),
// no dotfiles, and only requests naming the loopback host (a DNS-rebinding page on another name is refused).
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serve } from '../web/serve.mjs';

function get(url: string, host?: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => ok({ status: res.statusCode!, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('web/serve.mjs', () => {
  it('serves files under its root only, never dotfiles, and only to the loopback host', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'serve-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    const root = mkdtempSync(join(tmpdir(), 'serve-root-'));
    writeFileSync(join(root, 'index.html'), 'page');
    writeFileSync(join(root, '.env'), 'TOKEN=1');
    mkdirSync(join(root, '.git'));
    writeFileSync(join(root, '.git', 'config'), 'git');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
    symlinkSync(outside, join(root, 'dir'));
    const s = await serve({ root });
    try {
      expect(await get(s.url)).toEqual({ status: 200, body: 'page' });
      expect((await get(s.url + 'index.html', 'localhost:1234')).status).toBe(200);
      for (const p of ['.env', '.git/config', 'link.txt', 'dir/secret.txt', '%2e%2e/secret.txt'])
        expect((await get(s.url + p)).body, p).not.toMatch(/secret|TOKEN|git/);
      expect((await get(s.url + '.env')).status).toBe(403);
      expect((await get(s.url + 'link.txt')).status).toBe(403);
      expect((await get(s.url + 'dir/secret.txt')).status).toBe(403);
      expect((await get(s.url, 'evil.example:80')).status).toBe(421);
      expect((await get(s.url, '127.0.0.1.evil.example')).status).toBe(421);
    } finally {
      await s.close();
    }
  });
});
