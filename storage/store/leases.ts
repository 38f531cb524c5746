/**
 * Leases, one small file per storage index. Ferry's grid token already
 * authenticates clients, so there are no per-lease secrets: a storage index
 * has one expiry, the latest any client asked for. A renewal never shortens
 * it. When it passes, the sweep deletes the storage index's shares.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isStorageIndex } from '../../core/storage-index.js';
import { mkdirDurable, readFileIfExists, readdirIfExists, unlinkDurable, writeFileDurable } from '../../runtime/fs/durable.js';
import type { Layout } from './layout.js';
import type { Lease } from './types.js';

const LeaseFile = z.object({ v: z.literal(1), expiresAt: z.number().int(), renewedAt: z.number().int() });

export class LeaseBook {
  readonly #layout: Layout;

  constructor(layout: Layout) {
    this.#layout = layout;
  }

  async get(si: string): Promise<Lease | undefined> {
    const raw = await readFileIfExists(this.#layout.leasePath(si));
    if (!raw) return undefined;
    try {
      const parsed = LeaseFile.safeParse(JSON.parse(raw.toString('utf8')));
      // An unreadable lease file must not get shares deleted: treat it as "never expires" until rewritten.
      return parsed.success ? { expiresAt: parsed.data.expiresAt } : { expiresAt: Number.MAX_SAFE_INTEGER };
    } catch {
      return { expiresAt: Number.MAX_SAFE_INTEGER };
    }
  }

  /** Sets the expiry to max(current, `expiresAt`). */
  async extend(si: string, expiresAt: number, now: number): Promise<Lease> {
    const current = await this.get(si);
    const next = Math.max(current?.expiresAt ?? 0, expiresAt);
    if (current && current.expiresAt === next) return current;
    const file = this.#layout.leasePath(si);
    await mkdirDurable(path.dirname(file));
    await writeFileDurable(file, `${JSON.stringify({ v: 1, expiresAt: next, renewedAt: now })}\n`);
    return { expiresAt: next };
  }

  async remove(si: string): Promise<void> {
    await unlinkDurable(this.#layout.leasePath(si));
  }

  /** Every storage index that has a lease file. */
  async *storageIndexes(): AsyncGenerator<string> {
    for (const prefix of await readdirIfExists(this.#layout.leasesRoot)) {
      if (!/^[a-z2-7]{2}$/.test(prefix)) continue;
      for (const name of await readdirIfExists(path.join(this.#layout.leasesRoot, prefix))) {
        if (!name.endsWith('.json')) continue;
        const si = name.slice(0, -5);
        if (isStorageIndex(si) && si.startsWith(prefix)) yield si;
      }
    }
  }

  async ensureRoot(): Promise<void> {
    await fs.mkdir(this.#layout.leasesRoot, { recursive: true });
  }
}
