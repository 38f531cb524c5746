/** The grid token clients must present: read from a file, or generated once into DIR/grid-token. */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { base32Encode } from '../core/base32.js';
import { readFileIfExists } from '../runtime/fs/durable.js';
import { readOrCreateSecretFile } from '../runtime/fs/secret-file.js';

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
  const secret = await readOrCreateSecretFile(file, () => base32Encode(randomBytes(32)));
  return { token: check(secret.text, file), file, created: secret.created };
}
