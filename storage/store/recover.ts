/**
 * Start-up scan of DIR/incoming. Unlike Tahoe, which wipes its incoming
 * directory, Ferry keeps every partial share that is consistent and only
 * removes what a crash can leave behind: temp files, data without a sidecar,
 * a sidecar without data, and partials whose share was already completed
 * (a crash between the rename into shares/ and the sidecar's removal).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isStorageIndex } from '../../core/storage-index.js';
import { isTempName, readdirIfExists, rmdirIfEmpty, unlinkDurable } from '../../runtime/fs/durable.js';
import type { Interval } from '../../runtime/intervals.js';
import { shareNumberFromName, type Layout } from './layout.js';
import { decodeSidecar, type PartialMeta } from './sidecar.js';

export interface RecoveryLog {
  warn(obj: object, msg?: string): void;
}

export type PartialIndex = Map<string, Map<number, PartialMeta>>;

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return undefined;
  }
}

/** Clips received intervals to what the data file really holds. */
function clip(received: Interval[], size: number): Interval[] {
  const out: Interval[] = [];
  for (const [s, e] of received) {
    if (s >= size) break;
    out.push([s, Math.min(e, size)]);
  }
  return out;
}

export async function recoverPartials(layout: Layout, log?: RecoveryLog): Promise<PartialIndex> {
  const index: PartialIndex = new Map();
  for (const si of await readdirIfExists(layout.incomingRoot)) {
    const entryPath = path.join(layout.incomingRoot, si);
    if (isTempName(si)) {
      await fs.rm(entryPath, { force: true, recursive: true });
      continue;
    }
    if (!isStorageIndex(si)) {
      log?.warn({ path: entryPath }, 'ignoring unexpected entry in incoming/');
      continue;
    }
    const dir = layout.incomingDir(si);
    const names = await readdirIfExists(dir);
    const data = new Set<number>();
    const sidecars = new Set<number>();
    for (const name of names) {
      if (isTempName(name)) {
        await unlinkDurable(path.join(dir, name));
        continue;
      }
      const n = shareNumberFromName(name);
      if (n !== undefined) data.add(n);
      else if (name.endsWith('.json') && shareNumberFromName(name.slice(0, -5)) !== undefined) sidecars.add(Number(name.slice(0, -5)));
      else log?.warn({ path: path.join(dir, name) }, 'ignoring unexpected file in incoming/');
    }
    const shares = new Map<number, PartialMeta>();
    for (const n of sidecars) {
      const sidecar = layout.sidecarPath(si, n);
      const partial = layout.partialPath(si, n);
      const onDisk = data.has(n) ? await fileSize(partial) : undefined;
      const meta = onDisk === undefined ? undefined : decodeSidecar(await fs.readFile(sidecar, 'utf8'));
      if (!meta || onDisk === undefined || (await exists(layout.sharePath(si, n)))) {
        if (onDisk !== undefined && !meta) log?.warn({ si, shnum: n }, 'dropping partial share with an unreadable sidecar');
        await unlinkDurable(partial);
        await unlinkDurable(sidecar);
        data.delete(n);
        continue;
      }
      data.delete(n);
      shares.set(n, { ...meta, received: clip(meta.received, onDisk) });
    }
    // Data without a sidecar: the allocation never finished.
    for (const n of data) await unlinkDurable(layout.partialPath(si, n));
    if (shares.size > 0) index.set(si, shares);
    else await rmdirIfEmpty(dir);
  }
  return index;
}
