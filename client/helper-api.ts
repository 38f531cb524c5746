import type { z } from 'zod';
import { FerryError } from '../core/errors.js';
import { CheckAnswer, HELPER_PATHS, HelperInfo, jobPath, UploadJobView, type CheckRequest } from '../helper/protocol.js';
import { callJson, helperBase, type CallContext } from './http.js';

/**
 * The helper's client API (docs/protocol.md; the contract is
 * helper/protocol.ts) as the client sees it. Answers are validated: a helper
 * is trusted to store, not to be well-formed, and a clear "the helper
 * answered nonsense" beats a TypeError three calls later.
 */
export type { CheckAnswer, HelperInfo, UploadJobView as JobView } from '../helper/protocol.js';

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
    this.base = helperBase(helperUrl);
  }

  async info(): Promise<HelperInfo> {
    return parseHelperAnswer(HelperInfo, await callJson(this.ctx, 'GET', `${this.base}${HELPER_PATHS.info}`, `helper ${this.base}`), 'info');
  }

  async check(body: CheckRequest): Promise<CheckAnswer> {
    return parseHelperAnswer(CheckAnswer, await callJson(this.ctx, 'POST', `${this.base}${HELPER_PATHS.check}`, 'check', body), 'check');
  }

  async job(si: string): Promise<UploadJobView> {
    return parseHelperAnswer(UploadJobView, await callJson(this.ctx, 'GET', `${this.base}${jobPath(si)}`, 'job status'), 'job status');
  }

  /** Absolute URL of a path the helper answered with (uploadPath, statusPath). */
  resolve(path: string): string {
    return new URL(path, `${this.base}/`).toString();
  }
}
