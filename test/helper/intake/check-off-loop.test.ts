import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatStorageIndex } from '../../../core/storage-index.js';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../../support/grid.js';

/** The largest check the default limits allow: 2^20 segments of 64 KiB, a ~43 MiB body. */
const SEGMENTS = 2 ** 20;

let grid: TestGrid;
beforeAll(async () => {
  grid = await startGrid({ servers: 1, helper: { limits: { holdingQuota: 0 } } });
});
afterAll(() => grid.close());

const auth = { authorization: `Bearer ${CLIENT_TOKEN}` };

describe('a maximum check is parsed off the event loop', () => {
  it('answers /helper/v1/info while a 2^20-segment check is parsed in a worker, never parsing it on the main thread', async () => {
    const si = formatStorageIndex(randomBytes(16));
    const body = JSON.stringify({ storageIndex: si, size: SEGMENTS * 64 * 1024, k: 4, n: 10, happy: 7, maxSegmentSize: 64 * 1024, segmentHashes: randomBytes(SEGMENTS * 32).toString('base64') });
    const parse = vi.spyOn(JSON, 'parse');
    // Once the body has reached the helper it is handed to the worker: ask for /info right then.
    let handedOver!: () => void;
    const inWorker = new Promise<void>((resolve) => (handedOver = resolve));
    const post = vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
      post.mockRestore();
      this.postMessage(...args);
      handedOver();
    });
    const order: string[] = [];
    try {
      const check = fetch(`${grid.helper.url}/helper/v1/check`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body }).then(async (res) => {
        order.push('check');
        return { status: res.status, body: (await res.json()) as { status?: string; offset?: number } };
      });
      await Promise.race([
        inWorker,
        check.then(() => {
          throw new Error('the check was answered without being handed to a worker');
        }),
      ]);
      const info = await fetch(`${grid.helper.url}/helper/v1/info`, { headers: auth });
      order.push('info');
      expect(info.status).toBe(200);
      const answer = await check;
      expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'send', offset: 0 }) });
      expect(order).toEqual(['info', 'check']);
      // The main thread never parsed the body: no JSON.parse of anything near its size.
      expect(parse.mock.calls.filter(([text]) => text.length > 1024 * 1024)).toEqual([]);
    } finally {
      post.mockRestore();
      parse.mockRestore();
    }
  });
});
