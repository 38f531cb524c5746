import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { base32Decode, base32Encode } from '../core/base32.js';
import { CONVERGENCE_SECRET_BYTES } from '../core/crypto/convergent-key.js';
import { FerryError } from '../core/errors.js';
import { mkdirDurable, readFileIfExists, writeFileDurable } from '../runtime/fs/durable.js';

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

export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await mkdirDurable(dir, 0o700);
  if (created) await fs.chmod(dir, 0o700); // mkdir's mode is filtered by the umask
}

/** Reads the convergence secret, generating it on first use (exclusive create: two first runs agree on one). */
export async function loadConvergenceSecret(stateDir: string): Promise<Uint8Array> {
  await ensurePrivateDir(stateDir);
  const file = path.join(stateDir, SECRET_FILE);
  const existing = await readFileIfExists(file);
  if (existing) return decodeSecret(existing.toString('utf8'), file);
  const secret = new Uint8Array(randomBytes(CONVERGENCE_SECRET_BYTES));
  try {
    await writeFileDurable(file, `${base32Encode(secret)}\n`, { mode: 0o600, exclusive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadConvergenceSecret(stateDir);
    throw err;
  }
  await fs.chmod(file, 0o600);
  return secret;
}

function decodeSecret(text: string, file: string): Uint8Array {
  try {
    return base32Decode(text.trim(), CONVERGENCE_SECRET_BYTES, 'INVALID_PARAMETERS', 'convergence secret');
  } catch (err) {
    throw new FerryError('INVALID_PARAMETERS', `${file} does not hold a valid convergence secret (${(err as Error).message})`);
  }
}
