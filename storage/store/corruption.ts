/**
 * Corruption reports from downloaders, one JSON file each under
 * DIR/corruption, named so that name order is time order. The newest few are
 * kept in memory for the status page; the oldest are pruned past a cap so a
 * noisy client cannot fill the disk.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isTempName, readdirIfExists, unlinkDurable, writeFileDurable } from '../../runtime/fs/durable.js';
import type { CorruptionReport } from './types.js';

const RECENT = 20;

const ReportFile = z.object({
  id: z.string(),
  storageIndex: z.string(),
  shareNumber: z.number().int(),
  reason: z.string(),
  reportedAt: z.number().int(),
});

export class CorruptionLog {
  readonly #dir: string;
  readonly #max: number;
  #names: string[] = [];
  #recent: CorruptionReport[] = [];

  private constructor(dir: string, max: number) {
    this.#dir = dir;
    this.#max = max;
  }

  static async open(dir: string, maxReports: number): Promise<CorruptionLog> {
    const log = new CorruptionLog(dir, maxReports);
    await fs.mkdir(dir, { recursive: true });
    const names: string[] = [];
    for (const name of await readdirIfExists(dir)) {
      if (isTempName(name)) await fs.rm(path.join(dir, name), { force: true });
      else if (name.endsWith('.json')) names.push(name);
    }
    log.#names = names.sort();
    for (const name of log.#names.slice(-RECENT)) {
      try {
        const parsed = ReportFile.safeParse(JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')));
        if (parsed.success) log.#recent.push(parsed.data);
      } catch {
        // An unreadable report is still counted; it just is not shown.
      }
    }
    return log;
  }

  get count(): number {
    return this.#names.length;
  }

  /** Newest first. */
  recent(): CorruptionReport[] {
    return this.#recent.slice().reverse();
  }

  async record(storageIndex: string, shareNumber: number, reason: string, now: number): Promise<CorruptionReport> {
    const id = `${String(Math.max(0, now)).padStart(15, '0')}-${storageIndex}-${shareNumber}-${randomBytes(3).toString('hex')}`;
    const report: CorruptionReport = { id, storageIndex, shareNumber, reason, reportedAt: now };
    const name = `${id}.json`;
    await writeFileDurable(path.join(this.#dir, name), `${JSON.stringify(report)}\n`);
    this.#names.push(name);
    this.#names.sort();
    this.#recent.push(report);
    this.#recent.sort((a, b) => (a.id < b.id ? -1 : 1));
    if (this.#recent.length > RECENT) this.#recent.splice(0, this.#recent.length - RECENT);
    while (this.#names.length > this.#max) {
      const oldest = this.#names.shift() as string;
      await unlinkDurable(path.join(this.#dir, oldest));
      this.#recent = this.#recent.filter((r) => `${r.id}.json` !== oldest);
    }
    return report;
  }
}
