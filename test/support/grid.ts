import path from 'node:path';
import type { HelperConfig, HelperConfigInput } from '../../helper/config.js';
import { startHelper, type RunningHelper } from '../../helper/start.js';
import type { RunningStorageServer, StorageServerOptions } from '../../storage/server.js';
import { closeGrid, gridHelperConfig, startStorageServers } from '../../cli/local-grid.js';
import { tempDir } from './tmp.js';

export const GRID_TOKEN = 'grid-token-for-tests-0123456789';
export const CLIENT_TOKEN = 'client-token-for-tests-0123456789';

/** The helper's erasure coder, replaceable to inject faults. */
type EncodeFn = NonNullable<NonNullable<Parameters<typeof startHelper>[1]>['encode']>;

export interface TestGrid {
  dir: string;
  storage: (RunningStorageServer | undefined)[];
  helper: RunningHelper;
  config: HelperConfig;
  startHelper(encode?: EncodeFn): Promise<RunningHelper>;
  stopStorage(i: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The local grid of `ferry grid` (cli/local-grid.ts), for tests: real storage
 * servers and a real helper on 127.0.0.1 ephemeral ports, data in a temp dir,
 * fixed tokens and quick retries.
 */
export async function startGrid(
  o: { servers?: number; helper?: Partial<HelperConfigInput>; encode?: EncodeFn; /** For every storage server (e.g. a clock, a lease length). */ storage?: Partial<StorageServerOptions> } = {},
): Promise<TestGrid> {
  const { dir, cleanup } = await tempDir();
  const storage: (RunningStorageServer | undefined)[] = await startStorageServers({
    dir,
    count: o.servers ?? 10,
    token: GRID_TOKEN,
    options: { sweepOnStart: false, closeGraceMs: 200, ...o.storage },
  });
  const config = gridHelperConfig({
    dataDir: path.join(dir, 'helper'),
    storage: storage as RunningStorageServer[],
    gridToken: GRID_TOKEN,
    clientToken: CLIENT_TOKEN,
    overrides: { ...o.helper, limits: { retryBase: 50, retryMax: 200, ...o.helper?.limits } },
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
      await closeGrid(grid.helper, storage);
      await cleanup();
    },
  };
  try {
    await grid.startHelper();
  } catch (err) {
    await grid.close();
    throw err;
  }
  return grid;
}
