import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isStorageIndex, parseStorageIndex } from '../../core/storage-index.js';
import { fsyncDir, mkdirDurable, readdirIfExists, renameDurable, unlinkDurable } from '../../runtime/fs/durable.js';

/**
 * The holding dirs, as Tahoe's CHK_incoming / CHK_encoding: a spool lives in
 * incoming/ while it is received and is renamed into encoding/ once every
 * byte is verified. Names are storage indexes, which parse as [a-z2-7]{26},
 * so no request can name a file outside these dirs.
 */
export class SpoolFiles {
  readonly incomingDir: string;
  readonly encodingDir: string;

  /** `syncDir`: makes a directory's entries durable (fsync of the dir); a seam for tests that must see it fail. */
  constructor(
    dataDir: string,
    private readonly syncDir: (dir: string) => Promise<void> = fsyncDir,
  ) {
    this.incomingDir = path.join(dataDir, 'incoming');
    this.encodingDir = path.join(dataDir, 'encoding');
  }

  async init(): Promise<void> {
    await mkdirDurable(this.incomingDir);
    await mkdirDurable(this.encodingDir);
  }

  incomingPath(si: string): string {
    parseStorageIndex(si);
    return path.join(this.incomingDir, `${si}.ct`);
  }

  encodingPath(si: string): string {
    parseStorageIndex(si);
    return path.join(this.encodingDir, `${si}.ct`);
  }

  /** Creates the (empty) incoming file if it does not exist yet; its directory entry is durable on return. */
  async createIncoming(si: string): Promise<void> {
    const fh = await fs.open(this.incomingPath(si), 'a');
    await fh.close();
    await this.syncDir(this.incomingDir);
  }

  /** When the spool of `si` last changed, whichever dir holds it (undefined if there is none). */
  async spoolMtime(si: string): Promise<number | undefined> {
    const file = await this.locate(si);
    try {
      return file === undefined ? undefined : (await fs.stat(file)).mtimeMs;
    } catch {
      return undefined;
    }
  }

  /** A complete spool goes back to incoming/ (part of it must be received again). */
  async returnToIncoming(si: string): Promise<void> {
    if ((await this.locate(si)) === this.encodingPath(si)) await renameDurable(this.encodingPath(si), this.incomingPath(si));
  }

  async markComplete(si: string): Promise<void> {
    await renameDurable(this.incomingPath(si), this.encodingPath(si));
  }

  /** Where the ciphertext is now, whichever dir holds it. */
  async locate(si: string): Promise<string | undefined> {
    for (const p of [this.encodingPath(si), this.incomingPath(si)]) {
      try {
        await fs.access(p);
        return p;
      } catch {
        /* not here */
      }
    }
    return undefined;
  }

  async remove(si: string): Promise<void> {
    await unlinkDurable(this.incomingPath(si));
    await unlinkDurable(this.encodingPath(si));
  }

  /**
   * Bytes on disk in both holding dirs (allocated blocks, so sparse spools
   * count what they use). A name that is not `<storage index>.ct` is no
   * spool of ours: it is listed in `stray` and otherwise left alone.
   */
  async usage(): Promise<{ incoming: number; encoding: number; files: { si: string; dir: 'incoming' | 'encoding'; bytes: number; mtimeMs: number }[]; stray: string[] }> {
    const files: { si: string; dir: 'incoming' | 'encoding'; bytes: number; mtimeMs: number }[] = [];
    const stray: string[] = [];
    let incoming = 0;
    let encoding = 0;
    for (const dir of ['incoming', 'encoding'] as const) {
      const full = dir === 'incoming' ? this.incomingDir : this.encodingDir;
      for (const name of await readdirIfExists(full)) {
        if (!name.endsWith('.ct') || !isStorageIndex(name.slice(0, -3))) {
          stray.push(path.join(dir, name));
          continue;
        }
        try {
          const st = await fs.stat(path.join(full, name));
          if (!st.isFile()) {
            stray.push(path.join(dir, name));
            continue;
          }
          const bytes = Math.min(st.size, st.blocks * 512);
          files.push({ si: name.slice(0, -3), dir, bytes, mtimeMs: st.mtimeMs });
          if (dir === 'incoming') incoming += bytes;
          else encoding += bytes;
        } catch {
          /* removed meanwhile */
        }
      }
    }
    return { incoming, encoding, files, stray };
  }
}
