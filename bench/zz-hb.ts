import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hashFile } from '../client/hash-file.js';
const f = '/tmp/hb.bin';
writeFileSync(f, randomBytes(128 * 1024 * 1024));
const fh = await open(f);
for (const secret of [new Uint8Array(32), new Uint8Array(32), undefined, undefined]) {
  const t = performance.now();
  await hashFile({ fh, size: 128 * 1024 * 1024, params: { k: 3, n: 10, maxSegmentSize: 1 << 20 }, secret });
  console.log(secret ? 'convergent(2 passes)' : 'random(1 pass)', (performance.now() - t).toFixed(0), 'ms');
}
