/**
 * Small private files holding a secret (grid token, admin token, convergence
 * secret): generated on first use, mode 0600, in a 0700 directory, and
 * never replaced once written.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { mkdirDurable, readFileIfExists, writeFileDurable } from './durable.js';

/** Creates `dir` (and parents) with mode 0700; an existing dir is left as it is. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await mkdirDurable(dir, 0o700);
  if (created) await fs.chmod(dir, 0o700); // mkdir's mode is filtered by the umask
}

export interface SecretFile {
  /** The file's content, trimmed. */
  text: string;
  /** True if this call generated it. */
  created: boolean;
}

/**
 * Reads `file`, or writes `generate()` to it on first use. The create is
 * exclusive, so two processes starting at once agree on one secret.
 */
export async function readOrCreateSecretFile(file: string, generate: () => string): Promise<SecretFile> {
  const existing = await readFileIfExists(file);
  if (existing) return { text: existing.toString('utf8').trim(), created: false };
  await ensurePrivateDir(path.dirname(file));
  const text = generate();
  try {
    await writeFileDurable(file, `${text}\n`, { mode: 0o600, exclusive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readOrCreateSecretFile(file, generate);
    throw err;
  }
  await fs.chmod(file, 0o600); // the mode is filtered by the umask too
  return { text, created: true };
}
