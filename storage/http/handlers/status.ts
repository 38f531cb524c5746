import type { RequestHandler } from 'express';
import { STORAGE_PROTOCOL_VERSION, type StatusResponse } from '../../protocol.js';
import type { HandlerDeps } from '../deps.js';

/** GET /status */
export function statusHandler({ store }: HandlerDeps): RequestHandler {
  return async (_req, res) => {
    const s = await store.status();
    const body: StatusResponse = { ...s, protocolVersion: STORAGE_PROTOCOL_VERSION };
    res.json(body);
  };
}
