/** The small routes: progress, list, abort, corruption report, lease. */
import type { RequestHandler } from 'express';
import { CorruptionRequest, LeaseRequest } from '../../protocol.js';
import type { HandlerDeps } from '../deps.js';
import { progressBody } from './write.js';
import { bodyAs, shareNumberParam, storageIndexParam } from '../params.js';

/** GET /immutable/:si/:shnum/missing */
export function progressHandler({ store }: HandlerDeps): RequestHandler {
  return async (req, res) => {
    res.json(progressBody(await store.progress(storageIndexParam(req.params.si), shareNumberParam(req.params.shnum))));
  };
}

/** GET /immutable/:si/shares */
export function listHandler({ store }: HandlerDeps): RequestHandler {
  return async (req, res) => {
    res.json({ shareNumbers: await store.list(storageIndexParam(req.params.si)) });
  };
}

/** DELETE /immutable/:si/:shnum — abandons an upload in progress. */
export function abortHandler({ store }: HandlerDeps): RequestHandler {
  return async (req, res) => {
    await store.abort(storageIndexParam(req.params.si), shareNumberParam(req.params.shnum));
    res.status(204).end();
  };
}

/** POST /immutable/:si/:shnum/corrupt  { reason } */
export function corruptionHandler({ store }: HandlerDeps): RequestHandler {
  return async (req, res) => {
    const si = storageIndexParam(req.params.si);
    const shnum = shareNumberParam(req.params.shnum);
    const { reason } = bodyAs(CorruptionRequest, req.body);
    const report = await store.reportCorruption(si, shnum, reason);
    res.json({ recorded: true, id: report.id });
  };
}

/** PUT /lease/:si  { leaseSeconds? } */
export function leaseHandler({ store }: HandlerDeps): RequestHandler {
  return async (req, res) => {
    const si = storageIndexParam(req.params.si);
    const { leaseSeconds } = bodyAs(LeaseRequest, req.body);
    const lease = await store.renewLease(si, leaseSeconds === undefined ? undefined : leaseSeconds * 1000);
    res.json({ expiresAt: lease.expiresAt });
  };
}
