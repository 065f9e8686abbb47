// `npm run bench`: runs every bench/*.bench.ts in sequence, each in its own Node process (a fresh GPU device
// per benchmark, and one crash does not stop the others). `npm run bench -- conv unet` runs only the files
// whose name contains one of the given words. Exit code 1 if any benchmark failed.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  console.log(filters.length ? `no bench/*.bench.ts matches ${filters.join(', ')}` : 'no bench/*.bench.ts files yet');
  process.exit(0);
}
const results: Array<{ file: string; ok: boolean; seconds: number }> = [];
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, file)], { stdio: 'inherit' });
  const seconds = (performance.now() - t0) / 1000;
  const ok = r.status === 0;
  if (!ok) console.error(`${file}: ${r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`}`);
  results.push({ file, ok, seconds });
}
console.log('\n=== summary ===');
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.file.padEnd(40)} ${r.seconds.toFixed(1)} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
