import type { HelperConfigInput } from '../../helper/config.js';
import type { EncodeFn } from '../../helper/encode/encode-push.js';
import { startGrid, type TestGrid } from './grid.js';

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

/** A test grid whose helper runs the admin listener on an ephemeral loopback port. */
export async function startAdminGrid(o: { servers?: number; helper?: Partial<HelperConfigInput>; encode?: EncodeFn } = {}): Promise<TestGrid & { adminUrl: string }> {
  const grid = await startGrid({
    servers: o.servers ?? 4,
    encode: o.encode,
    helper: { adminToken: ADMIN_TOKEN, ...o.helper, admin: { port: 0, ...o.helper?.admin } },
  });
  if (!grid.helper.adminUrl) throw new Error('admin listener did not start');
  return Object.defineProperty(grid, 'adminUrl', { get: () => grid.helper.adminUrl! }) as TestGrid & { adminUrl: string };
}

/** Reads a Server-Sent Events stream until `count` events arrived; returns their names and parsed data. */
export async function readEvents(url: string, count: number, timeoutMs = 10_000): Promise<{ status: number; events: { event: string; data: unknown }[] }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url, { signal: ac.signal });
    const events: { event: string; data: unknown }[] = [];
    if (res.status !== 200 || !res.body) return { status: res.status, events };
    const decoder = new TextDecoder();
    let buffer = '';
    read: for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (!data.length) continue;
        events.push({ event, data: JSON.parse(data.join('\n')) });
        if (events.length >= count) break read; // leaving the loop cancels the stream
      }
    }
    return { status: res.status, events };
  } finally {
    clearTimeout(timer);
  }
}
