import type { Logger } from '@pinnacle/logging';
import type { QueueHandle, TypedQueue } from '@pinnacle/queue-runtime';
import type { NotificationRepository, Stores } from '@pinnacle/redis-store';
import type { EntraEndpoints } from '@pinnacle/sync-preflight';
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
  /** How long DELETE .../integration waits for the org's running jobs to stop. Default 10 s. */
  offboardingSettleMs?: number;
}

/**
 * How the api reaches Entra ID and Graph for the checks an admin asks for
 * (test connection, group search): the same endpoints as the worker, with
 * bounds fit for a person waiting on a click rather than a sync's patience.
 */
export interface EntraAccess {
  endpoints: EntraEndpoints;
  /** Bound of one token or Graph request. */
  timeoutMs: number;
  /** Retries of one Graph request on a transient answer, and the longest wait between them. */
  maxRetries: number;
  maxRetryDelayMs: number;
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
  /** Every queue whose jobs name an org (sync, notifications, email): offboarding removes the org's. */
  orgQueues: readonly QueueHandle[];
  logger: Logger;
  config: ApiConfig;
  clock: () => Date;
  /** Entra ID and Graph, for test connection and the group search. */
  entra: EntraAccess;
  /** Backs `/readyz`: Redis answers and the process is not shutting down. */
  readiness: () => Promise<ReadinessStatus>;
}
