import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { integrationSettingsInputSchema, newQueuedRun } from '@pinnacle/domain';
import { counterField, metricDefinitions, metricKey } from '@pinnacle/metrics';
import type { SyncJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import type { Stores } from '@pinnacle/redis-store';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Figure } from '../figure.js';
import { fmt } from '../format.js';
import { intKnob } from '../knobs.js';
import type { BenchRedis } from '../stack/redis.js';
import { RoleProcess } from '../stack/roles.js';
import { ratioOf, round } from '../stats.js';

const ORGS = intKnob('BENCH_ALERT_ORGS', 5000);
/** The worker's and the notifier's concurrency, and the bare floor's. */
const CONCURRENCY = 16;
const TIMEOUT_MS = 10 * 60_000;

interface State {
  redis: BenchRedis;
  store: Redis;
  stores: Stores;
  prefix: string;
  syncQueue: TypedQueue<'sync'>;
  worker: RoleProcess;
  notifier: RoleProcess;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** Polls a counter until it has risen by `by`; ms from `start` until it did. */
async function whenRisen(read: () => Promise<number>, from: number, by: number, start: number) {
  for (;;) {
    const value = await read();
    if (value - from >= by) return performance.now() - start;
    if (performance.now() - start > TIMEOUT_MS)
      throw new Error(`stuck at ${value - from} of ${by}`);
    await sleep(2);
  }
}

/**
 * Bare BullMQ: ORGS no-op jobs at CONCURRENCY, queued at once, until all are
 * done; with `twoHops`, each passes a no-op job on to a second queue (its own
 * worker) and the clock stops when those are done: the floor of any design
 * that hands each failure from one queue to another, as the worker hands its
 * failures to the notifier.
 */
async function bareBullmq(redis: BenchRedis, prefix: string, twoHops: boolean): Promise<number> {
  const round = randomUUID().slice(0, 8);
  const first = new Queue(`floor-${round}-a`, { connection: redis.connect(), prefix });
  const second = new Queue(`floor-${round}-b`, { connection: redis.connect(), prefix });
  const jobOptions = (i: number) => ({ jobId: `noop-${i}`, removeOnComplete: { age: 3600 } });
  let left = ORGS;
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const options = { connection: redis.connect(), prefix, concurrency: CONCURRENCY };
  const workers = [
    new Worker(
      first.name,
      async (job) => {
        if (twoHops) await second.add('noop', job.data, jobOptions(job.data.i));
      },
      options,
    ),
  ];
  if (twoHops) {
    workers.push(
      new Worker(second.name, async () => {}, { ...options, connection: redis.connect() }),
    );
  }
  (workers.at(-1) as Worker).on('completed', () => {
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

export const alertStorm: Figure<State> = {
  id: '7',
  key: 'alert-storm',
  title: 'Alert storm',
  about:
    `${ORGS.toLocaleString('en-US')} orgs failing at once (each org's recorded secret expiry passed, so preflight ` +
    'stops without a network call): from queuing their Sync Now jobs until every in-app alert is stored, the worker ' +
    `and the notifier each a process from its build (concurrency ${CONCURRENCY}, email off); against bare BullMQ ` +
    'passing as many no-op jobs through two queues in this process (the floor of a queue-to-queue hand-off), one ' +
    'queue in the JSON. Report only.',
  async setup(ctx) {
    const redis = await ctx.stack.redis();
    const env = await ctx.stack.roleEnv({
      SYNC_CONCURRENCY: String(CONCURRENCY),
      NOTIFIER_CONCURRENCY: String(CONCURRENCY),
      SMTP_URL: '',
    });
    const [worker, notifier] = await Promise.all([
      RoleProcess.start('worker', env),
      RoleProcess.start('notifier', env),
    ]);
    return {
      redis,
      store: redis.connect(),
      stores: await ctx.stack.stores(),
      prefix: ctx.stack.prefix,
      syncQueue: await ctx.stack.syncQueue(),
      worker,
      notifier,
    };
  },
  async run(s, _ctx, index) {
    // Setup (not timed): orgs whose recorded secret expired yesterday, each with a Sync Now run.
    const orgIds = Array.from({ length: ORGS }, (_, i) => `storm-${index}-${i}`);
    const settings = integrationSettingsInputSchema.parse({
      tenantId: 'contoso.onmicrosoft.com',
      clientId: randomUUID(),
      clientSecret: `Bn8~${randomUUID()}`,
      clientSecretExpiresAt: new Date(Date.now() - 86_400_000).toISOString(),
      groupIds: [randomUUID()],
    });
    const jobs: SyncJob[] = [];
    await inBatches(orgIds, 200, async (orgId) => {
      await s.stores.integrations.put(orgId, settings);
      const run = newQueuedRun({
        id: randomUUID(),
        orgId,
        trigger: 'manual',
        createdAt: new Date(),
      });
      await s.stores.runs.createIfIdle(run);
      jobs.push({ orgId, runId: run.id, trigger: 'manual' });
    });
    const inApp = async () =>
      Number(
        (await s.store.hget(
          metricKey(s.prefix, metricDefinitions.notifications),
          counterField(['inApp', 'delivered']),
        )) ?? 0,
      );
    const oneHop = await bareBullmq(s.redis, s.prefix, false);
    const twoHops = await bareBullmq(s.redis, s.prefix, true);
    const cpu = { worker: s.worker.cpuMs(), notifier: s.notifier.cpuMs() };
    const from = await inApp();
    const start = performance.now();
    await s.syncQueue.addBulk(jobs);
    const endToEndMs = await whenRisen(inApp, from, ORGS, start);
    return {
      endToEndMs: round(endToEndMs),
      twoHopFloorMs: round(twoHops),
      ratio: ratioOf(endToEndMs, twoHops),
      oneHopFloorMs: round(oneHop),
      workerCpuMs: s.worker.cpuMs() - cpu.worker,
      notifierCpuMs: s.notifier.cpuMs() - cpu.notifier,
    };
  },
  async teardown(s) {
    await s.syncQueue.close();
    await Promise.all([s.worker.stop(), s.notifier.stop()]);
  },
  rows: (m) => [
    {
      measure: `${fmt.count(ORGS)} orgs failing at once, until every in-app alert is stored`,
      value: fmt.ms(m.endToEndMs ?? Number.NaN),
      baseline: `${fmt.ms(m.twoHopFloorMs ?? Number.NaN)} (bare BullMQ, two hops)`,
      ratio: m.ratio ?? null,
      goal: 'report',
      met: null,
    },
  ],
};
