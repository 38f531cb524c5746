/** Complete shares on disk: DIR/shares/<si[0:2]>/<si>/<shnum>, immutable once renamed in. */
import { promises as fs } from 'node:fs';
import { readdirIfExists, rmdirIfEmpty, unlinkDurable } from '../../runtime/fs/durable.js';
import { shareNumberFromName, type Layout } from './layout.js';
import { openShareReader } from './reader.js';
import type { ShareReader } from './types.js';

export class ShareFiles {
  readonly #layout: Layout;

  constructor(layout: Layout) {
    this.#layout = layout;
  }

  /** Size of a complete share, or undefined if there is none. */
  async size(si: string, shnum: number): Promise<number | undefined> {
    try {
      return (await fs.stat(this.#layout.sharePath(si, shnum))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Share numbers held for `si`, ascending. */
  async list(si: string): Promise<number[]> {
    const out: number[] = [];
    for (const name of await readdirIfExists(this.#layout.shareDir(si))) {
      const n = shareNumberFromName(name);
      if (n !== undefined) out.push(n);
    }
    return out.sort((a, b) => a - b);
  }

  open(si: string, shnum: number): Promise<ShareReader | undefined> {
    return openShareReader(this.#layout.sharePath(si, shnum));
  }

  /** Deletes every share of `si` (readers with the file open keep their data). */
  async deleteAll(si: string): Promise<{ deleted: number; freed: number }> {
    let deleted = 0;
    let freed = 0;
    for (const n of await this.list(si)) {
      const size = (await this.size(si, n)) ?? 0;
      if (await unlinkDurable(this.#layout.sharePath(si, n))) {
        deleted++;
        freed += size;
      }
    }
    await rmdirIfEmpty(this.#layout.shareDir(si));
    return { deleted, freed };
  }
}
