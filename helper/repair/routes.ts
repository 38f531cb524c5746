/**
 * POST /helper/v1/check-file and POST /helper/v1/repair (docs/protocol.md,
 * "Check and repair"), mounted by helper/http/app.ts behind the client-token
 * check. Repair progress is read at GET /helper/v1/jobs/<si> like any job.
 */
import { setMaxListeners } from 'node:events';
import express, { type RequestHandler, type Router } from 'express';
import { jsonBody } from '../../runtime/http/body.js';
import type { RepairService } from './service.js';

export const CHECK_FILE_PATH = '/helper/v1/check-file';
export const REPAIR_PATH = '/helper/v1/repair';
const BODY_LIMIT = 64 * 1024;

export function repairRoutes(repairs: RepairService, auth: RequestHandler): Router {
  const r = express.Router({ caseSensitive: true, strict: true });
  r.post(CHECK_FILE_PATH, auth, ...jsonBody(BODY_LIMIT), async (req, res) => {
    // A full verification sends nothing until it is done: no idle cut-off, but stop when the client goes away.
    const ac = new AbortController();
    setMaxListeners(0, ac.signal); // one listener per storage read in flight
    res.on('close', () => {
      if (!res.writableFinished) ac.abort(new Error('client went away'));
    });
    if ((req.body as { verify?: unknown } | undefined)?.verify === true) req.setTimeout(0);
    res.json(await repairs.check(req.body, ac.signal));
  });
  r.post(REPAIR_PATH, auth, ...jsonBody(BODY_LIMIT), async (req, res) => {
    res.status(202).json(await repairs.start(req.body));
  });
  return r;
}
