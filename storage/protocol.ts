/**
 * The wire contract of the storage server API (/storage/v1), shared by the
 * server's handlers and StorageClient. Documented in docs/protocol.md.
 * Byte intervals on the wire are half-open `[start, end)` pairs.
 */
import { z } from 'zod';
import { MAX_SHARES } from '../core/params.js';

export const STORAGE_API_PREFIX = '/storage/v1';
export const STORAGE_PROTOCOL_VERSION = 1;

/** Longest corruption report reason, in characters (Tahoe's limit). */
export const MAX_CORRUPTION_REASON = 32765;
/** Lease durations a client may ask for: 1 second .. 5 years. */
export const MAX_LEASE_SECONDS = 5 * 366 * 86400;

export const ShareNumber = z
  .number()
  .int()
  .min(0)
  .max(MAX_SHARES - 1);

export const IntervalWire = z.tuple([z.number().int().min(0), z.number().int().min(0)]);
export type IntervalWire = z.infer<typeof IntervalWire>;

// ---- requests ----

export const AllocateRequest = z.strictObject({
  /** Exact size of every allocated share, in bytes. */
  shareSize: z.number().int().min(1),
  shareNumbers: z.array(ShareNumber).min(1).max(MAX_SHARES),
  leaseSeconds: z.number().int().min(1).max(MAX_LEASE_SECONDS).optional(),
});
export type AllocateRequest = z.infer<typeof AllocateRequest>;

export const CorruptionRequest = z.strictObject({
  reason: z.string().min(1).max(MAX_CORRUPTION_REASON),
});

export const LeaseRequest = z.strictObject({
  leaseSeconds: z.number().int().min(1).max(MAX_LEASE_SECONDS).optional(),
});

// ---- responses ----

export const InfoResponse = z.object({
  serverId: z.string(),
  protocolVersion: z.number().int(),
  applicationVersion: z.string(),
  /** Bytes this server is willing to allocate right now. */
  availableSpace: z.number().int().min(0),
  maximumShareSize: z.number().int().min(1),
  /** Largest body one PATCH may carry. */
  maximumWriteSize: z.number().int().min(1),
});
export type InfoResponse = z.infer<typeof InfoResponse>;

export const AllocateResponse = z.object({
  /** Share numbers already complete on this server (not to be written). */
  alreadyHave: z.array(ShareNumber),
  /** Share numbers to write: newly allocated, or partial uploads kept for resumption. */
  allocated: z.array(ShareNumber),
  /** For each allocated share number, the byte intervals still to be written. */
  missing: z.record(z.string(), z.array(IntervalWire)),
  /** Lease expiry for the storage index, ms since the epoch. */
  leaseExpiresAt: z.number().int(),
});
export type AllocateResponse = z.infer<typeof AllocateResponse>;

export const ProgressResponse = z.object({
  shareSize: z.number().int().min(1),
  complete: z.boolean(),
  missing: z.array(IntervalWire),
});
export type ProgressResponse = z.infer<typeof ProgressResponse>;

export const ListResponse = z.object({ shareNumbers: z.array(ShareNumber) });

export const CorruptionResponse = z.object({ recorded: z.literal(true), id: z.string() });

export const LeaseResponse = z.object({ expiresAt: z.number().int() });

export const CorruptionReportWire = z.object({
  id: z.string(),
  storageIndex: z.string(),
  shareNumber: ShareNumber,
  reason: z.string(),
  reportedAt: z.number().int(),
});
export type CorruptionReportWire = z.infer<typeof CorruptionReportWire>;

export const StatusResponse = z.object({
  serverId: z.string(),
  protocolVersion: z.number().int(),
  space: z.object({
    /** Free bytes on the file system (statfs bavail × bsize). */
    free: z.number().int(),
    reserved: z.number().int(),
    /** Bytes promised to partial uploads but not yet received. */
    outstanding: z.number().int(),
    available: z.number().int(),
  }),
  shares: z.object({ storageIndexes: z.number().int(), count: z.number().int(), bytes: z.number().int() }),
  partials: z.object({ count: z.number().int(), receivedBytes: z.number().int(), outstandingBytes: z.number().int() }),
  leases: z.object({ count: z.number().int(), expired: z.number().int() }),
  corruption: z.object({ count: z.number().int(), recent: z.array(CorruptionReportWire) }),
  lastSweep: z
    .object({
      at: z.number().int(),
      expiredPartials: z.number().int(),
      expiredLeases: z.number().int(),
      deletedShares: z.number().int(),
      freedBytes: z.number().int(),
    })
    .nullable(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

export const ErrorResponse = z.looseObject({ error: z.string(), message: z.string() });
