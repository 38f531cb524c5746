/** The grid token clients must present: read from a file, or generated once into DIR/grid-token. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { base32Encode } from '../core/base32.js';
import { mkdirDurable, readFileIfExists, writeFileDurable } from '../runtime/fs/durable.js';

export const GRID_TOKEN_FILE = 'grid-token';
const TOKEN_RE = /^[\x21-\x7e]{16,512}$/;

export interface GridToken {
  token: string;
  file: string;
  /** True if this call generated it. */
  created: boolean;
}

function check(text: string, file: string): string {
  const token = text.trim();
  if (!TOKEN_RE.test(token)) throw new Error(`${file} must hold a grid token of 16..512 printable ASCII characters without spaces`);
  return token;
}

/** Reads `tokenFile`; without one, reads DIR/grid-token, generating it (mode 0600) on first start. */
export async function loadOrCreateGridToken(dir: string, tokenFile?: string): Promise<GridToken> {
  if (tokenFile !== undefined) {
    const raw = await readFileIfExists(tokenFile);
    if (!raw) throw new Error(`token file ${tokenFile} does not exist`);
    return { token: check(raw.toString('utf8'), tokenFile), file: tokenFile, created: false };
  }
  const file = path.join(dir, GRID_TOKEN_FILE);
  const existing = await readFileIfExists(file);
  if (existing) return { token: check(existing.toString('utf8'), file), file, created: false };
  await mkdirDurable(dir, 0o700);
  const token = base32Encode(randomBytes(32));
  try {
    await writeFileDurable(file, `${token}\n`, { mode: 0o600, exclusive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateGridToken(dir);
    throw err;
  }
  await fs.chmod(file, 0o600);
  return { token, file, created: true };
}
