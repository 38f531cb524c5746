/**
 * A download in progress on disk: `FILE.part` holds the bytes received so far
 * and `FILE.part.json` says which file they belong to (its ETag, derived from
 * the capability) and how many of them are known to be on disk (fsynced).
 * A later run resumes from that length, so a crash can neither leave a hole
 * of zeros in the middle of a file nor append one file's bytes to another's.
 * When the last byte is in, the part is fsynced and renamed to FILE.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fsyncDir, renameDurable, writeFileDurable } from '../../runtime/fs/durable.js';

interface PartMeta {
  etag: string;
  size: number;
  /** Bytes of the part that were fsynced. */
  durable: number;
}

/** fsync and record the length at least this often while writing. */
const CHECKPOINT_BYTES = 64 * 1024 * 1024;

export class PartFile {
  readonly part: string;
  readonly meta: string;
  private fh: fs.FileHandle | undefined;
  private sinceCheckpoint = 0;
  /** Bytes written to the part (not all necessarily durable yet). */
  offset = 0;

  private constructor(
    readonly dest: string,
    readonly etag: string,
    readonly size: number,
  ) {
    this.part = `${dest}.part`;
    this.meta = `${dest}.part.json`;
  }

  /**
   * Opens the part for `dest`, keeping what a previous run left if it belongs
   * to the same file (`resume`), else starting empty. `offset` is where to go on.
   */
  static async open(dest: string, etag: string, size: number, resume: boolean): Promise<PartFile> {
    const p = new PartFile(dest, etag, size);
    let keep = 0;
    if (resume) {
      const meta = await readMeta(p.meta);
      if (meta && meta.etag === etag && meta.size === size) keep = Math.min(meta.durable, size);
    }
    if (keep > 0) {
      p.fh = await fs.open(p.part, 'r+').catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        return undefined;
      });
    }
    p.fh ??= await fs.open(p.part, 'w');
    const actual = (await p.fh.stat()).size;
    if (actual < keep) keep = actual; // fewer bytes than recorded: trust the file
    await p.fh.truncate(keep);
    p.offset = keep;
    await p.checkpoint();
    return p;
  }

  /** Appends `chunk` at the current offset. */
  async write(chunk: Uint8Array): Promise<void> {
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await this.fh!.write(chunk, done, chunk.length - done, this.offset);
      done += bytesWritten;
      this.offset += bytesWritten;
    }
    this.sinceCheckpoint += chunk.length;
    if (this.sinceCheckpoint >= CHECKPOINT_BYTES) await this.checkpoint();
  }

  /** Drops everything received (the gateway sent the whole file instead of the rest). */
  async restart(): Promise<void> {
    await this.fh!.truncate(0);
    this.offset = 0;
    await this.checkpoint();
  }

  /** Makes the bytes written so far durable and records their length. */
  async checkpoint(): Promise<void> {
    await this.fh!.sync();
    await writeFileDurable(this.meta, JSON.stringify({ etag: this.etag, size: this.size, durable: this.offset } satisfies PartMeta));
    this.sinceCheckpoint = 0;
  }

  /** The download is complete: the part becomes `dest`. */
  async finish(): Promise<void> {
    await this.fh!.sync();
    await this.fh!.close();
    this.fh = undefined;
    await renameDurable(this.part, this.dest);
    await fs.rm(this.meta, { force: true });
    await fsyncDir(path.dirname(this.dest));
  }

  /** Stops here, keeping what was received for a later resume (or nothing, if nothing was). */
  async suspend(): Promise<void> {
    if (!this.fh) return;
    try {
      if (this.offset > 0) await this.checkpoint();
    } finally {
      await this.fh.close();
      this.fh = undefined;
    }
    if (this.offset === 0) {
      await fs.rm(this.meta, { force: true });
      await fs.rm(this.part, { force: true });
    }
  }
}

async function readMeta(file: string): Promise<PartMeta | undefined> {
  try {
    const m = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<PartMeta>;
    if (typeof m.etag === 'string' && Number.isSafeInteger(m.size) && Number.isSafeInteger(m.durable) && m.durable! >= 0) return m as PartMeta;
  } catch {
    /* missing or unreadable: start over */
  }
  return undefined;
}
