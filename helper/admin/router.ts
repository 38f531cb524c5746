import express, { type Router } from 'express';
import { z } from 'zod';
import { FerryError } from '../../core/errors.js';
import { parseStorageIndex } from '../../core/storage-index.js';
import { bearerAuth } from '../../runtime/http/auth.js';
import { sendError } from '../../runtime/http/errors.js';
import type { Job } from '../jobs/job.js';
import { JOB_STATES } from '../protocol.js';
import type { Admin } from './admin.js';
import { ACTIVE_STATES, jobDetail, jobSummary } from './views.js';

export const ADMIN_API = '/admin/api/v1';
export const ADMIN_REALM = 'ferry-admin';

const STATE_NAMES: readonly string[] = [...JOB_STATES, 'active'];

const ListQuery = z.strictObject({
  /** Comma-separated states; `active` = receiving, queued, encoding, failed. */
  state: z
    .string()
    .max(200)
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      const out = new Set<string>();
      for (const s of v.split(',')) {
        if (!STATE_NAMES.includes(s)) {
          ctx.addIssue({ code: 'custom', message: `unknown state ${JSON.stringify(s.slice(0, 40))}; one of ${STATE_NAMES.join(', ')}` });
          return z.NEVER;
        }
        for (const x of s === 'active' ? ACTIVE_STATES : [s]) out.add(x);
      }
      return out;
    }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

const Cursor = z.tuple([z.number().int(), z.string().regex(/^[a-z2-7]{26}$/)]);

function encodeCursor(job: Job): string {
  return Buffer.from(JSON.stringify([job.createdAt, job.si])).toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  try {
    return Cursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new FerryError('BAD_REQUEST', 'cursor: not a cursor this API handed out');
  }
}

/** Newest first; ties by storage index. */
const order = (a: Job, b: Job) => b.createdAt - a.createdAt || (a.si < b.si ? -1 : a.si > b.si ? 1 : 0);

function siParam(v: unknown): string {
  const si = String(v);
  parseStorageIndex(si);
  return si;
}

/**
 * The admin JSON API under /admin/api/v1 (docs/protocol.md, "Admin API").
 * Every route needs `Authorization: Bearer <admin token>`; the client tokens
 * are not accepted. Only the event stream is opened with a ticket instead,
 * because EventSource cannot send headers.
 */
export function adminApiRouter(admin: Admin): Router {
  const r = express.Router();
  const h = admin.helper;

  r.get('/events', (req, res) => {
    if (admin.feed.full) {
      // Checked before the ticket is redeemed: the client may use it again later.
      res.setHeader('Retry-After', '10');
      sendError(res, new FerryError('UNAVAILABLE', `the live feed already has its limit of ${admin.feed.size} streams (limits.maxLiveFeeds); retry later`));
      return;
    }
    if (!admin.tickets.redeem(req.query.ticket)) {
      sendError(res, new FerryError('UNAUTHORIZED', 'the event stream needs ?ticket= from POST /admin/api/v1/ticket (tickets work once, for 60 s)'));
      return;
    }
    admin.feed.attach(req, res);
  });

  r.use(bearerAuth({ token: () => admin.adminToken, realm: ADMIN_REALM }));

  r.post('/ticket', (_req, res) => {
    res.json(admin.tickets.issue());
  });

  r.get('/overview', async (_req, res) => {
    res.json(await admin.overview());
  });

  r.get('/jobs', (req, res) => {
    const q = ListQuery.parse(req.query);
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const matching = [...admin.index.all()].filter((j) => !q.state || q.state.has(j.state)).sort(order);
    const start = after ? matching.findIndex((j) => j.createdAt < after[0] || (j.createdAt === after[0] && j.si > after[1])) : 0;
    const page = start < 0 ? [] : matching.slice(start, start + q.limit);
    const more = start >= 0 && start + q.limit < matching.length;
    res.json({
      jobs: page.map((j) => jobSummary(j, admin.running(j.si))),
      total: matching.length,
      ...(more ? { nextCursor: encodeCursor(page[page.length - 1]) } : {}),
    });
  });

  const detail = (job: Job) => jobDetail(job, admin.running(job.si), admin.index.errorsOf(job.si), h.grid.health());

  r.get('/jobs/:si', async (req, res) => {
    res.json(detail(await h.jobs.require(siParam(req.params.si))));
  });

  r.post('/jobs/:si/retry', async (req, res) => {
    res.json(detail(await h.actions.retry(siParam(req.params.si))));
  });

  r.post('/jobs/:si/cancel', async (req, res) => {
    res.json(detail(await h.actions.cancel(siParam(req.params.si))));
  });

  /** Queues a repair of a file this helper knows (a finished upload or repair); helper/repair/. */
  r.post('/jobs/:si/repair', async (req, res) => {
    res.json(detail(await h.repairKnown(siParam(req.params.si))));
  });

  r.get('/servers', (_req, res) => {
    res.json({ servers: admin.prober.servers() });
  });

  r.post('/servers/probe', async (_req, res) => {
    await admin.prober.probe();
    admin.feed.changed();
    res.json({ servers: admin.prober.servers() });
  });

  r.get('/spools', async (_req, res) => {
    const usage = await h.files.usage();
    const now = Date.now();
    const spools = await Promise.all(
      usage.files.map(async (f) => {
        const job = admin.index.get(f.si) ?? (await h.jobs.get(f.si));
        const lastActivity = Math.max(job?.updatedAt ?? 0, f.mtimeMs);
        return {
          storageIndex: f.si,
          dir: f.dir,
          bytes: f.bytes,
          state: job?.state ?? null,
          received: job?.received ?? null,
          size: job?.params.size ?? null,
          createdAt: job?.createdAt ?? null,
          modifiedAt: Math.round(f.mtimeMs),
          ageMs: Math.max(0, now - (job?.createdAt ?? f.mtimeMs)),
          idleMs: Math.max(0, Math.round(now - lastActivity)),
          // Only a receiving spool expires; the sweep removes files no live job owns.
          expiresAt: job?.state === 'receiving' ? Math.round(lastActivity + h.config.limits.spoolIdle) : null,
        };
      }),
    );
    spools.sort((a, b) => b.ageMs - a.ageMs);
    res.json({ incoming: usage.incoming, encoding: usage.encoding, spools });
  });

  r.post('/sweep', async (_req, res) => {
    const report = await h.sweeper.sweep();
    h.log.info({ ...report }, 'sweep run by an operator');
    admin.feed.changed();
    res.json(report);
  });

  r.get('/intake', (_req, res) => {
    res.json({ intakePaused: h.actions.intakePaused });
  });

  r.post('/intake/pause', (_req, res) => {
    h.actions.pauseIntake();
    admin.feed.changed();
    res.json({ intakePaused: true });
  });

  r.post('/intake/resume', (_req, res) => {
    h.actions.resumeIntake();
    admin.feed.changed();
    res.json({ intakePaused: false });
  });

  r.use((req, res) => {
    sendError(res, new FerryError('NOT_FOUND', `no admin route for ${req.method} ${ADMIN_API}${req.path}`));
  });
  return r;
}
