/**
 * Crash-safe file system steps. A rename or a new directory entry is only
 * durable once the directory holding it has been fsynced; file contents only
 * once the file has. These helpers do both, so callers can reason in terms of
 * "after this promise resolves, a crash cannot undo it".
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';

/** Fsyncs a directory so that entries created, renamed or removed in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY | (fsConstants.O_DIRECTORY ?? 0));
    await handle.sync();
  } catch (err) {
    // Some platforms/file systems cannot fsync a directory; that is not fatal.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
  } finally {
    await handle?.close();
  }
}

/** A name for a temporary sibling of `target` (same directory, so a rename is atomic). */
export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
}

/** True for names produced by {@link tempSibling}: leftovers of a crash, safe to delete. */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.includes('.tmp-');
}

export interface WriteDurableOptions {
  /** File mode for a newly created file (default 0o644). */
  mode?: number;
  /** Fail with EEXIST instead of replacing an existing target. */
  exclusive?: boolean;
}

/**
 * Writes `data` to `target` atomically and durably: temp file in the same
 * directory, fsync, rename over the target, fsync the directory. Readers see
 * either the old content or the new one, never a mix.
 */
export async function writeFileDurable(target: string, data: string | Uint8Array, options: WriteDurableOptions = {}): Promise<void> {
  const tmp = tempSibling(target);
  const handle = await fs.open(tmp, 'wx', options.mode ?? 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    if (options.exclusive) {
      // link() fails if the target exists, unlike rename().
      await fs.link(tmp, target);
      await fs.unlink(tmp);
    } else {
      await fs.rename(tmp, target);
    }
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(target));
}

/** Renames `from` to `to` and fsyncs both parent directories (once if they are the same). */
export async function renameDurable(from: string, to: string): Promise<void> {
  await fs.rename(from, to);
  const a = path.dirname(from);
  const b = path.dirname(to);
  await fsyncDir(b);
  if (a !== b) await fsyncDir(a);
}

/** Removes a file (missing is fine) and fsyncs its directory. Returns whether it existed. */
export async function unlinkDurable(file: string): Promise<boolean> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await fsyncDir(path.dirname(file));
  return true;
}

/**
 * `mkdir -p` that also fsyncs the parent of every directory it created, so
 * the new path survives a crash. Returns true if anything was created.
 */
export async function mkdirDurable(dir: string, mode = 0o755): Promise<boolean> {
  const first = await fs.mkdir(dir, { recursive: true, mode });
  if (first === undefined) return false;
  // `first` is the topmost directory created; fsync it and every parent up to
  // and including the one that already existed.
  let cur = path.resolve(dir);
  const stop = path.dirname(path.resolve(first));
  while (true) {
    await fsyncDir(cur);
    if (cur === stop) break;
    const parent = path.dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
  return true;
}

/** Removes a directory if it is empty (fsyncing its parent); false if it was not empty or missing. */
export async function rmdirIfEmpty(dir: string): Promise<boolean> {
  try {
    await fs.rmdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return false;
    throw err;
  }
  await fsyncDir(path.dirname(dir));
  return true;
}

/** Reads a file, or returns undefined if it does not exist. */
export async function readFileIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Lists a directory, or returns [] if it does not exist. */
export async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
