import type { Logger } from '@pinnacle/logging';
import { queues } from '@pinnacle/queue-contracts';
import type { RedisClient } from '@pinnacle/queue-runtime';
import type { FleetIndex } from '@pinnacle/redis-store';
import { Queue } from 'bullmq';
import type { Express, RequestHandler } from 'express';
import { withTimeout } from '../errors.js';
import { denyFraming } from '../http.js';
import { requestContext } from '../request-context.js';
import { type OpsCredentials, requireBasicAuth } from './basic-auth.js';
import { BULL_BOARD_PATH, createBullBoardRouter } from './bull-board.js';
import { FLEET_PATH, fleetHandler } from './fleet.js';
import { createLoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';

export { type OpsCredentials, requireBasicAuth } from './basic-auth.js';
export { BULL_BOARD_PATH, redactSecrets } from './bull-board.js';
export { FLEET_PATH } from './fleet.js';
export { createLoginThrottle, type LoginThrottle } from './login-throttle.js';
export { type ApiMetrics, createApiMetrics } from './metrics.js';

export const METRICS_PATH = '/metrics';

export interface OpsOptions {
  /** OPS_USER / OPS_PASSWORD; undefined refuses every ops request. */
  credentials: OpsCredentials | undefined;
  /** The connection the ops views of the queues use (Bull Board, job counts). */
  queueConnection: RedisClient;
  /** The connection the recorded metrics are read with. */
  metricsConnection: RedisClient;
  queuePrefix: string;
  logger: Logger;
  /** OPS_READ_ONLY: Bull Board shows everything and changes nothing. */
  readOnly?: boolean;
  /** Throttles failed logins per source address (OPS_LOGIN_MAX_FAILURES, OPS_LOGIN_WINDOW_SECONDS). */
  loginThrottle?: LoginThrottleOptions;
  /** Every org's status, for `GET /ops/orgs` and the stale-orgs gauge. */
  fleet?: FleetIndex;
  clock?: () => Date;
}

/** What the api role serves for ops: Bull Board, /metrics and the fleet, behind HTTP Basic auth. */
export interface Ops {
  metrics: ApiMetrics;
  /** Every queue of @pinnacle/queue-contracts, as Bull Board and the job counts see them. */
  queues: readonly Queue[];
  /** Mounts the request metrics, `/metrics` and `/admin/queues` on the app. */
  mount(app: Express): void;
  close(): Promise<void>;
}

/** OPS_READ_ONLY: only reads reach Bull Board. */
const refuseWrites: RequestHandler = (req, res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') {
    next();
    return;
  }
  res.setHeader('Allow', 'GET, HEAD');
  res
    .status(405)
    .json({ error: 'read_only', message: 'Bull Board runs read-only (OPS_READ_ONLY)' });
};

/** Names the route in the request log and the HTTP metrics. */
const tagRoute =
  (route: string): RequestHandler =>
  (req, _res, next) => {
    requestContext(req).route = route;
    next();
  };

export function createOps(options: OpsOptions): Ops {
  const log = options.logger;
  const opsQueues = Object.values(queues).map((definition) => {
    const queue = new Queue(definition.name, {
      connection: options.queueConnection,
      prefix: options.queuePrefix,
      // BullMQ checks the version with an INFO once, at construction; if Redis
      // drops during that INFO the queue object fails every call for good. These
      // views only read, and the sync queue's own check covers the version.
      skipVersionCheck: true,
    });
    // Without a listener an 'error' event would crash the process; the api logs outages.
    queue.on('error', () => {});
    return queue;
  });
  const metrics = createApiMetrics({
    queues: opsQueues,
    redis: options.metricsConnection,
    queuePrefix: options.queuePrefix,
    logger: log,
    ...(options.fleet ? { fleet: options.fleet } : {}),
  });
  if (options.credentials === undefined) {
    log.warn('OPS_USER and OPS_PASSWORD are not set: /metrics and /admin/queues refuse everyone');
  }
  const throttle = options.loginThrottle && createLoginThrottle(options.loginThrottle);
  const auth = requireBasicAuth(
    options.credentials,
    (reason, address) => {
      if (reason === 'missing') log.debug({ reason }, 'ops credentials required');
      else if (reason === 'throttled') log.warn({ reason, address }, 'ops login throttled');
      else log.info({ reason, address }, 'ops credentials refused');
    },
    throttle,
  );
  const readOnly = options.readOnly ?? false;

  return {
    metrics,
    queues: opsQueues,
    mount(app) {
      app.use(metrics.httpMetrics);
      // Never inside a frame (clickjacking), refusals included.
      app.use([METRICS_PATH, BULL_BOARD_PATH, FLEET_PATH], denyFraming);
      app.get(METRICS_PATH, tagRoute(METRICS_PATH), auth, metrics.handler);
      if (options.fleet) {
        app.get(FLEET_PATH, tagRoute(FLEET_PATH), auth, fleetHandler(options.fleet, options.clock));
      }
      app.use(
        BULL_BOARD_PATH,
        tagRoute(BULL_BOARD_PATH),
        auth,
        // Bull Board's read-only mode, and on top of it no write method at all,
        // whatever routes a later Bull Board adds.
        ...(readOnly ? [refuseWrites] : []),
        createBullBoardRouter({ queues: opsQueues, basePath: BULL_BOARD_PATH, readOnly }),
      );
    },
    async close() {
      await Promise.allSettled(
        opsQueues.map((queue) => withTimeout('closing an ops queue view', 2_000, queue.close())),
      );
    },
  };
}
