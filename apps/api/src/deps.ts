import type { Logger } from '@pinnacle/logging';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import type { NotificationRepository, Stores } from '@pinnacle/redis-store';
import type { SyncScheduler } from '@pinnacle/sync-scheduler';
import type { ApiLimits } from './limits.js';

export interface ApiStores extends Stores {
  notifications: NotificationRepository;
}

export interface ApiConfig {
  /** HS256 key of the portal's bearer tokens (API_AUTH_SECRET). */
  authSecret: string;
  /**
   * A queued manual run older than this whose job is gone is taken as lost
   * (the API died between recording it and enqueueing it). Default 60 s.
   */
  staleRunAfterMs?: number;
  /** Upper bound of one queue call, so a request never hangs on Redis. Default 5 s. */
  queueTimeoutMs?: number;
  /** API_AUTH_ISSUER / API_AUTH_AUDIENCE: when set, every token must carry them. */
  authIssuer?: string | undefined;
  authAudience?: string | undefined;
  /** API_AUTH_MAX_TOKEN_LIFETIME. Default 24 h. */
  maxTokenLifetimeSeconds?: number;
  /** TRUST_PROXY, as Express's `trust proxy`: whose X-Forwarded-For names the client. Default false. */
  trustProxy?: false | number | readonly string[];
  /** The admin console's build served at /console/. Default: `apps/console/dist`. */
  consoleDir?: string;
}

export type ReadinessStatus = 'ready' | 'unavailable' | 'shutting_down';

export interface ApiDeps {
  stores: ApiStores;
  /** Sync Now's producer; its jobs' options come from SYNC_ATTEMPTS and SYNC_BACKOFF_MS. */
  syncQueue: TypedQueue<'sync'>;
  /** Keeps each org's job scheduler in step with its settings. */
  scheduler: SyncScheduler;
  /** The request rate limit per token and Sync Now's budget per org, shared in Redis. */
  limits: ApiLimits;
  logger: Logger;
  config: ApiConfig;
  clock: () => Date;
  /** Backs `/readyz`: Redis answers and the process is not shutting down. */
  readiness: () => Promise<ReadinessStatus>;
}
