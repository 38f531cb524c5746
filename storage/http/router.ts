/** The /storage/v1 routes (documented in docs/protocol.md). */
import express, { type Router } from 'express';
import { jsonBody } from '../../runtime/http/body.js';
import type { HandlerDeps } from './deps.js';
import { allocateHandler } from './handlers/allocate.js';
import { infoHandler } from './handlers/info.js';
import { abortHandler, corruptionHandler, leaseHandler, listHandler, progressHandler } from './handlers/misc.js';
import { readHandler } from './handlers/read.js';
import { statusHandler } from './handlers/status.js';
import { writeHandler } from './handlers/write.js';
import { shareNumberParam, storageIndexParam } from './params.js';

const SMALL_JSON = 64 * 1024;
/** A 32765-character reason may take up to 6 bytes per character once JSON-escaped. */
const REPORT_JSON = 256 * 1024;

export function storageRouter(deps: HandlerDeps): Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  // Validate path parameters before any body is read.
  router.param('si', (_req, _res, next, value) => {
    storageIndexParam(value);
    next();
  });
  router.param('shnum', (_req, _res, next, value) => {
    shareNumberParam(value);
    next();
  });

  router.get('/info', infoHandler(deps));
  router.get('/status', statusHandler(deps));
  router.put('/lease/:si', ...jsonBody(SMALL_JSON), leaseHandler(deps));
  router.post('/immutable/:si', ...jsonBody(SMALL_JSON), allocateHandler(deps));
  router.get('/immutable/:si/shares', listHandler(deps));
  router.patch('/immutable/:si/:shnum', writeHandler(deps));
  router.get('/immutable/:si/:shnum', readHandler(deps)); // also serves HEAD
  router.delete('/immutable/:si/:shnum', abortHandler(deps));
  router.get('/immutable/:si/:shnum/missing', progressHandler(deps));
  router.post('/immutable/:si/:shnum/corrupt', ...jsonBody(REPORT_JSON), corruptionHandler(deps));
  return router;
}
