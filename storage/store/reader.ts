/** Reading a complete share: one file handle, sized once, streamed by range. */
import { promises as fs } from 'node:fs';
import type { ShareReader } from './types.js';

/** Opens `file` for reading; undefined if it does not exist. */
export async function openShareReader(file: string): Promise<ShareReader | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (err) {
    await handle.close();
    throw err;
  }
  let used = false;
  return {
    size,
    stream(start, end) {
      if (used) throw new Error('share reader already used');
      used = true;
      if (!(start >= 0 && end > start && end <= size)) {
        void handle.close();
        throw new RangeError(`invalid read range [${start}, ${end}) for a ${size}-byte share`);
      }
      // The stream owns the handle from here: it closes it on end, error or destroy.
      return handle.createReadStream({ start, end: end - 1, autoClose: true, highWaterMark: 1024 * 1024 });
    },
    async close() {
      if (used) return;
      used = true;
      await handle.close();
    },
  };
}
