/**
 * The download gateway's state: settings, counters, server latencies, the
 * share locator and a short-lived cache of file contexts (so that the range
 * requests of one download reuse lookups and verified hashes). One per helper,
 * built with it (`helperGateway`) and handed to the routes. The gateway is
 * also the `source` of the events it publishes.
 */
import { formatVerifyCap, type VerifyCap } from '../../core/capability.js';
import { DEFAULT_MAX_SEGMENT_SIZE } from '../../core/params.js';
import type { GridDirectory } from '../grid/directory.js';
import type { GridServer } from '../grid/grid.js';
import { ServerLatency, type GridIo } from '../grid/io.js';
import { FileContext } from './file-context.js';
import { ShareLocator } from './share-locator.js';
import { GatewayStats } from './stats.js';

export interface GatewaySettings {
  /** A share read (or list) that takes longer is abandoned and another share used (default 30 s). */
  timeoutMs: number;
  /** A share that failed transiently is left alone this long (default 10 s). */
  restMs: number;
  /** Segments fetched ahead of the one being sent (default 2). */
  readAhead: number;
  /**
   * Block bytes one download reads ahead from its shares, all together
   * (default 16 MiB; limits.gatewayReadAhead): blocks of consecutive segments
   * come from each share in one request. 0: one request per block.
   */
  readAheadBytes: number;
  /** How long a file's context (share locations, UEB, verified hashes) is reused (default 30 s). */
  contextTtlMs: number;
  /** File contexts kept at most (default 256). */
  maxContexts: number;
  /** Maximum segment sizes tried to locate the UEB without reading a header first. */
  segmentSizeHints: number[];
}

export interface GatewayOptions extends Partial<GatewaySettings> {
  /** The storage servers, as currently known. */
  servers: () => GridServer[];
  /** Share-list answers are reused this long (default 10 s). */
  locateTtlMs?: number;
  log?: (msg: string) => void;
}

export const DEFAULT_READ_AHEAD_BYTES = 16 * 1024 * 1024;

export class Gateway {
  readonly stats = new GatewayStats(this);
  readonly latency = new ServerLatency();
  readonly settings: GatewaySettings;
  /** How its storage calls run: timeouts, latencies, in-flight gauges, events attributed to this gateway. */
  readonly io: GridIo;
  readonly locator: ShareLocator;
  private readonly contexts = new Map<string, { at: number; ctx: Promise<FileContext>; ready?: FileContext }>();
  readonly log: ((msg: string) => void) | undefined;

  constructor(o: GatewayOptions) {
    this.settings = {
      timeoutMs: o.timeoutMs ?? 30_000,
      restMs: o.restMs ?? 10_000,
      readAhead: o.readAhead ?? 2,
      readAheadBytes: o.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES,
      contextTtlMs: o.contextTtlMs ?? 30_000,
      maxContexts: o.maxContexts ?? 256,
      segmentSizeHints: o.segmentSizeHints ?? [DEFAULT_MAX_SEGMENT_SIZE],
    };
    const settings = this.settings;
    // Read through `settings`, so that a change (tests shorten the timeout) applies at once.
    this.log = o.log;
    this.io = {
      gauges: this.stats,
      latency: this.latency,
      source: this,
      log: o.log,
      get timeoutMs() {
        return settings.timeoutMs;
      },
    };
    this.locator = new ShareLocator({ io: this.io, servers: o.servers, ttlMs: o.locateTtlMs, events: this });
  }

  /** The file's context: cached, or built (locate + UEB). Rejects with NOT_FOUND, NOT_ENOUGH_SHARES, … */
  open(cap: VerifyCap): Promise<FileContext> {
    const key = formatVerifyCap(cap);
    const now = Date.now();
    const hit = this.contexts.get(key);
    if (hit && now - hit.at < this.settings.contextTtlMs && !hit.ready?.exhausted) {
      this.contexts.delete(key);
      this.contexts.set(key, hit);
      return hit.ctx;
    }
    const ctx = FileContext.open(cap, {
      io: this.io,
      locator: this.locator,
      segmentSizeHints: this.settings.segmentSizeHints,
      restMs: this.settings.restMs,
      log: this.log,
    });
    const entry: { at: number; ctx: Promise<FileContext>; ready?: FileContext } = { at: now, ctx };
    this.contexts.delete(key);
    this.contexts.set(key, entry);
    ctx.then(
      (c) => (entry.ready = c),
      () => {
        if (this.contexts.get(key) === entry) this.contexts.delete(key);
      },
    );
    while (this.contexts.size > this.settings.maxContexts) this.contexts.delete(this.contexts.keys().next().value as string);
    return ctx;
  }

  /** Drops every cached context and share location. */
  clear(): void {
    this.contexts.clear();
  }

  /** Stops counting events; cached contexts are dropped. */
  close(): void {
    this.clear();
    this.stats.close();
  }
}

const PROBE_EVERY_MS = 30_000;

/** The gateway of a helper: its storage servers are the helper's grid. */
export function helperGateway(grid: GridDirectory, maxSegmentSize: number, log: (msg: string) => void, readAheadBytes?: number): Gateway {
  let lastProbe = 0;
  const servers = (): GridServer[] => {
    const known = grid.known();
    // Servers that never answered have no id yet: look for them now and then, without waiting.
    if (known.length < grid.size && Date.now() - lastProbe > PROBE_EVERY_MS) {
      lastProbe = Date.now();
      grid.probe().catch(() => undefined);
    }
    return known;
  };
  const hints = [...new Set([DEFAULT_MAX_SEGMENT_SIZE, maxSegmentSize])];
  return new Gateway({ servers, segmentSizeHints: hints, log, readAheadBytes });
}
