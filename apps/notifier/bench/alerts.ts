/**
 * Alert benchmark (issue: 5,000 orgs failing at once).
 *
 * 5,000 orgs, each with an integration whose recorded client-secret expiry
 * has passed, so the worker's preflight stops with `client_secret_expired`
 * without any network. 5,000 Sync Now runs are queued at once; the worker
 * and the notifier, each its own process started from its production build
 * (`node apps/<role>/dist/main.js`, as deployed), take them from there.
 * Measured: from queuing the runs until every org's in-app alert is stored
 * (the notifier's in-app delivery counter, polled every 2 ms).
 *
 * Baseline, in the same run on the same Redis: bare BullMQ processing 5,000
 * no-op jobs at the same concurrency, from queuing them until all completed
 * (run before and after the rest; the faster run is the baseline, so the
 * ratio errs high). Goal: within 2x of the baseline.
 *
 * Also reported, to tell the stages apart: when the worker had finished
 * every sync job during the end-to-end run; each stage alone, the same orgs
 * failing again: the worker with no notifier running (until every run has
 * failed), then the notifier draining the hand-offs it left (until every
 * in-app alert is stored).
 *
 * BENCH_ORGS and BENCH_CONCURRENCY override the size (5,000) and the
 * concurrency of every worker (16); BENCH_LOG_LEVEL the roles' log level
 * (error); BENCH_CPU_PROFILE=<dir> writes each role's CPU profile there.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { envSchema } from '@pinnacle/config';
import { integrationSettingsInputSchema, newQueuedRun } from '@pinnacle/domain';
import { counterField, metricDefinitions, metricKey } from '@pinnacle/metrics';
import { queues, type SyncJob } from '@pinnacle/queue-contracts';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { createStores } from '@pinnacle/redis-store';
import {
  exitOf,
  processCpuMs,
  redisCpuMs,
  spawnTied,
  startCpuMeter,
  useTestRedis,
  waitFor,
} from '@pinnacle/testing';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';

const ORGS = Number(process.env.BENCH_ORGS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'error';
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
const TIMEOUT_MS = 10 * 60_000;

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** A role started from its production build, as `pnpm start:<role>` does. */
function startBuiltRole(role: 'worker' | 'notifier', env: Record<string, string>) {
  const entry = here(`../../${role}/dist/main.js`);
  if (!existsSync(entry)) throw new Error(`Build the ${role} first: pnpm build`);
  const profile = PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${role}.cpuprofile`]
    : [];
  const child = spawnTied(process.execPath, [...profile, entry], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    cpuMs: () => processCpuMs(child.pid ?? -1),
    async stop() {
      child.kill('SIGTERM');
      const exit = await exitOf(child);
      if (exit.code !== 0) throw new Error(`${role} exited with ${exit.code ?? exit.signal}`);
    },
  };
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** Polls a counter until it reaches `target`; ms from `start` until it did. */
async function whenCounterReaches(
  read: () => Promise<number>,
  target: number,
  start: number,
): Promise<number> {
  const deadline = start + TIMEOUT_MS;
  for (;;) {
    const value = await read();
    if (value >= target) return performance.now() - start;
    if (performance.now() > deadline) throw new Error(`timed out at ${value} of ${target}`);
    await sleep(2);
  }
}

/**
 * Bare BullMQ: ORGS no-op jobs at CONCURRENCY, queued at once; ms until all
 * completed. With `twoHops`, each job's processor adds a no-op job to a
 * second queue (its own worker, same concurrency, this process), and the
 * clock stops when those are done: the floor of any design that, like this
 * one, hands each failure from one queue to another.
 */
async function bareBullmq(
  prefix: string,
  connect: () => Redis,
  round: string,
  twoHops = false,
): Promise<number> {
  const first = new Queue(`bench-noop-${round}-a`, { connection: connect(), prefix });
  const second = new Queue(`bench-noop-${round}-b`, { connection: connect(), prefix });
  const jobOptions = (i: number) => ({ jobId: `noop-${i}`, removeOnComplete: { age: 3600 } });
  let left = ORGS;
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const options = { connection: connect(), prefix, concurrency: CONCURRENCY };
  const workers = [
    new Worker(
      first.name,
      async (job) => {
        if (twoHops) await second.add('noop', job.data, jobOptions(job.data.i));
      },
      options,
    ),
  ];
  if (twoHops)
    workers.push(new Worker(second.name, async () => {}, { ...options, connection: connect() }));
  const last = workers[workers.length - 1] as Worker;
  last.on('completed', () => {
    if (--left === 0) allDone();
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const start = performance.now();
  await first.addBulk(
    Array.from({ length: ORGS }, (_, i) => ({ name: 'noop', data: { i }, opts: jobOptions(i) })),
  );
  await done;
  const ms = performance.now() - start;
  await Promise.all(workers.map((w) => w.close()));
  for (const queue of [first, second]) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
  return ms;
}

async function main() {
  const redis = await useTestRedis('bench-alerts');
  const connect = () => redis.connect({ maxRetriesPerRequest: null });
  const key = randomBytes(32).toString('base64');
  const store = connect();
  const stores = createStores(store, redis.prefix, key);
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    LOG_LEVEL,
    // Never called: preflight stops on the recorded expiry first.
    ENTRA_AUTHORITY_HOST: 'https://127.0.0.1:9',
    GRAPH_BASE_URL: 'https://127.0.0.1:9',
    SECRET_ENCRYPTION_KEY: key,
    SYNC_CONCURRENCY: String(CONCURRENCY),
    NOTIFIER_CONCURRENCY: String(CONCURRENCY),
    PORTAL_BASE_URL: 'http://localhost:3000',
    // Email off: what is measured is the in-app alert.
    SMTP_URL: '',
  };
  const redisCpu = () => redisCpuMs(store);
  const inAppAlerts = async () =>
    Number(
      (await store.hget(
        metricKey(redis.prefix, metricDefinitions.notifications),
        counterField(['inApp', 'delivered']),
      )) ?? 0,
    );
  const failedRuns = async () =>
    Number(
      (await store.hget(
        metricKey(redis.prefix, metricDefinitions.runs),
        counterField(['failed']),
      )) ?? 0,
    );
  const workersOn = async (queueName: string) => {
    const queue = new Queue(queueName, { connection: connect(), prefix: redis.prefix });
    await waitFor(async () => (await queue.getWorkersCount()) > 0, {
      timeoutMs: 30_000,
      description: `a worker on ${queueName}`,
    });
    await queue.close();
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
    await inBatches(orgIds, 200, (orgId) => stores.integrations.put(orgId, settings));
    /** A Sync Now run per org (not timed); returns the sync jobs that execute them. */
    const newRuns = async () => {
      const jobs: SyncJob[] = [];
      await inBatches(orgIds, 200, async (orgId) => {
        const run = newQueuedRun({
          id: randomUUID(),
          orgId,
          trigger: 'manual',
          createdAt: new Date(),
        });
        await stores.runs.createIfIdle(run);
        jobs.push({ orgId, runId: run.id, trigger: 'manual' });
      });
      return jobs;
    };
    const firstRuns = await newRuns();

    const baselines = [await bareBullmq(redis.prefix, connect, '1')];
    const twoHops = [await bareBullmq(redis.prefix, connect, '2h1', true)];

    // End to end: the worker and notifier processes, connected before the clock starts.
    const worker = startBuiltRole('worker', env);
    const notifier = startBuiltRole('notifier', env);
    await Promise.all([workersOn(queues.sync.name), workersOn(queues.notifications.name)]);
    const syncQueue = new TypedQueue('sync', {
      connection: connect(),
      prefix: redis.prefix,
      env: envSchema.parse({}),
    });

    const endToEndCpu = await startCpuMeter({
      worker: worker.cpuMs,
      notifier: notifier.cpuMs,
      redis: redisCpu,
    });
    const start = performance.now();
    const syncsDone = whenCounterReaches(failedRuns, ORGS, start);
    await syncQueue.addBulk(firstRuns);
    const endToEndMs = await whenCounterReaches(inAppAlerts, ORGS, start);
    const endToEndCpuMs = await endToEndCpu.stop();
    const syncsDoneMs = await syncsDone;
    await worker.stop();
    await notifier.stop();

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

    // Each stage alone, the same orgs failing again. The worker first, with no
    // notifier running: its hand-offs wait in the queue...
    const secondRuns = await newRuns();
    const workerAlone = startBuiltRole('worker', env);
    await workersOn(queues.sync.name);
    const workerCpu = await startCpuMeter({ worker: workerAlone.cpuMs, redis: redisCpu });
    const workerStart = performance.now();
    await syncQueue.addBulk(secondRuns);
    const workerAloneMs = await whenCounterReaches(failedRuns, 2 * ORGS, workerStart);
    const workerAloneCpuMs = await workerCpu.stop();
    await workerAlone.stop();
    await syncQueue.close();

    // ...then the notifier drains them (the queue paused until the clock starts).
    const notifyQueue = new Queue(queues.notifications.name, {
      connection: connect(),
      prefix: redis.prefix,
    });
    await notifyQueue.pause();
    const notifierAlone = startBuiltRole('notifier', env);
    await workersOn(queues.notifications.name);
    const notifierCpu = await startCpuMeter({ notifier: notifierAlone.cpuMs, redis: redisCpu });
    const notifierStart = performance.now();
    await notifyQueue.resume();
    const notifierAloneMs = await whenCounterReaches(inAppAlerts, 2 * ORGS, notifierStart);
    const notifierAloneCpuMs = await notifierCpu.stop();
    await notifierAlone.stop();
    await notifyQueue.close();

    baselines.push(await bareBullmq(redis.prefix, connect, '2'));
    twoHops.push(await bareBullmq(redis.prefix, connect, '2h2', true));
    const baselineMs = Math.min(...baselines);
    const ratio = (ms: number) => Math.round((ms / baselineMs) * 100) / 100;

    const summary = {
      benchmark:
        'notifier: orgs failing at once (expired secrets), until every in-app alert is stored',
      orgs: ORGS,
      concurrency: CONCURRENCY,
      roles: 'worker and notifier: one process each, from their builds',
      bareBullmqNoopMs: baselines.map(Math.round),
      bareBullmqTwoHopsMs: twoHops.map(Math.round),
      twoHopsFloorRatio: ratio(Math.min(...twoHops)),
      endToEndMs: Math.round(endToEndMs),
      ratio: ratio(endToEndMs),
      endToEndCpuMs,
      syncJobsFinishedMs: Math.round(syncsDoneMs),
      workerStageAloneMs: Math.round(workerAloneMs),
      workerStageAloneRatio: ratio(workerAloneMs),
      workerStageAloneCpuMs: workerAloneCpuMs,
      notifierStageAloneMs: Math.round(notifierAloneMs),
      notifierStageAloneRatio: ratio(notifierAloneMs),
      notifierStageAloneCpuMs: notifierAloneCpuMs,
      orgsWithoutExactlyOneAlert: wrong,
      goal: { ratio: '<= 2' },
      ...(PROFILE_DIR ? { cpuProfiles: join(PROFILE_DIR, '{worker,notifier}.cpuprofile') } : {}),
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (wrong > 0) process.exitCode = 1;
  } finally {
    store.disconnect();
    await redis.cleanup();
  }
}

await main();
