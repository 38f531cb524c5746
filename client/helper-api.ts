import { z } from 'zod';
import { FerryError } from '../core/errors.js';
import { callJson, type CallContext } from './http.js';

/**
 * The helper's client API (docs/protocol.md) as the client sees it. Answers
 * are validated: a helper is trusted to store, not to be well-formed, and a
 * clear "the helper answered nonsense" beats a TypeError three calls later.
 */
const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const Hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const ShareMap = z.record(z.string(), z.array(z.string()));

export const HaveItAnswer = z.object({ status: z.literal('have-it'), storageIndex: z.string(), ueb: Base64, uebHash: Hex32, shareMap: ShareMap, happiness: z.number() });
export const SendAnswer = z.object({
  status: z.literal('send'),
  storageIndex: z.string(),
  uploadPath: z.string().startsWith('/'),
  offset: z.number().int().min(0),
  missing: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])),
  segmentSize: z.number().int().min(1),
});
export const InProgressAnswer = z.object({ status: z.literal('in-progress'), storageIndex: z.string(), state: z.string(), statusPath: z.string(), lastError: z.string().optional() });
export const CheckAnswer = z.discriminatedUnion('status', [HaveItAnswer, SendAnswer, InProgressAnswer]);
export type CheckAnswer = z.infer<typeof CheckAnswer>;

export const JobResult = z.object({ ueb: Base64, uebHash: Hex32, shareMap: ShareMap, happiness: z.number(), pushed: z.array(z.number()).optional(), preexisting: z.array(z.number()).optional() });
export type JobResult = z.infer<typeof JobResult>;

export const JobView = z.object({
  storageIndex: z.string(),
  state: z.enum(['receiving', 'queued', 'encoding', 'pushing', 'done', 'failed', 'cancelled']),
  received: z.number(),
  segmentsEncoded: z.number(),
  pushedBytes: z.record(z.string(), z.number()).default({}),
  attempts: z.number().default(0),
  lastError: z.string().optional(),
  result: JobResult.optional(),
});
export type JobView = z.infer<typeof JobView>;

export const HelperInfo = z.object({
  protocolVersion: z.number(),
  defaults: z.object({ k: z.number().int(), happy: z.number().int(), n: z.number().int(), maxSegmentSize: z.number().int() }),
  maxFileSize: z.number(),
  servers: z.number(),
});
export type HelperInfo = z.infer<typeof HelperInfo>;

export interface CheckRequest {
  storageIndex: string;
  size: number;
  k: number;
  n: number;
  happy: number;
  maxSegmentSize: number;
  /** base64 of the concatenated 32-byte crypttext segment hashes. */
  segmentHashes: string;
}

/** Validates a helper answer; anything unexpected is the helper's fault (UPSTREAM_ERROR), never a crash here. */
export function parseHelperAnswer<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new FerryError('UPSTREAM_ERROR', `${what}: unexpected answer from the helper (${issue.path.join('.') || 'body'}: ${issue.message})`);
}

export class HelperApi {
  readonly base: string;

  constructor(
    helperUrl: string,
    private readonly ctx: CallContext,
  ) {
    this.base = helperUrl.replace(/\/+$/, '');
  }

  async info(): Promise<HelperInfo> {
    return parseHelperAnswer(HelperInfo, await callJson(this.ctx, 'GET', `${this.base}/helper/v1/info`, `helper ${this.base}`), 'info');
  }

  async check(body: CheckRequest): Promise<CheckAnswer> {
    return parseHelperAnswer(CheckAnswer, await callJson(this.ctx, 'POST', `${this.base}/helper/v1/check`, 'check', body), 'check');
  }

  async job(si: string): Promise<JobView> {
    return parseHelperAnswer(JobView, await callJson(this.ctx, 'GET', `${this.base}/helper/v1/jobs/${si}`, 'job status'), 'job status');
  }

  /** Absolute URL of a path the helper answered with (uploadPath, statusPath). */
  resolve(path: string): string {
    return new URL(path, `${this.base}/`).toString();
  }
}
