import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { integrationSettingsInputSchema, type Run } from '@pinnacle/domain';
import { createLogger } from '@pinnacle/logging';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { createStores, type Stores } from '@pinnacle/redis-store';
import { requestSync, waitFor } from '@pinnacle/testing';
import type { RedisFixture, SimulatorFixture } from '@pinnacle/testing/fixtures';
import { Queue } from 'bullmq';
import type { z } from 'zod';
import { startWorkerRole, type WorkerEnv, type WorkerRole } from '../../src/index.js';

export type SettingsInput = z.input<typeof integrationSettingsInputSchema>;

export interface Harness {
  sim: SimulatorFixture;
  redis: RedisFixture;
  stores: Stores;
  env: WorkerEnv;
  worker: WorkerRole | null;
  logLines: string[];
  notifications: Queue;
  /** The sync queue, for inspecting its jobs and job schedulers. */
  syncQueue: Queue;
  startWorker(overrides?: Partial<WorkerEnv>): WorkerRole;
  configure(orgId: string, settings: SettingsInput): Promise<void>;
  /** Sync Now (`requestSync`): records a manual run and enqueues it through the sync queue's definition. */
  syncNow(
    orgId: string,
    options?: { allowMassRemoval?: boolean; attempts?: number },
  ): Promise<string>;
  waitForRun(orgId: string, runId: string, timeoutMs?: number): Promise<Run>;
  syncAndWait(
    orgId: string,
    options?: { allowMassRemoval?: boolean; attempts?: number },
  ): Promise<Run>;
  close(): Promise<void>;
}

export const newOrgId = () => `org-${randomUUID().slice(0, 8)}`;

/**
 * A worker role (started with `startWorker`) over the file's Redis and
 * simulator fixtures, which outlive it: `close()` stops what the harness
 * started, the fixtures clean up after the file.
 */
export async function startHarness(
  fixtures: { redis: RedisFixture; simulator: SimulatorFixture },
  overrides: Partial<WorkerEnv> = {},
): Promise<Harness> {
  const { redis, simulator: sim } = fixtures;
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ name: 'worker', level: 'debug', destination });
  const env: WorkerEnv = {
    ...redis.env,
    ENTRA_AUTHORITY_HOST: sim.authorityHost,
    GRAPH_BASE_URL: sim.graphBaseUrl,
    SECRET_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SYNC_CONCURRENCY: 4,
    SYNC_GROUP_CONCURRENCY: 4,
    SYNC_ATTEMPTS: 3,
    SYNC_BACKOFF_MS: 50,
    SYNC_LOCK_DURATION_MS: 30_000,
    SYNC_STALLED_INTERVAL_MS: 5_000,
    GRAPH_TIMEOUT_MS: 15_000,
    ...overrides,
  };
  const connection = redis.connect({ maxRetriesPerRequest: null });
  const stores = createStores(connection, env.QUEUE_PREFIX, env.SECRET_ENCRYPTION_KEY);
  // One producer per retry policy a test asks for (the worker's own env is the default).
  const syncQueues = new Map<number, TypedQueue<'sync'>>();
  const producerFor = (attempts = env.SYNC_ATTEMPTS) => {
    let queue = syncQueues.get(attempts);
    if (!queue) {
      queue = new TypedQueue('sync', {
        connection,
        prefix: env.QUEUE_PREFIX,
        env: { SYNC_ATTEMPTS: attempts, SYNC_BACKOFF_MS: env.SYNC_BACKOFF_MS },
      });
      syncQueues.set(attempts, queue);
    }
    return queue;
  };
  const notifications = new Queue('notifications', { connection, prefix: env.QUEUE_PREFIX });
  const syncQueue = new Queue('sync', { connection, prefix: env.QUEUE_PREFIX });

  const harness: Harness = {
    sim,
    redis,
    stores,
    env,
    worker: null,
    logLines,
    notifications,
    syncQueue,
    startWorker(extra = {}) {
      harness.worker = startWorkerRole({ ...env, ...extra }, logger);
      return harness.worker;
    },
    async configure(orgId, settings) {
      await stores.integrations.put(orgId, integrationSettingsInputSchema.parse(settings));
    },
    async syncNow(orgId, options = {}) {
      const requested = await requestSync(
        { runs: stores.runs, syncQueue: producerFor(options.attempts) },
        orgId,
        options.allowMassRemoval ? { allowMassRemoval: true } : {},
      );
      return requested.runId;
    },
    async waitForRun(orgId, runId, timeoutMs = 30_000) {
      return waitFor(
        async () => {
          const run = await stores.runs.get(orgId, runId);
          return run && (run.status === 'succeeded' || run.status === 'failed') ? run : null;
        },
        { timeoutMs, intervalMs: 50, description: `run ${runId} to finish` },
      );
    },
    async syncAndWait(orgId, options) {
      return harness.waitForRun(orgId, await harness.syncNow(orgId, options));
    },
    async close() {
      await harness.worker?.close();
      for (const queue of syncQueues.values()) await queue.close();
      await notifications.close();
      await syncQueue.close();
    },
  };
  return harness;
}
