/** Counting what the store holds, for the status page (walks the directories). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readdirIfExists } from '../../runtime/fs/durable.js';
import { shareNumberFromName, type Layout } from './layout.js';
import type { LeaseBook } from './leases.js';

export async function countShares(layout: Layout): Promise<{ storageIndexes: number; count: number; bytes: number }> {
  const out = { storageIndexes: 0, count: 0, bytes: 0 };
  for (const prefix of await readdirIfExists(layout.sharesRoot)) {
    for (const si of await readdirIfExists(path.join(layout.sharesRoot, prefix))) {
      const dir = path.join(layout.sharesRoot, prefix, si);
      let any = false;
      for (const name of await readdirIfExists(dir)) {
        if (shareNumberFromName(name) === undefined) continue;
        const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
        if (!st?.isFile()) continue;
        any = true;
        out.count++;
        out.bytes += st.size;
      }
      if (any) out.storageIndexes++;
    }
  }
  return out;
}

export async function countLeases(leases: LeaseBook, now: number): Promise<{ count: number; expired: number }> {
  const out = { count: 0, expired: 0 };
  for await (const si of leases.storageIndexes()) {
    const lease = await leases.get(si);
    if (!lease) continue;
    out.count++;
    if (lease.expiresAt <= now) out.expired++;
  }
  return out;
}
