import { pipeline } from 'node:stream/promises';
import type { RequestHandler } from 'express';
import { FerryError } from '../../../core/errors.js';
import {
  formatContentRange,
  formatUnsatisfiedContentRange,
  parseRangeHeader,
  resolveRange,
  type ByteRange,
} from '../../../runtime/http/range.js';
import type { HandlerDeps } from '../deps.js';
import { shareNumberParam, storageIndexParam } from '../params.js';

/**
 * GET and HEAD /immutable/:si/:shnum, with an optional single-range
 * `Range: bytes=…` header. Only complete shares are ever served.
 */
export function readHandler({ store }: HandlerDeps): RequestHandler {
  return async (req, res) => {
    const si = storageIndexParam(req.params.si);
    const shnum = shareNumberParam(req.params.shnum);
    const header = req.get('range');
    const specs = header === undefined ? undefined : parseRangeHeader(header);
    if (specs && specs.length !== 1) throw new FerryError('INVALID_RANGE', 'only a single byte range per request is supported');
    const reader = await store.open(si, shnum);
    let range: ByteRange = { start: 0, end: reader.size };
    if (specs) {
      const resolved = resolveRange(specs[0], reader.size);
      if (!resolved) {
        await reader.close();
        res.setHeader('Content-Range', formatUnsatisfiedContentRange(reader.size));
        throw new FerryError('RANGE_NOT_SATISFIABLE', `range ${header} is outside the ${reader.size}-byte share`, { details: { size: reader.size } });
      }
      range = resolved;
      res.status(206).setHeader('Content-Range', formatContentRange(range, reader.size));
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Length', String(range.end - range.start));
    if (req.method === 'HEAD' || range.end === range.start) {
      await reader.close();
      res.end();
      return;
    }
    try {
      // pipeline destroys the file stream (closing its handle) if the client goes away.
      await pipeline(reader.stream(range.start, range.end), res);
    } catch (err) {
      if (res.destroyed || req.destroyed) return; // the client left; nothing to answer
      throw err;
    }
  };
}
