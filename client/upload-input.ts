import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FerryError } from '../core/errors.js';
import { abortedError } from './retry.js';
import { ensurePrivateDir } from './state-dir.js';

/**
 * What `upload()` accepts: a file path, bytes in memory, or a stream (a
 * Node Readable, or any async iterable of byte chunks).
 *
 * Bytes and streams are spooled to a private file in `<stateDir>/spool/`
 * first, because an upload reads its input three times (convergent key,
 * segment hashes, then the ciphertext it sends, from any offset on a
 * retry). The spool file is removed when `upload()` returns or throws.
 */
export type UploadInput = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

export const SPOOL_DIR = 'spool';

export interface SpooledInput {
  path: string;
  remove(): Promise<void>;
}

/** Writes bytes or a stream to `<stateDir>/spool/<pid>-<random>` (0600), streaming: never the whole input in memory. */
export async function spoolInput(input: Exclude<UploadInput, string>, stateDir: string, signal?: AbortSignal): Promise<SpooledInput> {
  const dir = path.join(stateDir, SPOOL_DIR);
  await ensurePrivateDir(stateDir);
  await ensurePrivateDir(dir);
  await removeOrphans(dir);
  const file = path.join(dir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  const remove = () => rm(file, { force: true });
  const source = input instanceof Uint8Array ? Readable.from([input]) : input;
  try {
    const fh = await open(file, 'wx', 0o600);
    await pipeline(source, createWriteStream('', { fd: fh }), { signal });
  } catch (err) {
    await remove();
    if (signal?.aborted) throw abortedError(signal); // the same ABORTED as every other step of an upload
    throw new FerryError('INVALID_PARAMETERS', `could not read the upload's input stream: ${(err as Error).message}`);
  }
  return { path: file, remove };
}

/** Spool files of processes that died before removing them (the pid prefix says whose a file is). */
async function removeOrphans(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) await rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
