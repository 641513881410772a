import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RoleEnv, securityDefaults } from '@pinnacle/config';
import { DEFAULT_AUTHORITY_HOST } from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import { queues } from '@pinnacle/queue-contracts';
import type { RedisClient } from '@pinnacle/queue-runtime';
import {
  createRedisConnection,
  type QueueHandle,
  redisTarget,
  TypedQueue,
  waitForReady,
} from '@pinnacle/queue-runtime';
import { createStores, dataPrefix, NotificationRepository } from '@pinnacle/redis-store';
import { SyncScheduler } from '@pinnacle/sync-scheduler';
import { Queue } from 'bullmq';
import { createApiApp } from './app.js';
import type { ApiConfig, ApiDeps, ApiStores, EntraAccess, ReadinessStatus } from './deps.js';
import { withTimeout } from './errors.js';
import { createApiLimits, DEFAULT_LIMIT_SETTINGS, type LimitSettings } from './limits.js';
import { createOps } from './ops/index.js';
import { DEFAULT_QUEUE_TIMEOUT_MS } from './sync-now.js';

/** What the api role reads; loadEnv(source, 'api') makes the two keys required. */
export type ApiEnv = Pick<
  RoleEnv<'api'>,
  | 'REDIS_URL'
  | 'REDIS_CLUSTER_NODES'
  | 'QUEUE_PREFIX'
  | 'PORT'
  | 'SYNC_ATTEMPTS'
  | 'SYNC_BACKOFF_MS'
  | 'API_AUTH_SECRET'
  | 'SECRET_ENCRYPTION_KEY'
> &
  // Required by loadEnv for the api role; without them the ops endpoints refuse everyone.
  Partial<Pick<RoleEnv<'api'>, 'OPS_USER' | 'OPS_PASSWORD'>> &
  // Hardening knobs: loadEnv fills their defaults; a hand-built env may leave them out.
  Partial<
    Pick<
      RoleEnv<'api'>,
      | 'SECRET_DECRYPTION_KEYS'
      | 'API_AUTH_ISSUER'
      | 'API_AUTH_AUDIENCE'
      | 'API_AUTH_MAX_TOKEN_LIFETIME'
      | 'OPS_READ_ONLY'
      | 'OPS_LOGIN_MAX_FAILURES'
      | 'OPS_LOGIN_WINDOW_SECONDS'
      | 'TRUST_PROXY'
      | 'SYNC_NOW_BUDGET'
      | 'SYNC_NOW_BUDGET_WINDOW_SECONDS'
      | 'API_RATE_LIMIT_PER_MINUTE'
      | 'API_RATE_LIMIT_ANY_ORG_PER_MINUTE'
      // Test connection and the group search ask Entra ID (the worker's endpoints).
      | 'ENTRA_AUTHORITY_HOST'
      | 'GRAPH_BASE_URL'
      | 'GRAPH_TIMEOUT_MS'
    >
  >;

export interface StartApiOptions {
  clock?: () => Date;
  /** Interface to listen on. Default: all. */
  host?: string;
  /** How long in-flight requests may take to finish on close() before their sockets are cut. */
  shutdownGraceMs?: number;
  /** The admin console's build to serve at /console/ (default `apps/console/dist`). */
  consoleDir?: string;
}

export interface ApiRole {
  server: Server;
  /** The port listened on (PORT, or the one picked for PORT=0). */
  port: number;
  deps: ApiDeps;
  /** Stops accepting, lets in-flight requests finish (bounded), closes the queue and Redis. */
  close(): Promise<void>;
}

const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com';
const READINESS_TIMEOUT_MS = 2_000;
const BOOT_READY_TIMEOUT_MS = 5_000;
const CLOSE_STEP_TIMEOUT_MS = 2_000;

export function apiConfigFromEnv(env: ApiEnv): ApiConfig {
  return {
    authSecret: env.API_AUTH_SECRET,
    authIssuer: env.API_AUTH_ISSUER,
    authAudience: env.API_AUTH_AUDIENCE,
    maxTokenLifetimeSeconds:
      env.API_AUTH_MAX_TOKEN_LIFETIME ?? securityDefaults.API_AUTH_MAX_TOKEN_LIFETIME,
    trustProxy: env.TRUST_PROXY ?? false,
  };
}

/** The limits' knobs, their defaults where a hand-built env leaves them out. */
export function limitSettingsFromEnv(env: ApiEnv): LimitSettings {
  const d = DEFAULT_LIMIT_SETTINGS;
  return {
    syncNowBudget: env.SYNC_NOW_BUDGET ?? d.syncNowBudget,
    syncNowWindowSeconds: env.SYNC_NOW_BUDGET_WINDOW_SECONDS ?? d.syncNowWindowSeconds,
    requestsPerMinute: env.API_RATE_LIMIT_PER_MINUTE ?? d.requestsPerMinute,
    anyOrgRequestsPerMinute: env.API_RATE_LIMIT_ANY_ORG_PER_MINUTE ?? d.anyOrgRequestsPerMinute,
  };
}

/** A person waits on these checks: bounded well below a sync's GRAPH_TIMEOUT_MS. */
const ENTRA_CHECK_TIMEOUT_MS = 15_000;

/** Entra ID and Graph as the api's checks reach them (test connection, group search). */
export function entraAccessFromEnv(
  env: Partial<Pick<ApiEnv, 'ENTRA_AUTHORITY_HOST' | 'GRAPH_BASE_URL' | 'GRAPH_TIMEOUT_MS'>>,
): EntraAccess {
  return {
    endpoints: {
      authorityHost: env.ENTRA_AUTHORITY_HOST ?? DEFAULT_AUTHORITY_HOST,
      graphBaseUrl: env.GRAPH_BASE_URL ?? DEFAULT_GRAPH_BASE_URL,
    },
    timeoutMs: Math.min(env.GRAPH_TIMEOUT_MS ?? ENTRA_CHECK_TIMEOUT_MS, ENTRA_CHECK_TIMEOUT_MS),
    maxRetries: 2,
    maxRetryDelayMs: 2_000,
  };
}

/**
 * Logs a connection's outage once and its recovery: ioredis reports every
 * failed retry, and a log line per retry would bury everything else.
 */
function watchConnection(redis: RedisClient, name: string, log: Logger): void {
  let down = false;
  const lost = (error?: Error) => {
    if (down) return;
    down = true;
    log.warn(
      { connection: name, reason: error?.message ?? 'connection closed' },
      'redis connection lost; answering 503 until it is back',
    );
  };
  redis.on('error', (error: Error) => lost(error));
  redis.on('reconnecting', () => lost());
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ connection: name }, 'redis connection restored');
  });
}

/** `/readyz`: every connection answers PING, and shutdown has not begun. */
export function redisReadiness(
  connections: readonly RedisClient[],
  isShuttingDown: () => boolean = () => false,
): () => Promise<ReadinessStatus> {
  return async () => {
    if (isShuttingDown()) return 'shutting_down';
    try {
      await withTimeout(
        'readiness ping',
        READINESS_TIMEOUT_MS,
        Promise.all(connections.map((c) => c.ping())),
      );
      return 'ready';
    } catch {
      return 'unavailable';
    }
  };
}

async function quit(redis: RedisClient): Promise<void> {
  try {
    await withTimeout('closing a redis connection', CLOSE_STEP_TIMEOUT_MS, redis.quit());
  } catch {
    redis.disconnect();
  }
}

/**
 * Starts the api role: its Redis connections (fail-fast, so a request
 * during an outage gets 503 at once), the sync queue, and the HTTP server
 * on PORT. Boot does not wait for Redis beyond a short grace: `/readyz`
 * reports the outage and the connections keep reconnecting.
 */
export async function startApiRole(
  env: ApiEnv,
  logger: Logger,
  options: StartApiOptions = {},
): Promise<ApiRole> {
  const log = logger.child({ component: 'api' });
  const storeConnection = createRedisConnection(redisTarget(env), 'producer', {
    connectionName: 'entra-sync-api',
    // The commands requests issue in the same tick leave in one write: under
    // load, a write per command was the largest cost of GET /sync-overview
    // in a CPU profile (`pnpm bench`, figure 6). The worker's store does the same.
    enableAutoPipelining: true,
  });
  const queueConnection = createRedisConnection(redisTarget(env), 'producer', {
    connectionName: 'entra-sync-api-queue',
  });
  watchConnection(storeConnection, 'store', log);
  watchConnection(queueConnection, 'queue', log);
  await Promise.all(
    [storeConnection, queueConnection].map((c) => waitForReady(c, BOOT_READY_TIMEOUT_MS)),
  ).catch(() => log.warn('redis is not answering at boot; starting anyway, /readyz says 503'));

  const stores: ApiStores = {
    ...createStores(storeConnection, env.QUEUE_PREFIX, env.SECRET_ENCRYPTION_KEY, {
      previousSecretKeys: env.SECRET_DECRYPTION_KEYS,
    }),
    notifications: new NotificationRepository(storeConnection, dataPrefix(env.QUEUE_PREFIX)),
  };
  // Sync Now and every org's job scheduler: one producer, its job options from the environment.
  const syncQueue = new TypedQueue('sync', {
    connection: queueConnection,
    prefix: env.QUEUE_PREFIX,
    env,
    skipVersionCheck: true,
  });
  // Without a listener an 'error' event would crash the process; the connection watch logs it.
  syncQueue.queue.on('error', () => {});

  const scheduler = new SyncScheduler(syncQueue);
  // The notifier's queues, only to find and remove an offboarded org's jobs (never to add).
  const readQueues = (['notifications', 'email'] as const).map((key) => {
    const queue = new Queue(queues[key].name, {
      connection: queueConnection,
      prefix: env.QUEUE_PREFIX,
      skipVersionCheck: true,
    });
    queue.on('error', () => {});
    return { key, queue, connection: queueConnection } satisfies QueueHandle;
  });
  const orgQueues: QueueHandle[] = [
    { key: 'sync', queue: syncQueue.queue, connection: queueConnection },
    ...readQueues,
  ];
  const closeQueues = async () => {
    await Promise.all([syncQueue.close(), ...readQueues.map(({ queue }) => queue.close())]);
  };

  // Bull Board at /admin/queues and /metrics, behind OPS_USER / OPS_PASSWORD.
  const ops = createOps({
    credentials:
      env.OPS_USER !== undefined && env.OPS_PASSWORD !== undefined
        ? { user: env.OPS_USER, password: env.OPS_PASSWORD }
        : undefined,
    queueConnection,
    metricsConnection: storeConnection,
    queuePrefix: env.QUEUE_PREFIX,
    logger: log,
    fleet: stores.fleet,
    ...(options.clock ? { clock: options.clock } : {}),
    readOnly: env.OPS_READ_ONLY ?? false,
    loginThrottle: {
      redis: storeConnection,
      keyPrefix: `${dataPrefix(env.QUEUE_PREFIX)}:ops-login-failures`,
      maxFailures: env.OPS_LOGIN_MAX_FAILURES ?? securityDefaults.OPS_LOGIN_MAX_FAILURES,
      windowSeconds: env.OPS_LOGIN_WINDOW_SECONDS ?? securityDefaults.OPS_LOGIN_WINDOW_SECONDS,
    },
  });

  const limitSettings = limitSettingsFromEnv(env);
  log.info({ limits: limitSettings }, 'api limits');
  let shuttingDown = false;
  const deps: ApiDeps = {
    stores,
    syncQueue,
    scheduler,
    limits: createApiLimits({
      redis: storeConnection,
      prefix: dataPrefix(env.QUEUE_PREFIX),
      settings: limitSettings,
      timeoutMs: DEFAULT_QUEUE_TIMEOUT_MS,
    }),
    orgQueues,
    logger: log,
    config: {
      ...apiConfigFromEnv(env),
      ...(options.consoleDir !== undefined ? { consoleDir: options.consoleDir } : {}),
    },
    clock: options.clock ?? (() => new Date()),
    entra: entraAccessFromEnv(env),
    readiness: redisReadiness([storeConnection, queueConnection], () => shuttingDown),
  };
  const server = createServer(createApiApp(deps, ops));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(env.PORT, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await withTimeout('closing the queues', CLOSE_STEP_TIMEOUT_MS, closeQueues()).catch(() => {});
    await ops.close();
    await Promise.all([quit(storeConnection), quit(queueConnection)]);
    throw error;
  }
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      log.info('api shutting down');
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection turns idle when its last response is sent;
      // close those as they appear rather than waiting out keepAliveTimeout.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const cut = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      await stopped;
      clearInterval(sweep);
      clearTimeout(cut);
      await withTimeout('closing the queues', CLOSE_STEP_TIMEOUT_MS, closeQueues()).catch(
        (error: unknown) => log.warn({ err: error }, 'queues did not close cleanly'),
      );
      await ops.close();
      await Promise.all([quit(storeConnection), quit(queueConnection)]);
      log.info('api stopped');
    })();
    return closing;
  };

  return { server, port, deps, close };
}
