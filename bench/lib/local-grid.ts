import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseHelperConfig, type HelperConfigInput } from '../../helper/config.js';
import { startHelper, type RunningHelper } from '../../helper/start.js';
import { spawnStorage, type StorageProcess } from './processes.js';

export const BENCH_GRID_TOKEN = 'bench-grid-token-0123456789abcdef';
export const BENCH_CLIENT_TOKEN = 'bench-client-token-0123456789abcdef';

export interface BenchGrid {
  dir: string;
  storage: StorageProcess[];
  helper: RunningHelper;
  close(): Promise<void>;
}

/**
 * N storage servers, each in its own process as in production, and a helper
 * in this process, on loopback; all data in a temp dir removed on close.
 */
export async function startBenchGrid(o: { servers?: number; helper?: Partial<HelperConfigInput> } = {}): Promise<BenchGrid> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-'));
  const storage = await Promise.all(Array.from({ length: o.servers ?? 10 }, (_, i) => spawnStorage(path.join(dir, `storage-${i}`), BENCH_GRID_TOKEN)));
  const helper = await startHelper(
    parseHelperConfig({
      dataDir: path.join(dir, 'helper'),
      port: 0,
      clientTokens: [BENCH_CLIENT_TOKEN],
      storageServers: storage.map((s) => ({ url: s.url, token: BENCH_GRID_TOKEN })),
      ...o.helper,
    }),
  );
  return {
    dir,
    storage,
    helper,
    async close() {
      await helper.close();
      await Promise.all(storage.map((s) => s.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
