import express, { type Express, type RequestHandler } from 'express';
import { bearerAuth } from '../../runtime/http/auth.js';
import { errorHandler, notFoundHandler } from '../../runtime/http/errors.js';
import { requestLog } from '../../runtime/http/request-log.js';
import type { Admin } from './admin.js';
import { pageDir } from './package-root.js';
import { ADMIN_API, ADMIN_REALM, adminApiRouter } from './router.js';

/** The page loads only its own script and style and talks only to its own origin. */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/**
 * The admin listener's app: the page at /admin/ (static files without any
 * data: everything it shows comes from the API with the token the operator
 * types in), the JSON API at /admin/api/v1, and /metrics.
 */
export function createAdminApp(admin: Admin): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLog(admin.helper.log));
  app.use(securityHeaders);

  app.use(ADMIN_API, adminApiRouter(admin));

  const metricsAuth: RequestHandler = admin.helper.config.admin.metricsPublic
    ? (_req, _res, next) => next()
    : bearerAuth({ token: () => admin.adminToken, realm: ADMIN_REALM });
  app.get('/metrics', metricsAuth, async (_req, res) => {
    const body = await admin.metrics.render();
    res.setHeader('Content-Type', admin.metrics.contentType);
    res.send(body);
  });

  app.use((req, res, next) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && (req.path === '/' || req.path === '/admin')) res.redirect(302, '/admin/');
    else next();
  });
  app.use(
    '/admin',
    (_req, res, next) => {
      res.setHeader('Content-Security-Policy', PAGE_CSP);
      next();
    },
    express.static(pageDir(), { index: 'index.html', dotfiles: 'ignore', redirect: false, etag: false, lastModified: false }),
  );

  app.use(notFoundHandler);
  app.use(errorHandler(admin.helper.log));
  return app;
}
