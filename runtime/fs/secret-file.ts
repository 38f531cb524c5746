/**
 * Small private files holding a secret (grid token, admin token, convergence
 * secret): generated on first use, mode 0600, in a 0700 directory, and
 * never replaced once written.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../../core/errors.js';
import { mkdirDurable, readFileIfExists, writeFileDurable } from './durable.js';

/**
 * Creates `dir` (and parents) with mode 0700. An existing dir that others may
 * read or enter is made 0700 if it is ours (whoever reads its secrets can
 * read what they protect), and refused if it is someone else's.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await mkdirDurable(dir, 0o700);
  if (created) {
    await fs.chmod(dir, 0o700); // mkdir's mode is filtered by the umask
    return;
  }
  await tighten(dir, 0o700);
}

/** Takes group and other permissions off `target` (ours), or refuses it (someone else's). */
async function tighten(target: string, mode: number): Promise<void> {
  const st = await fs.stat(target);
  if ((st.mode & 0o077) === 0) return;
  if (process.getuid && st.uid !== process.getuid()) {
    throw new FerryError('FORBIDDEN', `${target} is readable by others and not owned by this user: refusing to keep secrets in it`);
  }
  await fs.chmod(target, mode);
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
  if (existing) {
    await tighten(file, 0o600);
    return { text: existing.toString('utf8').trim(), created: false };
  }
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
