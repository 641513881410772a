/**
 * Scheduler at scale: upserts 10,000 orgs' job schedulers ("every 6h", each
 * with its stable offset) and reports the time taken, the Redis memory they
 * use (INFO used_memory before and after, same run) and how the first fire
 * times spread over the interval (the largest number firing in one minute).
 */
import { envSchema } from '@pinnacle/config';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { type TestRedis, useTestRedis } from '@pinnacle/testing';
import { SyncScheduler } from '../src/index.js';

const ORGS = 10_000;
const CONCURRENCY = 50;

async function usedMemory(r: TestRedis): Promise<number> {
  const info = await r.redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

const r = await useTestRedis('bench-schedulers');
const syncQueue = new TypedQueue('sync', {
  connection: r.connect(),
  prefix: r.prefix,
  env: envSchema.parse({}),
});
const queue = syncQueue.queue;
const scheduler = new SyncScheduler(syncQueue);
try {
  const before = await usedMemory(r);
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ORGS) {
        const i = next++;
        await scheduler.apply(`bench-org-${i}`, { enabled: true, every: '6h' });
      }
    }),
  );
  const ms = performance.now() - start;
  const after = await usedMemory(r);
  const delayed = await queue.getDelayed(0, ORGS);
  const perMinute = new Map<number, number>();
  for (const job of delayed) {
    const minute = Math.floor((job.timestamp + (job.opts.delay ?? 0)) / 60_000);
    perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
  }
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'job schedulers upserted',
        orgs: ORGS,
        schedulers: await queue.getJobSchedulersCount(),
        upsertConcurrency: CONCURRENCY,
        totalMs: Math.round(ms),
        upsertsPerSecond: Math.round(ORGS / (ms / 1000)),
        redisUsedMemoryDeltaMb: Math.round(((after - before) / 1048576) * 10) / 10,
        bytesPerOrg: Math.round((after - before) / ORGS),
        maxFiringInOneMinute: Math.max(...perMinute.values()),
        evenSpreadPerMinute: Math.round(ORGS / 360),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await r.cleanup();
}
