// A tiny static server for dist/web (the browser test and local use). Listens on 127.0.0.1 only —
// http://127.0.0.1 is a secure context, which navigator.gpu requires — on a free port unless one is given.
// Serves files under dist/web only: real paths (symbolic links followed) must stay inside the root; dotfiles
// are never served, and requests must name the loopback host (no DNS rebinding).
//
//   node web/serve.mjs [port]      (after `node web/build.mjs`)
import { createServer } from 'node:http';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIST = resolve(fileURLToPath(new URL('../dist/web', import.meta.url)));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.map': 'application/json',
  '.safetensors': 'application/octet-stream',
};

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

/**
 * Start serving `root` (default dist/web) on 127.0.0.1; resolves to { url, close() }. Hardened for a page that
 * loads models: only GET/HEAD; a Host header naming the loopback interface (a DNS-rebinding page on another
 * name is refused); no path segment starting with "." (dotfiles such as .git or .env); and the real path of the
 * file — after following symbolic links — must lie under the real path of the root.
 */
export function serve({ root = DIST, port = 0 } = {}) {
  const base = resolve(root);
  let realBase;
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      if (!LOOPBACK_HOST.test(req.headers.host ?? '')) {
        res.writeHead(421, { 'content-type': 'text/plain' }).end('misdirected request: use http://127.0.0.1');
        return;
      }
      realBase ??= await realpath(base);
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (path.includes('\0') || path.split(/[\\/]/).some((seg) => seg.startsWith('.'))) {
        res.writeHead(403).end('forbidden');
        return;
      }
      let file = resolve(join(base, path));
      if (file !== base && !file.startsWith(base + sep)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      if ((await stat(file).catch(() => null))?.isDirectory()) file = join(file, 'index.html');
      const real = await realpath(file).catch(() => null);
      if (real === null) throw new Error('not found');
      if (real !== realBase && !real.startsWith(realBase + sep)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      const body = await readFile(real);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      ok({ url: `http://127.0.0.1:${p}/`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 0);
  const { url } = await serve({ port });
  console.log(`serving ${DIST} at ${url} (Ctrl-C to stop)`);
}
