import express, { type Express } from 'express';
import {
  createTokenVerifier,
  DEFAULT_TOKEN_POLICY,
  refusalMessage,
  requireAuth,
  type TokenPolicy,
} from './auth.js';
import { DEFAULT_CONSOLE_DIR, mountConsole } from './console.js';
import type { ApiDeps } from './deps.js';
import {
  errorHandler,
  JSON_BODY_LIMIT,
  notFoundHandler,
  requestLogger,
  requireJsonContentType,
} from './http.js';
import { requireRequestAllowance } from './limits.js';
import { API_BASE_PATH, buildOpenApiDocument } from './openapi.js';
import type { Ops } from './ops/index.js';
import { mountRoutes } from './route.js';
import { apiRoutes } from './routes/index.js';

/**
 * The Express 5 app of the api role: `/api/v1` behind bearer auth, the
 * probes and the OpenAPI document outside it. No connections are made
 * here; everything it talks to comes in `deps`.
 */
export function createApiApp(deps: ApiDeps, ops?: Ops): Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETag on JSON answers: the API's are `no-store`, so nothing revalidates
  // them, and hashing every body was 3 % of the api's CPU serving
  // GET /directory/users under load (`pnpm bench`, figure 6).
  app.set('etag', false);
  // Which X-Forwarded-For to believe for req.ip (the ops login throttle keys on it).
  const trustProxy = deps.config.trustProxy ?? false;
  app.set('trust proxy', Array.isArray(trustProxy) ? [...trustProxy] : trustProxy);
  app.use(requestLogger(deps.logger));
  // Request metrics, `/metrics` and Bull Board at `/admin/queues` (HTTP Basic, ops credentials).
  ops?.mount(app);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const status = await deps.readiness().catch(() => 'unavailable' as const);
    res.status(status === 'ready' ? 200 : 503).json({ status });
  });

  const routes = apiRoutes(deps);
  const document = buildOpenApiDocument(routes);
  app.get('/openapi.json', (_req, res) => {
    res.json(document);
  });

  const api = express.Router();
  api.use((_req, res, next) => {
    // Settings and directory data must not sit in shared caches.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  const tokenPolicy: TokenPolicy = {
    issuer: deps.config.authIssuer,
    audience: deps.config.authAudience,
    maxLifetimeSeconds:
      deps.config.maxTokenLifetimeSeconds ?? DEFAULT_TOKEN_POLICY.maxLifetimeSeconds,
  };
  const verifier = createTokenVerifier(deps.config.authSecret, deps.clock, tokenPolicy);
  api.use(
    requireAuth(
      verifier,
      (reason) => deps.logger.info({ reason }, 'bearer token refused'),
      (reason) => refusalMessage(reason, tokenPolicy),
    ),
  );
  // Per token, before any body is read: a flood costs one counter each.
  api.use(requireRequestAllowance(deps.limits, deps.logger));
  api.use(requireJsonContentType);
  api.use(
    express.json({ limit: JSON_BODY_LIMIT, type: ['application/json', 'application/*+json'] }),
  );
  mountRoutes(api, API_BASE_PATH, routes);
  app.use(API_BASE_PATH, api);

  // The admin console's static build at /console/ (503 until it is built).
  mountConsole(app, deps.config.consoleDir ?? DEFAULT_CONSOLE_DIR);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
