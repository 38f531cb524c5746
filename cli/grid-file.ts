import path from 'node:path';
import { readFileIfExists } from '../runtime/fs/durable.js';

/**
 * HOME/grid.json: what a running `ferry grid` tells the other commands
 * (`ferry status` reads it without loading the grid's servers).
 */
export const GRID_FILE = 'grid.json';

export interface GridFile {
  pid: number;
  helperUrl: string;
  adminUrl?: string;
  /** `url` is the pinned address (https://host:port/#spki=pin): what another helper would be configured with. */
  storage: { url: string; serverId: string; pin?: string }[];
  startedAt: number;
}

export async function readGridFile(home: string): Promise<GridFile | undefined> {
  const raw = await readFileIfExists(path.join(home, GRID_FILE));
  if (!raw) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as GridFile;
  } catch {
    return undefined;
  }
}

/** Whether a process exists (a grid.json left by a crash names a dead pid). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
