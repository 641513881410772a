import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { integrationSettingsInputSchema, newQueuedRun, type Run } from '@pinnacle/domain';
import { type Simulator, startSimulator, trustSimulatorCa } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { createStores, type Stores } from '@pinnacle/redis-store';
import { type TestRedis, useTestRedis, waitFor } from '@pinnacle/testing';
import { Queue } from 'bullmq';
import type { z } from 'zod';
import { startWorkerRole, type WorkerEnv, type WorkerRole } from '../../src/index.js';

export type SettingsInput = z.input<typeof integrationSettingsInputSchema>;

export interface Harness {
  sim: Simulator;
  redis: TestRedis;
  stores: Stores;
  env: WorkerEnv;
  worker: WorkerRole | null;
  logLines: string[];
  notifications: Queue;
  /** The sync queue, for inspecting its jobs and job schedulers. */
  syncQueue: Queue;
  startWorker(overrides?: Partial<WorkerEnv>): WorkerRole;
  configure(orgId: string, settings: SettingsInput): Promise<void>;
  /** Records a manual run and enqueues it, as the API's Sync Now does. */
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

export async function startHarness(
  name: string,
  overrides: Partial<WorkerEnv> = {},
): Promise<Harness> {
  const redis = await useTestRedis(name);
  const caDir = mkdtempSync(join(tmpdir(), 'pinnacle-sim-ca-'));
  // The CA on disk too, for worker child processes (NODE_EXTRA_CA_CERTS).
  const sim = await startSimulator({ caPath: join(caDir, 'ca.pem') });
  trustSimulatorCa(sim.caCertPem);
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ name: 'worker', level: 'debug', destination });
  const env: WorkerEnv = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
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
      const runId = randomUUID();
      const { created, run } = await stores.runs.createIfIdle(
        newQueuedRun({ id: runId, orgId, trigger: 'manual', createdAt: new Date() }),
      );
      if (!created) return run.id;
      await producerFor(options.attempts).add({
        orgId,
        runId,
        trigger: 'manual',
        ...(options.allowMassRemoval ? { allowMassRemoval: true } : {}),
      });
      return runId;
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
      await sim.close();
      await redis.cleanup();
      rmSync(caDir, { recursive: true, force: true });
    },
  };
  return harness;
}
