/**
 * The wire contract of the helper's client API (/helper/v1), shared by the
 * helper's routes and the client library. Documented in docs/protocol.md,
 * "Helper API" and "Check and repair". Answers are parsed by the client: a
 * helper is trusted to store, not to be well-formed.
 */
import { z } from 'zod';
import { MAX_SEGMENT_SIZE_LIMIT, MAX_SHARES } from '../core/params.js';

export const HELPER_API_PREFIX = '/helper/v1';
export const HELPER_PROTOCOL_VERSION = 1;
/** The tus protocol version both sides speak (header `Tus-Resumable`). */
export const TUS_VERSION = '1.0.0';

export const HELPER_PATHS = {
  info: `${HELPER_API_PREFIX}/info`,
  check: `${HELPER_API_PREFIX}/check`,
  /** tus uploads: POST here, then PATCH `${uploads}/<storage index>`. */
  uploads: `${HELPER_API_PREFIX}/uploads`,
  /** GET `${jobs}/<storage index>`: a job view. */
  jobs: `${HELPER_API_PREFIX}/jobs`,
  checkFile: `${HELPER_API_PREFIX}/check-file`,
  repair: `${HELPER_API_PREFIX}/repair`,
} as const;

export const uploadPath = (si: string): string => `${HELPER_PATHS.uploads}/${si}`;
export const jobPath = (si: string): string => `${HELPER_PATHS.jobs}/${si}`;

const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const Hex32 = z.string().regex(/^[0-9a-f]{64}$/);
/** shnum -> ids of the servers holding it. */
const ShareMap = z.record(z.string(), z.array(z.string()));

// ---- jobs ----

/** Every state a job can be in; `done` and `cancelled` are terminal (docs/protocol.md, "Job states"). */
export const JOB_STATES = ['receiving', 'queued', 'encoding', 'done', 'failed', 'cancelled'] as const;
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;

const JOB_KINDS = ['upload', 'repair'] as const;

export const JobParams = z.object({
  size: z.number().int(),
  k: z.number().int(),
  n: z.number().int(),
  happy: z.number().int(),
  /** The uploader's maximum segment size (what the convergent key commits to). */
  maxSegmentSize: z.number().int(),
});

export const JobResultView = z.object({
  ueb: Base64,
  uebHash: Hex32,
  shareMap: ShareMap,
  happiness: z.number(),
  pushed: z.array(z.number()).optional(),
  preexisting: z.array(z.number()).optional(),
});
export type JobResultView = z.infer<typeof JobResultView>;

/** GET /helper/v1/jobs/<si>: progress and result, not internals like placement. */
export const JobView = z.object({
  storageIndex: z.string(),
  kind: z.enum(JOB_KINDS).default('upload'),
  state: JobState,
  params: JobParams.optional(),
  crypttextRoot: z.string().optional(),
  received: z.number(),
  segmentsEncoded: z.number(),
  pushedBytes: z.record(z.string(), z.number()).default({}),
  attempts: z.number().default(0),
  createdAt: z.number().optional(),
  updatedAt: z.number().optional(),
  nextAttemptAt: z.number().optional(),
  lastError: z.string().optional(),
  /** A failed job that cannot heal by waiting: it is not retried (docs/protocol.md, "Job states"). */
  permanent: z.boolean().optional(),
  /** Why it is permanent: NOT_ENOUGH_SERVERS, NO_ATTEMPTS_LEFT (more may come: treat unknown codes as permanent). */
  failureCode: z.string().optional(),
  /** An upload's result is checked against JobResultView, a repair's against RepairResult. */
  result: z.unknown().optional(),
});
export type JobView = z.infer<typeof JobView>;
/** An upload's job view: its result, once done, holds the UEB the client verifies. */
export const UploadJobView = JobView.extend({ result: JobResultView.optional() });
export type UploadJobView = z.infer<typeof UploadJobView>;
/** A repair's job view: progress is reported against the file's parameters. */
export const RepairJobView = JobView.extend({ params: JobParams });

// ---- info ----

export const HelperInfo = z.object({
  protocolVersion: z.number(),
  defaults: z.object({ k: z.number().int(), happy: z.number().int(), n: z.number().int(), maxSegmentSize: z.number().int() }),
  maxFileSize: z.number(),
  /** Storage servers configured. */
  servers: z.number(),
  /** Of those, the ones that answered the helper's last probe (absent from older helpers). */
  reachableServers: z.number().optional(),
});
export type HelperInfo = z.infer<typeof HelperInfo>;

// ---- the check ----

/** POST /helper/v1/check body. */
export const CheckRequest = z.strictObject({
  storageIndex: z.string().max(64),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  k: z.number().int().min(1).max(MAX_SHARES),
  n: z.number().int().min(1).max(MAX_SHARES),
  happy: z.number().int().min(1).max(MAX_SHARES),
  maxSegmentSize: z.number().int().min(1).max(MAX_SEGMENT_SIZE_LIMIT),
  /** base64 of the concatenated 32-byte crypttext segment hashes (docs/format.md section 7). */
  segmentHashes: z.string(),
});
export type CheckRequest = z.infer<typeof CheckRequest>;

/** The grid already holds the file: the client verifies the UEB against its own hashes before trusting it. */
const HaveItAnswer = z.object({ status: z.literal('have-it'), storageIndex: z.string(), ueb: Base64, uebHash: Hex32, shareMap: ShareMap, happiness: z.number() });
/** Send the ciphertext over tus, from `offset` (bytes already received and verified). */
const SendAnswer = z.object({
  status: z.literal('send'),
  storageIndex: z.string(),
  /** tus upload URL, relative to the helper's base URL. */
  uploadPath: z.string().startsWith('/'),
  offset: z.number().int().min(0),
  /** Half-open byte ranges still needed. */
  missing: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])),
  segmentSize: z.number().int().min(1),
});
/** Every byte is here: follow the job at `statusPath`. */
const InProgressAnswer = z.object({ status: z.literal('in-progress'), storageIndex: z.string(), state: z.string(), statusPath: z.string(), lastError: z.string().optional() });
export const CheckAnswer = z.discriminatedUnion('status', [HaveItAnswer, SendAnswer, InProgressAnswer]);
export type CheckAnswer = z.infer<typeof CheckAnswer>;

// ---- check-file and repair ----

const CapText = z.string().min(1).max(256);
/** POST /helper/v1/check-file and POST /helper/v1/repair bodies: a verify-cap (a read-cap is reduced to one). */
export const CheckFileRequest = z.strictObject({
  cap: CapText,
  /** Verify every block of every share, not only headers, UEBs and hash chains. */
  verify: z.boolean().optional(),
  happy: z.number().int().min(1).max(MAX_SHARES).optional(),
});
export type CheckFileRequest = z.infer<typeof CheckFileRequest>;
export const RepairRequest = CheckFileRequest;
export type RepairRequest = CheckFileRequest;

export const CorruptShare = z.object({ shnum: z.number().int(), server: z.string(), reason: z.string() });

export const ServerReport = z.object({
  url: z.string(),
  reachable: z.boolean(),
  /** Good copies it holds. */
  shares: z.array(z.number().int()),
  /** Bad copies it holds. */
  corrupt: z.array(z.number().int()),
  /** Copies it lists that could not be read this time. */
  unreadable: z.array(z.number().int()),
  error: z.string().optional(),
});
export type ServerReport = z.infer<typeof ServerReport>;

/** The answer of POST /helper/v1/check-file. */
export const CheckReport = z.object({
  storageIndex: z.string(),
  verifyCap: z.string(),
  k: z.number().int(),
  n: z.number().int(),
  size: z.number().int(),
  happy: z.number().int(),
  /** 'full': every byte of every copy was checked; 'cheap': headers, UEBs and hash chains. */
  verified: z.enum(['cheap', 'full']),
  /** shnum -> servers holding a good copy. */
  shares: ShareMap,
  /** Distinct good share numbers. */
  goodShares: z.number().int(),
  happiness: z.number().int(),
  /** happiness >= happy and all n share numbers have a good copy. */
  healthy: z.boolean(),
  /** At least k good share numbers: the file can be read and repaired. */
  recoverable: z.boolean(),
  /** Share numbers without a good copy. */
  missing: z.array(z.number().int()),
  corrupt: z.array(CorruptShare.extend({ reported: z.boolean() })),
  /** By server id (by URL for a server that never answered). */
  servers: z.record(z.string(), ServerReport),
  /** Set when no copy has the UEB the capability names although copies exist: probably the wrong capability. */
  warning: z.string().optional(),
  /** Set by a verifying check when the good shares decode to ciphertext the UEB's crypttext root does not name. */
  inconsistent: z.string().optional(),
});
export type CheckReport = z.infer<typeof CheckReport>;

/** The answer of POST /helper/v1/repair (202). */
export const RepairStarted = z.object({
  storageIndex: z.string(),
  verifyCap: z.string(),
  state: z.string(),
  statusPath: z.string().startsWith('/'),
  /** false when a repair of this file was already queued or running. */
  created: z.boolean(),
});
export type RepairStarted = z.infer<typeof RepairStarted>;

/** A finished repair job's `result`. */
export const RepairResult = z.object({
  uebHash: z.string(),
  shareMap: ShareMap,
  happiness: z.number().int(),
  repaired: z.array(z.number().int()),
  preexisting: z.array(z.number().int()).default([]),
  corrupt: z.array(CorruptShare).default([]),
  leases: z.object({ renewed: z.array(z.string()), failed: z.array(z.object({ server: z.string(), error: z.string() })) }).default({ renewed: [], failed: [] }),
  healthy: z.boolean().default(true),
});
export type RepairResult = z.infer<typeof RepairResult>;

// ---- errors ----

/** Every error answer: a stable code, a message, and details of that code. */
export const ErrorBody = z.looseObject({ error: z.string(), message: z.string() });
export type ErrorBody = z.infer<typeof ErrorBody>;
