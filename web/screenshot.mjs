// Runs one reconstruction in the page in headless Chromium and saves a screenshot of the whole page
// (the committed docs/browser-screenshot.png). SwiftShader is slow: DPS takes ~15–25 s per step here.
//
//   node web/screenshot.mjs [--method ddrm] [--task inpaint-box] [--steps 20] [--seed 0] [--image fmnist-0.png]
//                           [--file picture.png] [--eta η] [--zeta ζ] [--preview-every 5]
//                           [--out docs/browser-screenshot.png]
// --file uploads a picture of any size instead of a bundled test image.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildWeb } from './build.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs';
import { serve } from './serve.mjs';

const { values: o } = parseArgs({
  options: {
    method: { type: 'string', default: 'ddrm' },
    task: { type: 'string', default: 'inpaint-box' },
    steps: { type: 'string', default: '20' },
    file: { type: 'string' },
    eta: { type: 'string', default: '' },
    zeta: { type: 'string', default: '' },
    seed: { type: 'string', default: '0' },
    image: { type: 'string', default: 'fmnist-0.png' },
    'preview-every': { type: 'string', default: '5' },
    out: { type: 'string', default: 'docs/browser-screenshot.png' },
  },
});

await buildWeb();
const server = await serve();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.waitForFunction(() => ['ready', 'error'].includes(window.dps?.state), null, { timeout: 120_000 });
  if (o.file) {
    await page.setInputFiles('#image-file', o.file);
    await page.waitForFunction(
      () => window.dps.imageSource?.name !== undefined && !window.dps.imageSource.name.startsWith('fmnist-'),
    );
  } else await page.selectOption('#image-select', o.image);
  await page.selectOption('#task', o.task);
  await page.selectOption('#method', o.method);
  await page.fill('#steps', o.steps);
  await page.fill('#seed', o.seed);
  await page.fill('#preview-every', o['preview-every']);
  await page.fill('#eta', o.eta);
  await page.fill('#zeta', o.zeta);
  await page.check('#profile');
  const t0 = Date.now();
  await page.click('#run');
  let last = '';
  while (!(await page.evaluate(() => ['done', 'error'].includes(window.dps.state)))) {
    const status = await page.textContent('#status');
    if (status !== last) console.log((last = status));
    await page.waitForTimeout(2000);
  }
  const { state, error } = await page.evaluate(() => ({ state: window.dps.state, error: window.dps.error }));
  if (state === 'error') throw new Error(error);
  console.log(
    `${await page.textContent('#status')}; ${await page.textContent('#cap-result')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
  const out = resolve(o.out);
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
