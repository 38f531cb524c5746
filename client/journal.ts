import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Level } from 'level';
import { FerryError } from '../core/errors.js';
import { sleep } from './retry.js';
import { ensurePrivateDir } from './state-dir.js';

/**
 * The local transfer journal (LevelDB in <stateDir>/journal). One record per
 * (file path, encoding parameters, key mode): the file's identity when it
 * was hashed, its key, storage index and segment hashes, the helper and the
 * upload URL. A restarted client finds the record, sees the file unchanged
 * and skips both hashing passes. Records go away when an upload succeeds.
 *
 * The database is opened for each operation and closed right after, so two
 * `ferry` processes (a put and a status, two puts) never lock each other out
 * for longer than one write.
 */
export type TransferState = 'hashing' | 'hashed' | 'uploading' | 'encoding' | 'failed';
export type KeyMode = 'convergent' | 'random';

export interface FileIdentity {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

export interface TransferRecord {
  id: string;
  file: FileIdentity;
  params: { k: number; n: number; maxSegmentSize: number };
  happy: number;
  keyMode: KeyMode;
  state: TransferState;
  /** base32 encryption key: a secret, which is why the journal is private. */
  key?: string;
  storageIndex?: string;
  helperUrl?: string;
  uploadUrl?: string;
  /** The helper's verified offset when last heard (informational). */
  offset?: number;
  lastError?: string;
  createdAt: number;
  updatedAt: number;
}

// classic-level honours `sync` (fsync the log); abstract-level's types omit it.
const SYNC = { sync: true } as object;

export function transferId(filePath: string, params: TransferRecord['params'], keyMode: KeyMode): string {
  const material = JSON.stringify([filePath, params.k, params.n, params.maxSegmentSize, keyMode]);
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev;
}

export class Journal {
  constructor(
    readonly dir: string,
    private readonly lockWaitMs = 15_000,
  ) {}

  private async withDb<T>(fn: (db: Level<string, string>) => Promise<T>): Promise<T> {
    await ensurePrivateDir(this.dir);
    const deadline = Date.now() + this.lockWaitMs;
    for (;;) {
      const db = new Level<string, string>(this.dir);
      try {
        await db.open();
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        if (cause?.code === 'LEVEL_LOCKED' && Date.now() < deadline) {
          await sleep(20 + Math.random() * 60);
          continue;
        }
        throw new FerryError('UNAVAILABLE', `cannot open the transfer journal in ${this.dir}: ${cause?.code === 'LEVEL_LOCKED' ? 'locked by another ferry process' : (err as Error).message}`, { cause: err });
      }
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    }
  }

  private static records(db: Level<string, string>) {
    return db.sublevel<string, TransferRecord>('transfers', { valueEncoding: 'json' });
  }

  private static hashes(db: Level<string, string>) {
    return db.sublevel<string, Uint8Array>('hashes', { valueEncoding: 'view' });
  }

  async get(id: string): Promise<{ record: TransferRecord; hashes: Uint8Array | undefined } | undefined> {
    return this.withDb(async (db) => {
      const record = await Journal.records(db).get(id);
      if (!record) return undefined;
      return { record, hashes: (await Journal.hashes(db).get(id)) ?? undefined };
    });
  }

  /** Writes a record (and its segment hashes, when given) durably. */
  async put(record: TransferRecord, hashes?: Uint8Array): Promise<void> {
    await this.withDb(async (db) => {
      const batch = db.batch().put(record.id, record, { sublevel: Journal.records(db) });
      if (hashes) batch.put(record.id, hashes, { sublevel: Journal.hashes(db) });
      else batch.del(record.id, { sublevel: Journal.hashes(db) });
      await batch.write(SYNC);
    });
  }

  async update(id: string, patch: Partial<Omit<TransferRecord, 'id'>>): Promise<void> {
    await this.withDb(async (db) => {
      const records = Journal.records(db);
      const record = await records.get(id);
      if (!record) return;
      await records.put(id, { ...record, ...patch, updatedAt: Date.now() }, SYNC);
    });
  }

  async delete(id: string): Promise<void> {
    await this.withDb(async (db) => {
      await db.batch().del(id, { sublevel: Journal.records(db) }).del(id, { sublevel: Journal.hashes(db) }).write(SYNC);
    });
  }

  async list(): Promise<TransferRecord[]> {
    if (!existsSync(this.dir)) return []; // looking must not create the state dir
    return this.withDb(async (db) => {
      const out: TransferRecord[] = [];
      for await (const value of Journal.records(db).values()) out.push(value);
      return out.sort((a, b) => a.createdAt - b.createdAt);
    });
  }
}
