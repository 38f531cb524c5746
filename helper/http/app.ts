import { MemoryLocker, Server as TusServer } from '@tus/server';
import express, { type Express } from 'express';
import { FerryError } from '../../core/errors.js';
import { isStorageIndex, parseStorageIndex } from '../../core/storage-index.js';
import { jsonBody } from '../../runtime/http/body.js';
import { errorHandler, notFoundHandler, sendError } from '../../runtime/http/errors.js';
import { requestLog } from '../../runtime/http/request-log.js';
import { JOBS_PATH, UPLOADS_PATH } from '../check/check-answer.js';
import { gatewayRoutes } from '../gateway/router.js';
import type { Helper } from '../helper.js';
import { repairRoutes } from '../repair/routes.js';
import { jobView } from './job-view.js';
import { anyBearer } from './client-auth.js';

const CHECK_BODY_LIMIT = 64 * 1024 * 1024; // room for the hashes of a 2 TiB file at 1 MiB segments

/** The helper's client-facing HTTP API (docs/protocol.md, "Helper API"). */
export function createHelperApp(helper: Helper): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLog(helper.log));
  const auth = anyBearer(helper.config.clientTokens);

  app.get('/helper/v1/info', auth, (_req, res) => {
    res.json({ protocolVersion: 1, defaults: helper.config.defaults, maxFileSize: helper.config.limits.maxFileSize, servers: helper.grid.size });
  });

  app.post('/helper/v1/check', auth, ...jsonBody(CHECK_BODY_LIMIT), async (req, res) => {
    await helper.repairs.beforeUploadCheck(req.body); // a repair record gives way to an upload of the same file
    res.json(await helper.checks.check(req.body));
  });

  app.use(repairRoutes(helper.repairs, auth)); // check-file, repair

  app.get(`${JOBS_PATH}/:si`, auth, async (req, res) => {
    const si = String(req.params.si);
    parseStorageIndex(si);
    res.json(jobView(await helper.jobs.require(si)));
  });

  const tus = new TusServer({
    path: UPLOADS_PATH,
    datastore: helper.datastore,
    locker: new MemoryLocker(),
    relativeLocation: true,
    maxSize: helper.config.limits.maxFileSize,
    // Upload ids are storage indexes; anything else is not an upload of ours.
    getFileIdFromRequest: (_req, lastPath) => (lastPath && isStorageIndex(lastPath) ? lastPath : undefined),
    namingFunction: (_req, metadata) => {
      const si = metadata?.storageIndex;
      if (!si || !isStorageIndex(si)) throw { status_code: 400, body: JSON.stringify({ error: 'INVALID_STORAGE_INDEX', message: 'Upload-Metadata must carry storageIndex' }) };
      return si;
    },
  });
  const tusHandler: express.RequestHandler = (req, res) => {
    void tus.handle(req, res);
  };
  // Paused intake refuses tus creation here, before tus, so the 503 carries Retry-After.
  const intakeGate: express.RequestHandler = (req, res, next) => {
    if (req.method !== 'POST' || !helper.intakePaused) {
      next();
      return;
    }
    res.setHeader('Tus-Resumable', '1.0.0');
    sendError(res, new FerryError('INTAKE_PAUSED', 'intake paused; retry later'));
  };
  app.all(UPLOADS_PATH, auth, intakeGate, tusHandler);
  app.all(`${UPLOADS_PATH}/*splat`, auth, tusHandler);

  app.use(gatewayRoutes(helper));
  app.use(notFoundHandler);
  app.use(errorHandler(helper.log));
  return app;
}

