import type { RequestHandler } from 'express';
import { AllocateRequest, type AllocateResponse } from '../../protocol.js';
import type { HandlerDeps } from '../deps.js';
import { bodyAs, storageIndexParam } from '../params.js';

/** POST /immutable/:si  { shareSize, shareNumbers, leaseSeconds? } */
export function allocateHandler({ store }: HandlerDeps): RequestHandler {
  return async (req, res) => {
    const si = storageIndexParam(req.params.si);
    const { shareSize, shareNumbers, leaseSeconds } = bodyAs(AllocateRequest, req.body);
    const result = await store.allocate(si, {
      shareSize,
      shareNumbers,
      leaseMs: leaseSeconds === undefined ? undefined : leaseSeconds * 1000,
    });
    const body: AllocateResponse = {
      alreadyHave: result.alreadyHave,
      allocated: result.allocated,
      missing: Object.fromEntries([...result.missing].map(([n, ivs]) => [String(n), ivs.map(([s, e]) => [s, e] as [number, number])])),
      leaseExpiresAt: result.leaseExpiresAt,
    };
    res.json(body);
  };
}
