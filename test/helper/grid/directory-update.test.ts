import { describe, expect, it } from 'vitest';
import type { GridClient } from '../../../helper/grid/grid.js';
import { GridDirectory, type StorageEndpoint } from '../../../helper/grid/directory.js';

/** A client that answers info with an id derived from its URL and records whether it was closed. */
function fakeFactory() {
  const made: { endpoint: StorageEndpoint; closed: boolean }[] = [];
  const factory = (endpoint: StorageEndpoint): GridClient => {
    const record = { endpoint, closed: false };
    made.push(record);
    return {
      info: async () => ({ serverId: `id-${new URL(endpoint.url).port}`, availableSpace: 1 }),
      close: async () => {
        record.closed = true;
      },
    } as unknown as GridClient;
  };
  return { made, factory };
}

describe('GridDirectory.update (a config reload)', () => {
  it('keeps the clients and ids of servers that stay, closes removed ones, and makes a new client for a changed token', async () => {
    const { made, factory } = fakeFactory();
    const a = { url: 'http://127.0.0.1:1001', token: 't' };
    const b = { url: 'http://127.0.0.1:1002', token: 't' };
    const c = { url: 'http://127.0.0.1:1003', token: 't' };
    const grid = new GridDirectory([a, b], factory);
    await grid.probe();
    expect(grid.known().map((s) => s.id)).toEqual(['id-1001', 'id-1002']);

    const change = grid.update([{ ...a, token: 'new' }, c]);
    expect(change).toEqual({ added: [c.url], removed: [b.url], retokened: [a.url] });
    expect(grid.size).toBe(2);
    expect(made.map((m) => [m.endpoint.url, m.endpoint.token, m.closed])).toEqual([
      [a.url, 't', true], // its token changed: the old client goes
      [b.url, 't', true], // removed
      [a.url, 'new', false],
      [c.url, 't', false],
    ]);
    expect((await grid.servers()).map((s) => s.id)).toEqual(['id-1001', 'id-1003']);

    const same = grid.update([{ ...a, token: 'new' }, c]);
    expect(same).toEqual({ added: [], removed: [], retokened: [] });
    expect(made.length).toBe(4); // nothing rebuilt
  });
});
