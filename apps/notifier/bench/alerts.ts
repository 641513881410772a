/**
 * Alert benchmark (issue: 5,000 orgs failing at once).
 *
 * 5,000 orgs, each with an integration whose recorded client-secret expiry
 * has passed, so the real worker's preflight stops with
 * `client_secret_expired` without any network. 5,000 Sync Now runs are
 * queued at once; the real worker role and the notifier role (in this
 * process) take them from there. Measured: from queuing the runs until every
 * org's in-app alert is stored.
 *
 * Baseline, in the same run on the same Redis: bare BullMQ processing 5,000
 * no-op jobs at the same concurrency, from queuing them until all completed
 * (run before and after the rest; the faster run is the baseline, so the
 * ratio errs high). Goal: within 2x of the baseline.
 *
 * Also reported, to tell the two stages apart: when the worker had finished
 * every sync job during the end-to-end run, and the notifier stage alone
 * (5,000 failure hand-offs queued at once, as the worker queues them, until
 * every in-app alert is stored).
 *
 * BENCH_ORGS and BENCH_CONCURRENCY override the size (5,000) and the
 * concurrency of every worker (16).
 */

import { randomBytes, randomUUID } from 'node:crypto';
import {
  buildFailure,
  integrationSettingsInputSchema,
  newQueuedRun,
  type Run,
} from '@pinnacle/domain';
import { createLogger } from '@pinnacle/logging';
import {
  type NotificationJob,
  notificationJobId,
  notificationJobOptions,
  queues,
  type SyncJob,
  syncJobId,
  syncJobOptions,
} from '@pinnacle/queue-contracts';
import { createStores } from '@pinnacle/redis-store';
import { useTestRedis } from '@pinnacle/testing';
import { startWorkerRole } from '@pinnacle/worker';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { startNotifierRole } from '../src/index.js';

const ORGS = Number(process.env.BENCH_ORGS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TIMEOUT_MS = 10 * 60_000;

function countdown(n: number) {
  let left = n;
  let resolve: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  const timer = setTimeout(() => resolve(), TIMEOUT_MS);
  return {
    done: done.then(() => {
      clearTimeout(timer);
      if (left > 0) throw new Error(`timed out with ${left} of ${n} left`);
    }),
    tick() {
      if (--left === 0) resolve();
    },
  };
}

function queuedRun(orgId: string): Run {
  return newQueuedRun({ id: randomUUID(), orgId, trigger: 'manual', createdAt: new Date() });
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** Bare BullMQ: ORGS no-op jobs at CONCURRENCY, queued at once; ms until all completed. */
async function bareBullmq(prefix: string, connect: () => Redis, round: number): Promise<number> {
  const name = `bench-noop-${round}`;
  const queue = new Queue(name, { connection: connect(), prefix });
  const all = countdown(ORGS);
  const worker = new Worker(name, async () => {}, {
    connection: connect(),
    prefix,
    concurrency: CONCURRENCY,
  });
  worker.on('completed', () => all.tick());
  await worker.waitUntilReady();
  const start = performance.now();
  await queue.addBulk(
    Array.from({ length: ORGS }, (_, i) => ({
      name: 'noop',
      data: { i },
      opts: { jobId: `noop-${i}`, removeOnComplete: { age: 3600 } },
    })),
  );
  await all.done;
  const ms = performance.now() - start;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return ms;
}

async function main() {
  const redis = await useTestRedis('bench-alerts');
  const connect = () => redis.connect({ maxRetriesPerRequest: null });
  const key = randomBytes(32).toString('base64');
  const stores = createStores(connect(), redis.prefix, key);
  const logger = createLogger({ name: 'bench', level: 'error' });
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    // Never called: preflight stops on the recorded expiry first.
    ENTRA_AUTHORITY_HOST: 'https://127.0.0.1:9',
    GRAPH_BASE_URL: 'https://127.0.0.1:9',
    SECRET_ENCRYPTION_KEY: key,
    SYNC_CONCURRENCY: CONCURRENCY,
    SYNC_GROUP_CONCURRENCY: 4,
    SYNC_LOCK_DURATION_MS: 120_000,
    SYNC_STALLED_INTERVAL_MS: 30_000,
    GRAPH_TIMEOUT_MS: 60_000,
    PORTAL_BASE_URL: 'http://localhost:3000',
    NOTIFIER_CONCURRENCY: CONCURRENCY,
    NOTIFIER_EMAIL_CONCURRENCY: 4,
    NOTIFIER_EMAIL_ATTEMPTS: 15,
    NOTIFIER_EMAIL_BACKOFF_MS: 5_000,
    NOTIFIER_LOCK_DURATION_MS: 30_000,
    NOTIFIER_STALLED_INTERVAL_MS: 30_000,
  };

  try {
    // Setup (not timed): orgs whose recorded secret expired yesterday, each with a Sync Now run.
    const orgIds = Array.from({ length: ORGS }, (_, i) => `bench-${i}`);
    const settings = integrationSettingsInputSchema.parse({
      tenantId: 'contoso.onmicrosoft.com',
      clientId: randomUUID(),
      clientSecret: `Bn8~${randomUUID()}`,
      clientSecretExpiresAt: new Date(Date.now() - 86_400_000).toISOString(),
      groupIds: [randomUUID()],
    });
    const runs = new Map<string, Run>();
    await inBatches(orgIds, 200, async (orgId) => {
      await stores.integrations.put(orgId, settings);
      const run = queuedRun(orgId);
      await stores.runs.createIfIdle(run);
      runs.set(orgId, run);
    });

    const baselines = [await bareBullmq(redis.prefix, connect, 1)];

    // End to end: the real worker role and the notifier role, connected before the clock starts.
    let alerts = countdown(ORGS);
    const syncs = countdown(ORGS);
    const worker = startWorkerRole(env, logger);
    const notifier = await startNotifierRole(env, logger, { onInAppStored: () => alerts.tick() });
    await worker.syncWorker.waitUntilReady();
    worker.syncWorker.on('failed', () => syncs.tick());
    const syncQueue = new Queue(queues.sync.name, { connection: connect(), prefix: redis.prefix });

    const start = performance.now();
    let syncsDoneMs = 0;
    void syncs.done.then(() => {
      syncsDoneMs = performance.now() - start;
    });
    await syncQueue.addBulk(
      orgIds.map((orgId) => {
        const run = runs.get(orgId) as Run;
        const data: SyncJob = { orgId, runId: run.id, trigger: 'manual' };
        return {
          name: queues.sync.jobName,
          data,
          opts: { ...syncJobOptions(), jobId: syncJobId(run.id) },
        };
      }),
    );
    await alerts.done;
    await syncs.done;
    const endToEndMs = performance.now() - start;
    await worker.close();
    await syncQueue.close();

    // What the end-to-end run stored: one failure alert per org, email off.
    let wrong = 0;
    await inBatches(orgIds, 500, async (orgId) => {
      const items = (await stores.notifications.list(orgId, { limit: 5 })).items;
      const ok =
        items.length === 1 &&
        items[0]?.type === 'sync_failed' &&
        items[0].failureCode === 'client_secret_expired' &&
        items[0].count === 1 &&
        items[0].delivery.inApp === 'delivered' &&
        items[0].delivery.email === 'disabled';
      if (!ok) wrong++;
    });

    // The notifier stage alone: the same orgs failing again, hand-offs queued at once.
    const failure = buildFailure('client_secret_expired', {
      expiresAt: settings.clientSecretExpiresAt ?? null,
      source: 'recorded_expiry',
    });
    const handOffs = orgIds.map((orgId) => {
      const data: NotificationJob = {
        type: 'sync_failed',
        orgId,
        runId: randomUUID(),
        occurredAt: new Date().toISOString(),
        failure,
      };
      return {
        name: queues.notifications.jobName,
        data,
        opts: { ...notificationJobOptions(), jobId: notificationJobId(data) },
      };
    });
    alerts = countdown(ORGS);
    const notifyQueue = new Queue(queues.notifications.name, {
      connection: connect(),
      prefix: redis.prefix,
    });
    const notifierStart = performance.now();
    await notifyQueue.addBulk(handOffs);
    await alerts.done;
    const notifierOnlyMs = performance.now() - notifierStart;
    await notifier.close();
    await notifyQueue.close();

    baselines.push(await bareBullmq(redis.prefix, connect, 2));
    const baselineMs = Math.min(...baselines);
    const ratio = (ms: number) => Math.round((ms / baselineMs) * 100) / 100;

    const summary = {
      benchmark:
        'notifier: orgs failing at once (expired secrets), until every in-app alert is stored',
      orgs: ORGS,
      concurrency: CONCURRENCY,
      bareBullmqNoopMs: baselines.map(Math.round),
      endToEndMs: Math.round(endToEndMs),
      ratio: ratio(endToEndMs),
      syncJobsFinishedMs: Math.round(syncsDoneMs),
      notifierStageAloneMs: Math.round(notifierOnlyMs),
      notifierStageAloneRatio: ratio(notifierOnlyMs),
      orgsWithoutExactlyOneAlert: wrong,
      goal: { ratio: '<= 2' },
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (wrong > 0) process.exitCode = 1;
  } finally {
    await redis.cleanup();
  }
}

await main();
