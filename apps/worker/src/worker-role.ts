import { capacityDefaults, type Env } from '@pinnacle/config';
import type { Logger } from '@pinnacle/logging';
import { queues } from '@pinnacle/queue-contracts';
import { redisTarget, WorkerRegistry } from '@pinnacle/queue-runtime';
import { createStores } from '@pinnacle/redis-store';
import { SyncScheduler } from '@pinnacle/sync-scheduler';
import { QueueEvents, type Worker } from 'bullmq';
import { ABANDONED_RUNS_LOOKBACK_MS, finishAbandonedRuns } from './sync/abandoned-runs.js';
import { OFFBOARDED_SKIPS } from './sync/run-lifecycle.js';
import { processSyncJob } from './sync/sync-processor.js';

export interface WorkerRole {
  syncWorker: Worker;
  /** Resolves once the worker and its reader of the sync queue's events are connected. */
  ready(): Promise<void>;
  /** Stops taking jobs, lets the current ones finish (or be released), closes connections. */
  close(): Promise<void>;
}

export type WorkerEnv = Pick<
  Env,
  | 'REDIS_URL'
  | 'REDIS_CLUSTER_NODES'
  | 'QUEUE_PREFIX'
  | 'ENTRA_AUTHORITY_HOST'
  | 'GRAPH_BASE_URL'
  | 'SYNC_CONCURRENCY'
  | 'SYNC_GROUP_CONCURRENCY'
  | 'SYNC_ATTEMPTS'
  | 'SYNC_BACKOFF_MS'
  | 'SYNC_LOCK_DURATION_MS'
  | 'SYNC_STALLED_INTERVAL_MS'
  | 'GRAPH_TIMEOUT_MS'
  | 'SECRET_DECRYPTION_KEYS'
> & { SECRET_ENCRYPTION_KEY: string } & Partial<Pick<Env, 'SYNC_MAX_USERS'>>;

/** The worker role: the `sync` queue's worker, started by the role's worker registry. */
export function startWorkerRole(env: WorkerEnv, logger: Logger): WorkerRole {
  const registry = new WorkerRegistry({
    role: 'worker',
    redis: redisTarget(env),
    prefix: env.QUEUE_PREFIX,
    logger,
    lock: {
      // The lock must outlive the longest Graph call, retries included;
      // BullMQ renews it every half period while the job runs.
      lockDuration: env.SYNC_LOCK_DURATION_MS,
      stalledInterval: env.SYNC_STALLED_INTERVAL_MS,
      // A job whose worker died is picked up again, twice at most.
      maxStalledCount: 2,
    },
  });
  // Many small store commands per sync (run saves, health, hand-off) share
  // the registry's auto-pipelined store connection.
  const stores = createStores(
    registry.storeConnection,
    env.QUEUE_PREFIX,
    env.SECRET_ENCRYPTION_KEY,
    { previousSecretKeys: env.SECRET_DECRYPTION_KEYS },
  );
  // On the store connection too: a failed run's hand-off then leaves in the
  // same write as its health record (a socket write costs more than the command).
  const notifications = registry.queue('notifications', env, {
    connection: registry.storeConnection,
  });
  // Backing a failing org's schedule off re-upserts its job scheduler through
  // the sync queue's definition: its jobs keep SYNC_ATTEMPTS and SYNC_BACKOFF_MS.
  const syncQueue = registry.queue('sync', env);
  const scheduler = new SyncScheduler(syncQueue);

  const syncWorker = registry.worker(
    'sync',
    async (payload, { job, metrics, discard }) => {
      const result = await processSyncJob(payload, job, {
        ...stores,
        notificationQueue: notifications,
        scheduler,
        endpoints: { authorityHost: env.ENTRA_AUTHORITY_HOST, graphBaseUrl: env.GRAPH_BASE_URL },
        logger: registry.log,
        groupConcurrency: env.SYNC_GROUP_CONCURRENCY,
        graphTimeoutMs: env.GRAPH_TIMEOUT_MS,
        maxUsers: env.SYNC_MAX_USERS ?? capacityDefaults.SYNC_MAX_USERS,
        metrics,
      });
      // The org was offboarded: not even the finished job may stay.
      if (result.outcome === 'skipped' && OFFBOARDED_SKIPS.includes(result.reason)) discard();
      return result;
    },
    { concurrency: env.SYNC_CONCURRENCY },
  );

  // Jobs that fail for good without their handler closing the run (a job
  // that stalled out never reaches it): their runs are failed here. On a
  // connection of its own: it blocks reading the queue's events stream.
  const syncEvents = new QueueEvents(queues.sync.name, {
    connection: registry.connection(),
    prefix: env.QUEUE_PREFIX,
    // From a minute back: a job failed as this process started (its worker
    // may take a stalled-out job before the events are read) is seen too.
    // Runs already finished are skipped.
    lastEventId: `${Date.now() - ABANDONED_RUNS_LOOKBACK_MS}-0`,
  });
  syncEvents.on('error', (error) => registry.log.warn({ err: error }, 'sync queue events error'));
  finishAbandonedRuns(syncEvents, syncQueue.queue, {
    ...stores,
    notificationQueue: notifications,
    scheduler,
    logger: registry.log,
    now: () => new Date(),
    metrics: registry.metrics,
  });
  registry.onClose(() => syncEvents.close());

  return {
    syncWorker,
    // Once the events are read too: a job failing before that would go unseen.
    ready: async () => {
      await Promise.all([registry.ready(), syncEvents.waitUntilReady()]);
    },
    close: () => registry.close(),
  };
}
