import type { RequestHandler } from 'express';
import { FerryError } from '../../../core/errors.js';
import { parseContentRange } from '../../../runtime/http/range.js';
import type { ProgressResponse } from '../../protocol.js';
import { STAGING_BYTES } from '../../store/chunk.js';
import type { ShareProgress } from '../../store/types.js';
import { batchedBody } from '../body-batches.js';
import type { HandlerDeps } from '../deps.js';
import { shareNumberParam, storageIndexParam } from '../params.js';

/**
 * PATCH /immutable/:si/:shnum with `Content-Range: bytes first-last/(total|*)`
 * and the chunk as an application/octet-stream body. 200 with the missing
 * intervals, or 201 once the share is complete.
 */
export function writeHandler({ store, maxWriteSize }: HandlerDeps): RequestHandler {
  return async (req, res) => {
    const si = storageIndexParam(req.params.si);
    const shnum = shareNumberParam(req.params.shnum);
    const type = req.get('content-type');
    if (type !== undefined && !req.is('application/octet-stream')) {
      throw new FerryError('UNSUPPORTED_MEDIA_TYPE', 'share data must be sent as application/octet-stream');
    }
    const declared = req.get('content-length');
    const contentLength = declared === undefined ? undefined : Number(declared);
    if (contentLength !== undefined && contentLength > maxWriteSize) {
      throw new FerryError('PAYLOAD_TOO_LARGE', `request body of ${contentLength} bytes exceeds the ${maxWriteSize}-byte limit per write`, {
        details: { maximumWriteSize: maxWriteSize },
      });
    }
    const header = req.get('content-range');
    if (header === undefined) throw new FerryError('INVALID_RANGE', 'a Content-Range header ("bytes first-last/total") is required');
    const range = parseContentRange(header);
    const length = range.end - range.start;
    if (length > maxWriteSize) {
      throw new FerryError('PAYLOAD_TOO_LARGE', `a write of ${length} bytes exceeds the ${maxWriteSize}-byte limit per write`, {
        details: { maximumWriteSize: maxWriteSize },
      });
    }
    if (contentLength !== undefined && contentLength !== length) {
      throw new FerryError('INVALID_RANGE', `Content-Length ${contentLength} does not match the ${length} bytes of Content-Range`);
    }
    // In batches the store writes without staging them (one promise per MiB, not per 16 KiB TLS record).
    const body = batchedBody(req, STAGING_BYTES);
    const progress = await store.write(si, shnum, range, body);
    res.status(progress.complete ? 201 : 200).json(progressBody(progress));
  };
}

export function progressBody(p: ShareProgress): ProgressResponse {
  return { shareSize: p.shareSize, complete: p.complete, missing: p.missing.map(([s, e]) => [s, e]) };
}
