import { randomBytes } from 'node:crypto';
import { formatReadCap } from '../../core/capability.js';
import { segmentRange } from '../../core/params.js';
import { crypttextSegmentHash } from '../../core/share-builder.js';
import type { PreparedFile } from './prepare.js';

/** A second client token for tests where two clients meet on one storage index. */
export const OTHER_TOKEN = 'other-client-token-for-tests-987654';

/**
 * What an attacker sends for a victim's storage index: the same size and
 * parameters, other bytes, and the honest segment hashes of those bytes.
 */
export function impostor(victim: PreparedFile): PreparedFile {
  const ciphertext = randomBytes(victim.ciphertext.length);
  const hashes = Buffer.concat(
    Array.from({ length: victim.geometry.numSegments }, (_, i) => {
      const { start, end } = segmentRange(victim.geometry, i);
      return crypttextSegmentHash(ciphertext.subarray(start, end));
    }),
  );
  return { ...victim, ciphertext, hashes };
}

/** The read-cap of a finished upload of `f` whose result has `uebHash` (hex). */
export function readCapOf(f: PreparedFile, uebHash: string): string {
  return formatReadCap({ key: f.key, uebHash: Buffer.from(uebHash, 'hex'), k: f.params.k, n: f.params.n, size: f.geometry.size });
}

/** GET /uri/<cap>: status and body. */
export async function download(helperUrl: string, cap: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${helperUrl}/uri/${cap}`);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}
