import { afterEach } from 'vitest';
import { startGrid, type TestGrid } from './grid.js';
import { tempDir } from './tmp.js';

/**
 * Grids and temp dirs that a test starts, stopped and removed after each test
 * (even a failed one): grids first, then the dirs. Call once per test file.
 */
export function perTest(): { grid(o?: Parameters<typeof startGrid>[0]): Promise<TestGrid>; dir(prefix?: string): Promise<string> } {
  const grids: TestGrid[] = [];
  const dirs: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const g of grids.splice(0)) await g.close();
    for (const c of dirs.splice(0)) await c();
  });
  return {
    async grid(o) {
      const g = await startGrid(o);
      grids.push(g);
      return g;
    },
    async dir(prefix) {
      const t = await tempDir(prefix);
      dirs.push(t.cleanup);
      return t.dir;
    },
  };
}
