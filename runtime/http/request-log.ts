/**
 * One log line per HTTP request, written when the response finishes (or the
 * connection closes first): method, path, status, bytes in (body bytes read
 * while handling) and out (headers included), duration.
 * The query string and headers (credentials!) are never logged.
 */
import type { RequestHandler } from 'express';

export interface RequestLogSink {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RequestLogOptions {
  /** Requests whose path matches are not logged (e.g. health checks). */
  skip?: (path: string) => boolean;
}

export function requestLog(log: RequestLogSink, options: RequestLogOptions = {}): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // A read-cap in a URL is the key to the file: never write one to a log.
    const path = redactCapabilities(req.originalUrl.split('?')[0]);
    if (options.skip?.(path)) {
      next();
      return;
    }
    const socket = req.socket;
    const readAtStart = socket.bytesRead;
    const writtenAtStart = socket.bytesWritten;
    let done = false;
    const finish = (aborted: boolean): void => {
      if (done) return;
      done = true;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const entry = {
        method: req.method,
        path,
        status: res.statusCode,
        bytesIn: socket.bytesRead - readAtStart,
        bytesOut: socket.bytesWritten - writtenAtStart,
        ms: Math.round(ms * 10) / 10,
        ...(aborted ? { aborted: true } : {}),
      };
      const msg = `${req.method} ${path} ${aborted ? 'aborted' : res.statusCode} ${entry.ms}ms in=${entry.bytesIn}B out=${entry.bytesOut}B`;
      // A connection closed before the answer is the client's doing (a flaky link, Ctrl-C, a
      // shutdown ending its requests): resumable clients come back, so it is not a warning.
      // A 5xx the server sent is one.
      if (!aborted && res.statusCode >= 500) log.warn(entry, msg);
      else log.info(entry, msg);
    };
    res.once('finish', () => finish(false));
    res.once('close', () => finish(!res.writableFinished));
    next();
  };
}

/**
 * Replaces capabilities in a request path with a placeholder. Clients may
 * percent-encode any character of a cap (`ferry get` encodes its colons), so
 * each segment is compared decoded, and the segment after `/uri/` is redacted
 * whatever it holds: the gateway would decode and try it as a cap.
 */
export function redactCapabilities(path: string): string {
  const segments = path.split('/');
  return segments
    .map((segment, i) => {
      const decoded = decodeSegment(segment).toLowerCase();
      if (decoded.startsWith('ferry-chk-verify:')) return '<verify-cap>';
      if (decoded.startsWith('ferry-chk')) return '<read-cap>';
      if (i > 0 && decodeSegment(segments[i - 1]).toLowerCase() === 'uri' && segment !== '') return '<cap>';
      return segment;
    })
    .join('/');
}

/** A path segment percent-decoded, or as it is when it does not decode (a bad escape). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
