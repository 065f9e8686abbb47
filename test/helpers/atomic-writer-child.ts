// Child process for the kill test in test/hardening.test.ts: rewrites one file (or a pair) through the atomic
// writer forever, alternating two versions, until it is killed. argv: <target> <MiB> [<second target>]
import { writeFileAtomic, writeFilesAtomic } from '../../src/io/atomic.ts';

const [target, mib, second] = process.argv.slice(2);
const size = Number(mib) * 2 ** 20;
const versions = [new Uint8Array(size).fill(0xa1), new Uint8Array(size).fill(0xb2)];
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const data = versions[i % 2];
  if (second)
    writeFilesAtomic([
      { path: target, data },
      { path: second, data },
    ]);
  else writeFileAtomic(target, data);
}
