/**
 * The partial shares (uploads in progress): an in-memory index over
 * DIR/incoming, kept in step with the files. Callers hold the locks
 * described in disk-store.ts; this class only does the bookkeeping and I/O.
 */
import { promises as fs } from 'node:fs';
import { mkdirDurable, renameDurable, rmdirIfEmpty, unlinkDurable } from '../../runtime/fs/durable.js';
import { coveredLength } from '../../runtime/intervals.js';
import type { Layout } from './layout.js';
import type { PartialIndex } from './recover.js';
import { saveSidecar, type PartialMeta } from './sidecar.js';

export interface PartialEntry {
  si: string;
  shnum: number;
  meta: PartialMeta;
}

export class PartialTable {
  readonly #layout: Layout;
  readonly #index: PartialIndex;

  constructor(layout: Layout, recovered: PartialIndex) {
    this.#layout = layout;
    this.#index = recovered;
  }

  get(si: string, shnum: number): PartialMeta | undefined {
    return this.#index.get(si)?.get(shnum);
  }

  /** Whether any upload is in progress for `si`. */
  has(si: string): boolean {
    return this.#index.has(si);
  }

  entries(): PartialEntry[] {
    return [...this.#index].flatMap(([si, shares]) => [...shares].map(([shnum, meta]) => ({ si, shnum, meta })));
  }

  /** Count, bytes received, and bytes still to come (promised space). */
  totals(): { count: number; received: number; outstanding: number } {
    let count = 0;
    let received = 0;
    let outstanding = 0;
    for (const { meta } of this.entries()) {
      const got = coveredLength(meta.received);
      count++;
      received += got;
      outstanding += meta.size - got;
    }
    return { count, received, outstanding };
  }

  /** Creates an empty partial share: data file first, then its sidecar (so a sidecar always has data). */
  async create(si: string, shnum: number, size: number, now: number): Promise<PartialMeta> {
    await mkdirDurable(this.#layout.incomingDir(si));
    await (await fs.open(this.#layout.partialPath(si, shnum), 'w', 0o644)).close();
    const meta: PartialMeta = { size, received: [], createdAt: now, lastWriteAt: now };
    await this.update(si, shnum, meta);
    return meta;
  }

  /** Durably records new progress. */
  async update(si: string, shnum: number, meta: PartialMeta): Promise<void> {
    await saveSidecar(this.#layout.sidecarPath(si, shnum), meta);
    let shares = this.#index.get(si);
    if (!shares) this.#index.set(si, (shares = new Map()));
    shares.set(shnum, meta);
  }

  /** Deletes a partial share's files and entry. */
  async remove(si: string, shnum: number): Promise<void> {
    await unlinkDurable(this.#layout.sidecarPath(si, shnum));
    await unlinkDurable(this.#layout.partialPath(si, shnum));
    this.#forget(si, shnum);
    if (!this.#index.has(si)) await rmdirIfEmpty(this.#layout.incomingDir(si));
  }

  /** Moves a fully received, fsynced partial into shares/ (atomic rename, both directories fsynced). */
  async promote(si: string, shnum: number): Promise<void> {
    await mkdirDurable(this.#layout.shareDir(si));
    await renameDurable(this.#layout.partialPath(si, shnum), this.#layout.sharePath(si, shnum));
    await this.remove(si, shnum);
  }

  #forget(si: string, shnum: number): void {
    const shares = this.#index.get(si);
    shares?.delete(shnum);
    if (shares && shares.size === 0) this.#index.delete(si);
  }
}
