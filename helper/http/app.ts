import { MemoryLocker, Server as TusServer } from '@tus/server';
import express, { type Express, type Router } from 'express';
import { FerryError } from '../../core/errors.js';
import { isStorageIndex, parseStorageIndex } from '../../core/storage-index.js';
import { rawJsonBody } from '../../runtime/http/body.js';
import { errorHandler, notFoundHandler, sendError } from '../../runtime/http/errors.js';
import { requestLog } from '../../runtime/http/request-log.js';
import type { Logger } from '../../runtime/log.js';
import type { HelperConfig } from '../config.js';
import { checkBodyLimit } from '../intake/check-request.js';
import type { CheckService } from '../intake/check-service.js';
import type { CheckValidator } from '../intake/check-validator.js';
import type { IntakeSwitch } from '../intake/intake-switch.js';
import type { SpoolDataStore } from '../intake/tus-store.js';
import type { JobStore } from '../jobs/job-store.js';
import { HELPER_PATHS, HELPER_PROTOCOL_VERSION, TUS_VERSION, type ErrorBody, type HelperInfo } from '../protocol.js';
import { repairRoutes } from '../repair/routes.js';
import type { RepairService } from '../repair/service.js';
import { anyBearer, clientOf } from './client-auth.js';
import { jobView } from './job-view.js';
import { patchGate } from './patch-gate.js';
import { mayFollow, notYours, uploadAccess } from './upload-access.js';

export interface HelperAppDeps {
  config: HelperConfig;
  log: Logger;
  jobs: Pick<JobStore, 'require' | 'get'>;
  checks: Pick<CheckService, 'checkValid'>;
  /** Parses and validates raw check bodies off the event loop. */
  checkValidator: Pick<CheckValidator, 'validate'>;
  datastore: SpoolDataStore;
  intake: Pick<IntakeSwitch, 'paused'>;
  repairs: RepairService;
  /** The client tokens accepted now (they change on a config reload); default config.clientTokens. */
  clientTokens?: () => readonly string[];
  /** Storage servers configured (for /info). */
  serverCount: () => number;
  /** Storage servers that answered their last probe (for /info). */
  reachableServers?: () => number;
  /** GET /uri/<read-cap> (helper/gateway/). */
  gatewayRoutes: Router;
}

/** The helper's client-facing HTTP API (docs/protocol.md, "Helper API"). */
export function createHelperApp(d: HelperAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLog(d.log));
  const auth = anyBearer(d.clientTokens ?? d.config.clientTokens);

  app.get(HELPER_PATHS.info, auth, (_req, res) => {
    const info: HelperInfo = { protocolVersion: HELPER_PROTOCOL_VERSION, defaults: d.config.defaults, maxFileSize: d.config.limits.maxFileSize, servers: d.serverCount(), ...(d.reachableServers ? { reachableServers: d.reachableServers() } : {}) };
    res.json(info);
  });

  app.post(HELPER_PATHS.check, auth, ...rawJsonBody(checkBodyLimit(d.config.limits)), async (req, res) => {
    // A maximum check is tens of MiB of JSON: it is parsed and hashed in a worker thread.
    const v = await d.checkValidator.validate(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    await d.repairs.beforeUploadCheck(v); // a repair record gives way to an upload of the same file
    res.json(await d.checks.checkValid(v, clientOf(res)));
  });

  app.use(repairRoutes(d.repairs, auth)); // check-file, repair

  app.get(`${HELPER_PATHS.jobs}/:si`, auth, async (req, res) => {
    const si = String(req.params.si);
    parseStorageIndex(si);
    const job = await d.jobs.require(si);
    if (!mayFollow(job, clientOf(res))) throw notYours(si);
    res.json(jobView(job));
  });

  const tus = new TusServer({
    path: HELPER_PATHS.uploads,
    datastore: d.datastore,
    locker: new MemoryLocker(),
    relativeLocation: true,
    onIncomingRequest: uploadAccess(d.jobs),
    maxSize: d.config.limits.maxFileSize,
    // Upload ids are storage indexes; anything else is not an upload of ours.
    getFileIdFromRequest: (_req, lastPath) => (lastPath && isStorageIndex(lastPath) ? lastPath : undefined),
    namingFunction: (_req, metadata) => {
      const si = metadata?.storageIndex;
      if (!si || !isStorageIndex(si)) throw { status_code: 400, body: JSON.stringify({ error: 'INVALID_STORAGE_INDEX', message: 'Upload-Metadata must carry storageIndex' } satisfies ErrorBody) };
      return si;
    },
  });
  const tusHandler: express.RequestHandler = (req, res) => {
    void tus.handle(req, res);
  };
  // Paused intake refuses tus creation here, before tus, so the 503 carries Retry-After.
  const intakeGate: express.RequestHandler = (req, res, next) => {
    if (req.method !== 'POST' || !d.intake.paused) {
      next();
      return;
    }
    res.setHeader('Tus-Resumable', TUS_VERSION);
    sendError(res, new FerryError('INTAKE_PAUSED', 'intake paused; retry later'));
  };
  app.all(HELPER_PATHS.uploads, auth, intakeGate, tusHandler);
  app.all(`${HELPER_PATHS.uploads}/*splat`, auth, patchGate(d.config.limits.maxConcurrentPatches), tusHandler);

  app.use(d.gatewayRoutes);
  app.use(notFoundHandler);
  app.use(errorHandler(d.log));
  return app;
}

