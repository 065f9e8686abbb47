// Writes test/fixtures/fmnist/test10k-first16.safetensors: the first 16 Fashion-MNIST test images in the
// prior's input convention (x [16,1,32,32] in [−1, 1], padded with −1) and their labels (I32 [16]), so
// that tests and the demo work without the Debian package. Run: npx tsx tools/make-fmnist-fixture.ts
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSafetensorsFile } from '../src/io/atomic.ts';
import { FMNIST_DIR, FMNIST_FILES, FMNIST_FIXTURE, loadFashionMnist } from '../src/io/fmnist.ts';

const COUNT = 16;
const batch = loadFashionMnist({ split: 'test', start: 0, count: COUNT });
let version = 'unknown';
try {
  version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'dataset-fashion-mnist'], { encoding: 'utf8' });
} catch {
  // not a dpkg system: the files were found anyway, record the version as unknown
}
const sha256 = (f: string) =>
  createHash('sha256')
    .update(readFileSync(join(FMNIST_DIR, f)))
    .digest('hex');
const out = fileURLToPath(FMNIST_FIXTURE);
writeSafetensorsFile(
  out,
  { x: { shape: batch.shape, data: batch.x }, labels: { shape: [COUNT], data: batch.labels } },
  {
    source: `Debian package dataset-fashion-mnist ${version}`,
    images: `${FMNIST_DIR}/${FMNIST_FILES.test.images} sha256 ${sha256(FMNIST_FILES.test.images)}`,
    labels: `${FMNIST_DIR}/${FMNIST_FILES.test.labels} sha256 ${sha256(FMNIST_FILES.test.labels)}`,
    indices: `0..${COUNT - 1}`,
    preprocessing: 'u8 / 127.5 - 1, then padded 2 px per side with -1 to 32x32',
  },
);
console.log(
  `wrote ${out}: ${COUNT} images, labels ${Array.from(batch.labels).join(',')} (dataset-fashion-mnist ${version})`,
);
