import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from './usage.js';

/** Where `ferry get` writes: stdout, or a file path decided before any byte is downloaded. */
export type GetOutput = { kind: 'stdout' } | { kind: 'file'; path: string };

async function statOrUndefined(p: string) {
  try {
    return await stat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Resolves `-o`: none or `-` is stdout (none refuses a terminal: a file's
 * bytes would garble it); a directory gets `defaultName` inside it; an
 * existing file needs `force`; a missing parent directory is said plainly.
 * All before downloading, so a mistake costs nothing.
 */
export async function resolveGetOutput(o: { output?: string; force?: boolean; stdoutIsTTY: boolean; defaultName: string }): Promise<GetOutput> {
  if (o.output === '-') return { kind: 'stdout' };
  if (o.output === undefined) {
    if (o.stdoutIsTTY) throw new UsageError('refusing to write the file to a terminal: pass -o FILE (or -o - to do it anyway)');
    return { kind: 'stdout' };
  }
  let target = path.resolve(o.output);
  let st = await statOrUndefined(target);
  if (st?.isDirectory()) {
    target = path.join(target, o.defaultName);
    st = await statOrUndefined(target);
  }
  if (st?.isDirectory()) throw new UsageError(`${target} is a directory`);
  if (st && !o.force) throw new UsageError(`${target} already exists; pass --force to overwrite it`);
  const parent = await statOrUndefined(path.dirname(target));
  if (!parent) throw new UsageError(`cannot write ${target}: directory ${path.dirname(target)} does not exist`);
  if (!parent.isDirectory()) throw new UsageError(`cannot write ${target}: ${path.dirname(target)} is not a directory`);
  return { kind: 'file', path: target };
}
