import type { TypedQueue } from '@pinnacle/queue-runtime';
import { SyncScheduler } from '@pinnacle/sync-scheduler';
import { Queue } from 'bullmq';
import type { Figure } from '../figure.js';
import { fmt } from '../format.js';
import { intKnob } from '../knobs.js';
import type { BenchRedis } from '../stack/redis.js';
import { ratioOf, round } from '../stats.js';

const ORGS = intKnob('BENCH_SCHEDULER_ORGS', 10_000);
/** Upserts in flight at once (the api applies each org's schedule as its settings are saved). */
const CONCURRENCY = 50;
const SIX_HOURS_MS = 6 * 3_600_000;

interface State {
  redis: BenchRedis;
  syncQueue: TypedQueue<'sync'>;
  floorQueue: Queue;
}

/** Runs `fn` for 0..ORGS-1 with CONCURRENCY in flight; ms taken and Redis memory added. */
async function timed(redis: BenchRedis, fn: (i: number) => Promise<unknown>) {
  const before = await redis.usedMemory();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ORGS) await fn(next++);
    }),
  );
  const ms = performance.now() - start;
  return { ms, bytes: (await redis.usedMemory()) - before };
}

export const schedulerScale: Figure<State> = {
  id: '8',
  key: 'scheduler-scale',
  title: 'Scheduler scale',
  about:
    `${ORGS.toLocaleString('en-US')} orgs' schedules ("every 6h", each with its stable offset) upserted through ` +
    `SyncScheduler.apply, ${CONCURRENCY} at a time: the time taken and the Redis memory they hold (INFO used_memory ` +
    "before and after), against BullMQ's own upsertJobScheduler of as many plain 6-hour schedulers on another queue.",
  async setup(ctx) {
    const redis = await ctx.stack.redis();
    return {
      redis,
      syncQueue: await ctx.stack.syncQueue(),
      floorQueue: new Queue('floor-schedulers', {
        connection: redis.connect(),
        prefix: ctx.stack.prefix,
      }),
    };
  },
  async run(s, _ctx, index) {
    const scheduler = new SyncScheduler(s.syncQueue);
    const floor = await timed(s.redis, (i) =>
      s.floorQueue.upsertJobScheduler(
        `floor-${index}-${i}`,
        { every: SIX_HOURS_MS },
        { name: 'sync', data: { orgId: `floor-${index}-${i}`, trigger: 'schedule' } },
      ),
    );
    const synced = await timed(s.redis, (i) =>
      scheduler.apply(`sched-${index}-${i}`, { enabled: true, every: '6h' }),
    );
    const schedulers = await s.syncQueue.queue.getJobSchedulersCount();
    await s.syncQueue.queue.obliterate({ force: true });
    await s.floorQueue.obliterate({ force: true });
    return {
      schedulers,
      upsertMs: round(synced.ms),
      floorMs: round(floor.ms),
      ratio: ratioOf(synced.ms, floor.ms),
      bytesPerOrg: round(synced.bytes / ORGS),
      floorBytesPerOrg: round(floor.bytes / ORGS),
      memoryRatio: ratioOf(synced.bytes, floor.bytes),
    };
  },
  async teardown(s) {
    await s.syncQueue.close();
    await s.floorQueue.close();
  },
  rows: (m) => [
    {
      measure: `${fmt.count(ORGS)} schedules upserted, time`,
      value: fmt.ms(m.upsertMs ?? Number.NaN),
      baseline: `${fmt.ms(m.floorMs ?? Number.NaN)} (BullMQ upsertJobScheduler)`,
      ratio: m.ratio ?? null,
      goal: 'report',
      met: null,
    },
    {
      measure: 'their Redis memory, per org',
      value: fmt.bytes(m.bytesPerOrg ?? Number.NaN),
      baseline: fmt.bytes(m.floorBytesPerOrg ?? Number.NaN),
      ratio: m.memoryRatio ?? null,
      goal: 'report',
      met: null,
    },
  ],
};
