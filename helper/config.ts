import { z } from 'zod';
import { DEFAULT_HAPPY, DEFAULT_K, DEFAULT_MAX_SEGMENT_SIZE, DEFAULT_N, MAX_SEGMENT_SIZE_LIMIT, MAX_SHARES } from '../core/params.js';
import { parseDuration } from '../runtime/duration.js';
import { parseSize } from '../runtime/size.js';
import { assertSecureTransport, parseServerAddress } from '../runtime/tls/address.js';
import { TlsSetting } from '../runtime/tls/setting.js';

/** A size ("64MiB") or duration ("7d") in the file: a number, or text for `parse`. */
const unitValue = (parse: (value: string | number) => number) =>
  z.union([z.number().int().min(0), z.string()]).transform((value, ctx) => {
    try {
      return parse(value);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
const size = unitValue(parseSize);
const duration = unitValue(parseDuration);

/** The helper's configuration file (JSON); flags override single keys. Documented in docs/operations.md. */
export const HelperConfigSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(3456),
  dataDir: z.string().min(1),
  /** Tokens accepted on the client routes (check, uploads, job status). */
  clientTokens: z.array(z.string().min(16)).min(1),
  /** Token of the admin API, page and metrics (docs/operations.md, "Admin and metrics"); without it no admin listener starts. */
  adminToken: z.string().min(16).optional(),
  /** The admin listener: its own address, loopback only by default. */
  admin: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(3457),
      /** Serve /metrics without the admin token (a scraper on a trusted network). */
      metricsPublic: z.boolean().default(false),
      /** How often the storage servers are probed for the admin server table. */
      probeInterval: duration.default(30_000),
    })
    .prefault({}),
  /**
   * HTTPS for the client API (and gateway) and the admin listener: { cert, key } files, true (a self-signed
   * certificate kept in dataDir/tls), false (plain http: loopback binds only). Unset: https on a non-loopback bind.
   */
  tls: TlsSetting.optional(),
  /** Allow plain http where tokens or caps would leave the machine (a storage server's http:// address off loopback). */
  allowInsecureHttp: z.boolean().default(false),
  /** Storage servers by address: `https://host:port/#spki=<pin>` as `ferry storage` prints it. */
  storageServers: z.array(z.strictObject({ url: z.url(), token: z.string().min(1) })).default([]),
  defaults: z
    .strictObject({
      k: z.number().int().min(1).max(MAX_SHARES).default(DEFAULT_K),
      happy: z.number().int().min(1).max(MAX_SHARES).default(DEFAULT_HAPPY),
      n: z.number().int().min(1).max(MAX_SHARES).default(DEFAULT_N),
      maxSegmentSize: z.number().int().min(1).max(MAX_SEGMENT_SIZE_LIMIT).default(DEFAULT_MAX_SEGMENT_SIZE),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Largest file accepted. */
      maxFileSize: size.default(1024 ** 4),
      /** Bytes all unfinished spools may reserve together; 0 = no quota; left out: limits.holdingQuotaFraction of the holding dir's free disk at start. */
      holdingQuota: size.optional(),
      /** A receiving spool idle this long is deleted by the sweep. */
      spoolIdle: duration.default(7 * 86_400_000),
      sweepInterval: duration.default(3_600_000),
      /** A receiving upload whose client sent nothing this long may be replaced by a check with other segment hashes (before: 409). */
      takeoverIdle: duration.default(3_600_000),
      /** Jobs encoded and pushed at once. */
      concurrency: z.number().int().min(1).max(64).default(2),
      /** Verified spool bytes that may wait for one fsync. */
      commitEvery: size.default(16 * 1024 * 1024),
      /** Idle socket timeout (Node's 300 s requestTimeout is disabled: long PATCHes are fine). */
      idleTimeout: duration.default(120_000),
      retryBase: duration.default(5_000),
      retryMax: duration.default(3_600_000),
      /** Start encoding and pushing while the upload still arrives (when a worker slot is free). */
      pipeline: z.boolean().default(true),
      /** Keep-alive connections per storage server. */
      connectionsPerServer: z.number().int().min(1).max(256).default(8),
      /** A file larger than this may not be cut into segments smaller than this (a check says the segment size). */
      minSegmentSize: size.default(64 * 1024),
      /** Segments per file; also sets the largest check body (their hashes). 2^20 = 1 TiB at the client's 1 MiB segments. */
      maxSegments: z.number().int().min(1).max(2 ** 24).default(2 ** 20),
      /** n × segment size: the coded blocks of one segment, held in memory while it is encoded and pushed. */
      maxCodedSegmentBytes: size.default(256 * 1024 * 1024),
      /** Attempts a job gets (a crash mid-attempt counts); then it is failed for good. */
      maxAttempts: z.number().int().min(1).max(1000).default(10),
      /** Done and cancelled jobs are forgotten this long after they finished (a later check asks the grid). */
      jobRetention: duration.default(30 * 86_400_000),
      /** Admin live-feed (SSE) streams open at once; more get 503. */
      maxLiveFeeds: z.number().int().min(1).max(10_000).default(16),
      /** Connections each listener (client API, admin) accepts at once; more are closed on arrival. */
      maxConnections: z.number().int().min(1).max(1_000_000).default(1024),
      /** check-file --verify runs at once (each reads every block of a file); more wait their turn. */
      maxConcurrentVerifies: z.number().int().min(1).max(64).default(2),
      // Per-token and intake limits (issue 13): answered at the edge, before a byte is spooled.
      /** Uploads one client token may have receiving at once (those it created); one more: 429 TOO_MANY_REQUESTS. */
      maxUploadsPerToken: z.number().int().min(1).max(100_000).default(16),
      /** Bytes one client token's unfinished uploads may reserve; left out: half the holding quota (all of it with one client token); 0 = no limit. */
      holdingPerToken: size.optional(),
      /** Share of the holding dir's free disk (measured at start) taken as holdingQuota when that is left out. */
      holdingQuotaFraction: z.number().gt(0).max(1).default(0.5),
      /** PATCH requests received at once over all uploads (one upload takes one at a time: tus' lock); one more: 503 UNAVAILABLE. */
      maxConcurrentPatches: z.number().int().min(1).max(100_000).default(64),
      /** Block bytes one gateway download reads ahead from its shares (all together); 0 = a request per block. */
      gatewayReadAhead: size.default(16 * 1024 * 1024),
    })
    .prefault({}),
});

export type HelperConfigInput = z.input<typeof HelperConfigSchema>;
export type HelperConfig = z.output<typeof HelperConfigSchema>;

export function parseHelperConfig(input: unknown): HelperConfig {
  const c = HelperConfigSchema.parse(input);
  const { k, happy, n } = c.defaults;
  if (!(k <= happy && happy <= n)) throw new Error(`config defaults need k <= happy <= n, got k=${k} happy=${happy} n=${n}`);
  if (c.defaults.maxSegmentSize < c.limits.minSegmentSize) throw new Error(`config defaults.maxSegmentSize (${c.defaults.maxSegmentSize}) is below limits.minSegmentSize (${c.limits.minSegmentSize}): clients would be refused`);
  if (c.adminToken !== undefined && c.clientTokens.includes(c.adminToken)) throw new Error('adminToken must differ from every client token');
  for (const s of c.storageServers) assertSecureTransport(parseServerAddress(s.url, 'storageServers url'), { what: 'storage server', allowInsecureHttp: c.allowInsecureHttp });
  return c;
}
