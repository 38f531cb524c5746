import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { HelperConfigInput } from '../../helper/config.js';
import { startHelper, type RunningHelper } from '../../helper/start.js';
import { closeGrid, gridHelperConfig } from '../../cli/local-grid.js';
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
 * The local grid of `ferry grid` (cli/local-grid.ts) with N storage servers
 * each in its own process, as in production, and the helper in this
 * process, on loopback; all data in a temp dir removed on close.
 */
export async function startBenchGrid(o: { servers?: number; helper?: Partial<HelperConfigInput>; /** Storage servers over HTTPS (default) or plain HTTP. */ tls?: boolean } = {}): Promise<BenchGrid> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-'));
  const storage = await Promise.all(Array.from({ length: o.servers ?? 10 }, (_, i) => spawnStorage(path.join(dir, `storage-${i}`), BENCH_GRID_TOKEN, [], { tls: o.tls })));
  const stoppable = storage.map((s) => ({ url: s.url, close: () => s.stop() }));
  let helper: RunningHelper;
  try {
    helper = await startHelper(
      gridHelperConfig({ dataDir: path.join(dir, 'helper'), storage, gridToken: BENCH_GRID_TOKEN, clientToken: BENCH_CLIENT_TOKEN, overrides: o.helper }),
    );
  } catch (err) {
    await closeGrid(undefined, stoppable);
    throw err;
  }
  return {
    dir,
    storage,
    helper,
    async close() {
      await closeGrid(helper, stoppable);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
