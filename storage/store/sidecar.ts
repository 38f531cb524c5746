/**
 * The sidecar of a partial share: everything needed to resume it after a
 * restart. Rewritten atomically (temp + fsync + rename + fsync dir) after
 * every accepted chunk, so it never claims bytes that are not on disk.
 */
import { z } from 'zod';
import { writeFileDurable } from '../../runtime/fs/durable.js';
import { isCanonical, type Interval } from '../../runtime/intervals.js';

export interface PartialMeta {
  /** Allocated (final) size of the share. */
  size: number;
  /** Intervals received, written and fsynced. */
  received: Interval[];
  createdAt: number;
  lastWriteAt: number;
}

const Sidecar = z.strictObject({
  v: z.literal(1),
  size: z.number().int().min(1),
  received: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])),
  createdAt: z.number().int(),
  lastWriteAt: z.number().int(),
});

export function encodeSidecar(meta: PartialMeta): string {
  return `${JSON.stringify({ v: 1, size: meta.size, received: meta.received, createdAt: meta.createdAt, lastWriteAt: meta.lastWriteAt })}\n`;
}

/** Parses a sidecar; undefined when it is not a valid one (wrong JSON, intervals not canonical or beyond the size). */
export function decodeSidecar(text: string): PartialMeta | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = Sidecar.safeParse(json);
  if (!parsed.success) return undefined;
  const { size, received, createdAt, lastWriteAt } = parsed.data;
  if (!isCanonical(received)) return undefined;
  if (received.length > 0 && received[received.length - 1][1] > size) return undefined;
  return { size, received, createdAt, lastWriteAt };
}

export async function saveSidecar(file: string, meta: PartialMeta): Promise<void> {
  await writeFileDurable(file, encodeSidecar(meta));
}
