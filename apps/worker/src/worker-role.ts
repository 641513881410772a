import type { Env } from '@pinnacle/config';
import type { Logger } from '@pinnacle/logging';
import { createMetricsRecorder } from '@pinnacle/metrics';
import { notificationJobOptions, queues } from '@pinnacle/queue-contracts';
import { createRedisConnection, createTypedWorker, TypedQueue } from '@pinnacle/queue-runtime';
import { createStores } from '@pinnacle/redis-store';
import { SyncScheduler } from '@pinnacle/sync-scheduler';
import { Queue, type Worker } from 'bullmq';
import { processSyncJob } from './sync/sync-processor.js';

export interface WorkerRole {
  syncWorker: Worker;
  /** Stops taking jobs, lets the current ones finish (or be released), closes connections. */
  close(): Promise<void>;
}

export type WorkerEnv = Pick<
  Env,
  | 'REDIS_URL'
  | 'QUEUE_PREFIX'
  | 'ENTRA_AUTHORITY_HOST'
  | 'GRAPH_BASE_URL'
  | 'SYNC_CONCURRENCY'
  | 'SYNC_GROUP_CONCURRENCY'
  | 'SYNC_LOCK_DURATION_MS'
  | 'SYNC_STALLED_INTERVAL_MS'
  | 'GRAPH_TIMEOUT_MS'
> & { SECRET_ENCRYPTION_KEY: string };

export function startWorkerRole(env: WorkerEnv, logger: Logger): WorkerRole {
  const log = logger.child({ component: 'worker' });
  // Many small store commands per sync (run saves, health, hand-off): let
  // ioredis batch what is issued in the same tick into one socket write.
  const storeConnection = createRedisConnection(env.REDIS_URL, 'worker', {
    enableAutoPipelining: true,
  });
  const queueConnection = createRedisConnection(env.REDIS_URL, 'worker');
  const workerConnection = createRedisConnection(env.REDIS_URL, 'worker');
  for (const c of [storeConnection, queueConnection, workerConnection]) {
    c.on('error', (error) => log.warn({ err: error }, 'redis connection error'));
  }
  const stores = createStores(storeConnection, env.QUEUE_PREFIX, env.SECRET_ENCRYPTION_KEY);
  // On the store connection: a failed run's hand-off then leaves in the same
  // write as its health record (a socket write costs more than the command).
  const notifications = new TypedQueue('notifications', {
    connection: storeConnection,
    prefix: env.QUEUE_PREFIX,
    defaultJobOptions: notificationJobOptions(),
  });
  // Fleet-wide run metrics, in Redis; the API's /metrics reads them back.
  const metrics = createMetricsRecorder(storeConnection, env.QUEUE_PREFIX, {
    onError: (error) => log.warn({ err: error }, 'could not record run metrics'),
  });

  const syncQueue = new Queue(queues.sync.name, {
    connection: queueConnection,
    prefix: env.QUEUE_PREFIX,
  });
  syncQueue.on('error', (error) => log.warn({ err: error }, 'sync queue error'));
  const scheduler = new SyncScheduler(syncQueue);

  const syncWorker = createTypedWorker(
    'sync',
    (payload, job) =>
      processSyncJob(payload, job, {
        ...stores,
        notificationQueue: notifications,
        scheduler,
        endpoints: { authorityHost: env.ENTRA_AUTHORITY_HOST, graphBaseUrl: env.GRAPH_BASE_URL },
        logger: log,
        groupConcurrency: env.SYNC_GROUP_CONCURRENCY,
        graphTimeoutMs: env.GRAPH_TIMEOUT_MS,
        onRunFinished: (run) => void metrics.runFinished(run),
      }),
    {
      connection: workerConnection,
      prefix: env.QUEUE_PREFIX,
      logger: log,
      concurrency: env.SYNC_CONCURRENCY,
      // The lock must outlive the longest Graph call, retries included;
      // BullMQ renews it every half period while the job runs.
      lockDuration: env.SYNC_LOCK_DURATION_MS,
      stalledInterval: env.SYNC_STALLED_INTERVAL_MS,
      // A job whose worker died is picked up again, twice at most.
      maxStalledCount: 2,
    },
  );

  return {
    syncWorker,
    async close() {
      await syncWorker.close();
      await notifications.close();
      await syncQueue.close();
      await Promise.allSettled([
        storeConnection.quit(),
        queueConnection.quit(),
        workerConnection.quit(),
      ]);
    },
  };
}
