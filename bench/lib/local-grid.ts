import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseHelperConfig, type HelperConfigInput } from '../../server/config.js';
import { startHelper, type RunningHelper } from '../../server/start.js';
import { startStorageServer, type RunningStorageServer } from '../../storage/server.js';

export const BENCH_GRID_TOKEN = 'bench-grid-token-0123456789abcdef';
export const BENCH_CLIENT_TOKEN = 'bench-client-token-0123456789abcdef';

export interface BenchGrid {
  dir: string;
  storage: RunningStorageServer[];
  helper: RunningHelper;
  close(): Promise<void>;
}

/** N storage servers and a helper on loopback, all data in a temp dir removed on close. */
export async function startBenchGrid(o: { servers?: number; helper?: Partial<HelperConfigInput> } = {}): Promise<BenchGrid> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-'));
  const storage: RunningStorageServer[] = [];
  for (let i = 0; i < (o.servers ?? 10); i++) {
    storage.push(await startStorageServer({ dir: path.join(dir, `storage-${i}`), token: BENCH_GRID_TOKEN, sweepOnStart: false, closeGraceMs: 100 }));
  }
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
      for (const s of storage) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
