import { randomBytes, webcrypto } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { cipherReady, SeekableCipher } from '../core/crypto/cipher.js';
import { ConvergentKeyHasher } from '../core/crypto/convergent-key.js';
import { TAGS, taggedHash } from '../core/tagged-hash.js';
import { mbps, printTable, type BenchRow } from './lib/report.js';

const CHUNK = 1024 * 1024;

async function time(fn: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Client-side costs per byte: convergent key (BLAKE2b), encryption (XChaCha20), segment hashing (SHA-256). */
export async function benchCrypto(o: { sizeMiB?: number } = {}): Promise<BenchRow[]> {
  const sizeMiB = o.sizeMiB ?? 256;
  const bytes = sizeMiB * CHUNK;
  const chunk = randomBytes(CHUNK);
  await cipherReady();
  const keyMs = await time(async () => {
    const h = await ConvergentKeyHasher.create(new Uint8Array(32), { k: 3, n: 10, maxSegmentSize: CHUNK });
    for (let i = 0; i < sizeMiB; i++) h.update(chunk);
    h.digest();
  });
  const cipher = new SeekableCipher(randomBytes(32));
  const encMs = await time(() => {
    const cur = cipher.cursor(0);
    for (let i = 0; i < sizeMiB; i++) cur.update(chunk);
  });
  const hashMs = await time(() => {
    for (let i = 0; i < sizeMiB; i++) taggedHash(TAGS.crypttextSegment, chunk);
  });
  const asyncHashMs = await time(async () => {
    const inFlight: Promise<ArrayBuffer>[] = [];
    for (let i = 0; i < sizeMiB; i++) {
      inFlight.push(webcrypto.subtle.digest('SHA-256', chunk));
      if (inFlight.length >= 4) await inFlight.shift();
    }
    await Promise.all(inFlight);
  });
  return [
    { figure: 'convergent key (keyed BLAKE2b, libsodium)', value: mbps(bytes, keyMs), unit: 'MB/s' },
    { figure: 'encryption (XChaCha20, seekable)', value: mbps(bytes, encMs), unit: 'MB/s' },
    { figure: 'segment hashing (SHA-256, event loop)', value: mbps(bytes, hashMs), unit: 'MB/s' },
    { figure: 'segment hashing (SHA-256, WebCrypto x4)', value: mbps(bytes, asyncHashMs), unit: 'MB/s', note: 'as the helper spool and encoder hash' },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printTable(await benchCrypto());
}
