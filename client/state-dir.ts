import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { base32Decode, base32Encode } from '../core/base32.js';
import { CONVERGENCE_SECRET_BYTES } from '../core/crypto/convergent-key.js';
import { FerryError } from '../core/errors.js';
import { ensurePrivateDir, readOrCreateSecretFile } from '../runtime/fs/secret-file.js';

/**
 * The client's private state: the convergence secret and the transfer
 * journal (which holds encryption keys). The dir is 0700 and every file in
 * it 0600: whoever reads them can read the files being uploaded.
 *
 *   <stateDir>/convergence-secret   base32 of 32 random bytes, created on first use
 *   <stateDir>/journal/             LevelDB, see journal.ts
 */
export const SECRET_FILE = 'convergence-secret';
export const JOURNAL_DIR = 'journal';

// The journal makes its dir private the same way.
export { ensurePrivateDir } from '../runtime/fs/secret-file.js';

/** Reads the convergence secret, generating it on first use (two first runs agree on one). */
export async function loadConvergenceSecret(stateDir: string): Promise<Uint8Array> {
  await ensurePrivateDir(stateDir);
  const file = path.join(stateDir, SECRET_FILE);
  const secret = await readOrCreateSecretFile(file, () => base32Encode(randomBytes(CONVERGENCE_SECRET_BYTES)));
  return decodeSecret(secret.text, file);
}

function decodeSecret(text: string, file: string): Uint8Array {
  try {
    return base32Decode(text.trim(), CONVERGENCE_SECRET_BYTES, 'INVALID_PARAMETERS', 'convergence secret');
  } catch (err) {
    throw new FerryError('INVALID_PARAMETERS', `${file} does not hold a valid convergence secret (${(err as Error).message})`);
  }
}
