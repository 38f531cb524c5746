import path from 'node:path';
import { startStorageServer, type RunningStorageServer } from '../../storage/server.js';
import { parseHelperConfig, type HelperConfigInput } from '../../helper/config.js';
import type { EncodeFn } from '../../helper/encode/encode-push.js';
import { startHelper, type RunningHelper } from '../../helper/start.js';
import { tempDir } from './tmp.js';

export const GRID_TOKEN = 'grid-token-for-tests-0123456789';
export const CLIENT_TOKEN = 'client-token-for-tests-0123456789';

export interface TestGrid {
  dir: string;
  storage: (RunningStorageServer | undefined)[];
  helper: RunningHelper;
  config: ReturnType<typeof parseHelperConfig>;
  startHelper(encode?: EncodeFn): Promise<RunningHelper>;
  stopStorage(i: number): Promise<void>;
  close(): Promise<void>;
}

/** Real storage servers and a real helper on 127.0.0.1 ephemeral ports, data in a temp dir. */
export async function startGrid(o: { servers?: number; helper?: Partial<HelperConfigInput>; encode?: EncodeFn } = {}): Promise<TestGrid> {
  const { dir, cleanup } = await tempDir();
  const storage: (RunningStorageServer | undefined)[] = [];
  for (let i = 0; i < (o.servers ?? 10); i++) {
    storage.push(await startStorageServer({ dir: path.join(dir, `storage-${i}`), token: GRID_TOKEN, sweepOnStart: false, closeGraceMs: 200 }));
  }
  const config = parseHelperConfig({
    dataDir: path.join(dir, 'helper'),
    port: 0,
    clientTokens: [CLIENT_TOKEN],
    storageServers: storage.map((s) => ({ url: s!.url, token: GRID_TOKEN })),
    ...o.helper,
    limits: { retryBase: 50, retryMax: 200, ...o.helper?.limits },
  });
  const grid: TestGrid = {
    dir,
    storage,
    config,
    helper: undefined as unknown as RunningHelper,
    async startHelper(encode?: EncodeFn) {
      grid.helper = await startHelper(config, { encode: encode ?? o.encode });
      return grid.helper;
    },
    async stopStorage(i: number) {
      await storage[i]?.close();
      storage[i] = undefined;
    },
    async close() {
      await grid.helper?.close().catch(() => undefined);
      for (const s of storage) await s?.close().catch(() => undefined);
      await cleanup();
    },
  };
  await grid.startHelper();
  return grid;
}
