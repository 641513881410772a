import type { Logger } from '@pinnacle/logging';
import { queues } from '@pinnacle/queue-contracts';
import { Queue } from 'bullmq';
import type { Express, RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { withTimeout } from '../errors.js';
import { requestContext } from '../request-context.js';
import { type OpsCredentials, requireBasicAuth } from './basic-auth.js';
import { BULL_BOARD_PATH, createBullBoardRouter } from './bull-board.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';

export { type OpsCredentials, requireBasicAuth } from './basic-auth.js';
export { BULL_BOARD_PATH, redactSecrets } from './bull-board.js';
export { type ApiMetrics, createApiMetrics } from './metrics.js';

export const METRICS_PATH = '/metrics';

export interface OpsOptions {
  /** OPS_USER / OPS_PASSWORD; undefined refuses every ops request. */
  credentials: OpsCredentials | undefined;
  /** The connection the ops views of the queues use (Bull Board, job counts). */
  queueConnection: Redis;
  /** The connection the recorded metrics are read with. */
  metricsConnection: Redis;
  queuePrefix: string;
  logger: Logger;
}

/** What the api role serves for ops: Bull Board and /metrics, behind HTTP Basic auth. */
export interface Ops {
  metrics: ApiMetrics;
  /** Every queue of @pinnacle/queue-contracts, as Bull Board and the job counts see them. */
  queues: readonly Queue[];
  /** Mounts the request metrics, `/metrics` and `/admin/queues` on the app. */
  mount(app: Express): void;
  close(): Promise<void>;
}

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
  });
  if (options.credentials === undefined) {
    log.warn('OPS_USER and OPS_PASSWORD are not set: /metrics and /admin/queues refuse everyone');
  }
  const auth = requireBasicAuth(options.credentials, (reason) => {
    if (reason === 'missing') log.debug({ reason }, 'ops credentials required');
    else log.info({ reason }, 'ops credentials refused');
  });

  return {
    metrics,
    queues: opsQueues,
    mount(app) {
      app.use(metrics.httpMetrics);
      app.get(METRICS_PATH, tagRoute(METRICS_PATH), auth, metrics.handler);
      app.use(
        BULL_BOARD_PATH,
        tagRoute(BULL_BOARD_PATH),
        auth,
        createBullBoardRouter({ queues: opsQueues, basePath: BULL_BOARD_PATH }),
      );
    },
    async close() {
      await Promise.allSettled(
        opsQueues.map((queue) => withTimeout('closing an ops queue view', 2_000, queue.close())),
      );
    },
  };
}
