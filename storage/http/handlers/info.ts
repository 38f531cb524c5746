import type { RequestHandler } from 'express';
import { STORAGE_PROTOCOL_VERSION, type InfoResponse } from '../../protocol.js';
import type { HandlerDeps } from '../deps.js';

/** GET /info */
export function infoHandler({ store, maxWriteSize, applicationVersion }: HandlerDeps): RequestHandler {
  return async (_req, res) => {
    const space = await store.space();
    const body: InfoResponse = {
      serverId: store.serverId,
      protocolVersion: STORAGE_PROTOCOL_VERSION,
      applicationVersion,
      availableSpace: space.available,
      maximumShareSize: store.maxShareSize,
      maximumWriteSize: maxWriteSize,
    };
    res.json(body);
  };
}
