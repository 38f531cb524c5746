/** The server's stable identity: generated once, kept in DIR/server-id. */
import { randomBytes } from 'node:crypto';
import { base32Encode } from '../../core/base32.js';
import { readFileIfExists, writeFileDurable } from '../../runtime/fs/durable.js';

const SERVER_ID_RE = /^[a-z2-7]{26,64}$/;

export async function loadOrCreateServerId(file: string): Promise<string> {
  const existing = await readFileIfExists(file);
  if (existing) {
    const id = existing.toString('utf8').trim();
    if (!SERVER_ID_RE.test(id)) throw new Error(`${file} does not hold a valid server id; fix or remove it`);
    return id;
  }
  const id = base32Encode(randomBytes(20));
  try {
    await writeFileDurable(file, `${id}\n`, { exclusive: true });
    return id;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateServerId(file);
    throw err;
  }
}
