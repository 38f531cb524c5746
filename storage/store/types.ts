/**
 * The storage server's contract with its persistence layer. Policy (HTTP,
 * auth, limits on requests) lives in storage/http; layout and durability in
 * an implementation of this interface (storage/store/disk-store.ts).
 *
 * Storage indexes are passed in their 26-character text form and share
 * numbers as integers 0..255; implementations re-validate both.
 */
import type { Readable } from 'node:stream';
import type { Interval } from '../../runtime/intervals.js';

export interface AllocateInput {
  shareSize: number;
  shareNumbers: readonly number[];
  /** Lease to add or extend for the storage index; the store's default when omitted. */
  leaseMs?: number;
}

export interface AllocateResult {
  alreadyHave: number[];
  /** New allocations and kept partial uploads, ascending. */
  allocated: number[];
  /** Missing intervals of every allocated share. */
  missing: Map<number, Interval[]>;
  leaseExpiresAt: number;
}

/** Where a write goes: `[start, end)`, and the total the client claimed (`Content-Range: …/total`), if any. */
export interface WriteRange {
  start: number;
  end: number;
  total?: number;
}

export interface ShareProgress {
  shareSize: number;
  complete: boolean;
  /** Intervals not yet received; empty when complete. */
  missing: Interval[];
}

/** An open, complete share. Exactly one of `stream()` or `close()` must be used to release it. */
export interface ShareReader {
  readonly size: number;
  /** Streams `[start, end)`; the stream owns the file handle and releases it when it ends or is destroyed. */
  stream(start: number, end: number): Readable;
  close(): Promise<void>;
}

export interface Lease {
  expiresAt: number;
}

export interface CorruptionReport {
  id: string;
  storageIndex: string;
  shareNumber: number;
  reason: string;
  reportedAt: number;
}

export interface SpaceInfo {
  free: number;
  reserved: number;
  outstanding: number;
  /** max(0, free − reserved − outstanding): what new allocations may use. */
  available: number;
}

export interface SweepResult {
  at: number;
  expiredPartials: number;
  expiredLeases: number;
  deletedShares: number;
  freedBytes: number;
}

export interface StoreStatus {
  serverId: string;
  space: SpaceInfo;
  shares: { storageIndexes: number; count: number; bytes: number };
  partials: { count: number; receivedBytes: number; outstandingBytes: number };
  leases: { count: number; expired: number };
  corruption: { count: number; recent: CorruptionReport[] };
  lastSweep: SweepResult | null;
}

export interface ShareStore {
  readonly serverId: string;
  readonly maxShareSize: number;
  space(): Promise<SpaceInfo>;
  /**
   * Allocates shares, keeping partial uploads of the same size (resume).
   * Throws CONFLICT (a partial of another size exists), PAYLOAD_TOO_LARGE
   * (above the maximum share size), INSUFFICIENT_STORAGE. Nothing changes on error.
   */
  allocate(si: string, input: AllocateInput): Promise<AllocateResult>;
  /**
   * Writes one chunk. The range is marked received only after all of `body`
   * was written and fsynced. Throws NOT_FOUND (no allocation), INVALID_RANGE
   * (outside the share, or the body's length differs), WRITE_CONFLICT
   * (different bytes over already received ones), ABORTED (body failed).
   */
  write(si: string, shnum: number, range: WriteRange, body: AsyncIterable<Uint8Array>): Promise<ShareProgress>;
  /** Progress of an allocated or complete share; NOT_FOUND otherwise. */
  progress(si: string, shnum: number): Promise<ShareProgress>;
  /** Drops a partial upload. NOT_FOUND if none; CONFLICT if the share is complete. */
  abort(si: string, shnum: number): Promise<void>;
  /** Complete share numbers held for `si`, ascending. */
  list(si: string): Promise<number[]>;
  /** Opens a complete share for reading; NOT_FOUND if there is none. */
  open(si: string, shnum: number): Promise<ShareReader>;
  /** Records a corruption report for a share this server holds (NOT_FOUND otherwise). */
  reportCorruption(si: string, shnum: number, reason: string): Promise<CorruptionReport>;
  /** Adds or extends the lease on `si`; NOT_FOUND if nothing is stored for it. */
  renewLease(si: string, leaseMs?: number): Promise<Lease>;
  status(): Promise<StoreStatus>;
  /** Removes partial uploads idle too long and shares whose lease expired. */
  sweep(): Promise<SweepResult>;
  /** Waits for operations in progress; the store must not be used afterwards. */
  close(): Promise<void>;
}
