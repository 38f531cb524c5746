/**
 * The last step of a verifying check: shares that each pass every hash can
 * still decode to ciphertext the UEB's crypttext root does not commit to (a
 * lying or broken uploader built the block trees over other bytes). k good
 * shares are decoded segment by segment, as a repair would, and every segment
 * is held against the crypttext tree; nothing is encoded or written.
 */
import { IntegrityError } from '../../core/errors.js';
import type { GridIo } from '../grid/io.js';
import type { RepairCodec } from './codec.js';
import type { Inspection } from './inspect.js';
import { regenerate } from './regenerate.js';
import { pickSources } from './repair-job.js';

/** Why the good shares do not decode to the file the UEB names, or undefined when they do (or fewer than k are good). */
export async function inconsistentDecode(insp: Inspection, o: { codec: RepairCodec; io: GridIo; windowBytes: number }): Promise<string | undefined> {
  if (!insp.file || insp.good.size < insp.cap.k) return undefined;
  try {
    await regenerate({ file: insp.file, sources: pickSources(insp, insp.cap.k, new Set()), compute: [], codec: o.codec, io: o.io, windowBytes: o.windowBytes }, async () => {});
    return undefined;
  } catch (err) {
    if (err instanceof IntegrityError) return err.message;
    throw err;
  }
}
