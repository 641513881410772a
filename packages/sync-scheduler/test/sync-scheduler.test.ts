import { stableOffsetMs } from '@pinnacle/domain';
import { syncSchedulerId } from '@pinnacle/queue-contracts';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import type { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { planRepeat, SyncScheduler, shouldBackOff } from '../src/index.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe('planRepeat', () => {
  it('spreads intervals with a stable per-org offset and keeps cron in UTC', () => {
    expect(planRepeat('org-a', { enabled: true, every: '6h' })).toEqual({
      kind: 'every',
      every: 6 * HOUR,
      offset: stableOffsetMs('org-a', 6 * HOUR),
    });
    expect(planRepeat('org-a', { enabled: true, every: '6h' })).toEqual(
      planRepeat('org-a', { enabled: true, every: '6h' }),
    );
    const offsets = new Set(
      Array.from(
        { length: 200 },
        (_, i) =>
          (planRepeat(`org-${i}`, { enabled: true, every: '6h' }) as { offset: number }).offset,
      ),
    );
    expect(offsets.size).toBeGreaterThan(190);
    expect(planRepeat('org-a', { enabled: true, every: '0 2 * * 1' })).toEqual({
      kind: 'cron',
      pattern: '0 2 * * 1',
      tz: 'UTC',
    });
  });

  it('is null when disabled or unparseable, and daily while backed off', () => {
    expect(planRepeat('o', { enabled: false, every: '6h' })).toBeNull();
    expect(planRepeat('o', { enabled: true, every: 'every now and then' })).toBeNull();
    expect(planRepeat('o', { enabled: true, every: '1h' }, { backedOff: true })).toMatchObject({
      kind: 'every',
      every: DAY,
    });
    expect(
      planRepeat('o', { enabled: true, every: '*/30 * * * *' }, { backedOff: true }),
    ).toMatchObject({ every: DAY });
    // Already slower than daily: a back-off never speeds it up.
    expect(planRepeat('o', { enabled: true, every: '7d' }, { backedOff: true })).toMatchObject({
      every: 7 * DAY,
    });
  });

  it('backs off only on what an admin must fix', () => {
    for (const c of ['configuration', 'credentials', 'permissions', 'groups'])
      expect(shouldBackOff(c)).toBe(true);
    for (const c of ['safety', 'connectivity', 'internal', null, undefined])
      expect(shouldBackOff(c)).toBe(false);
  });
});

describe('SyncScheduler', () => {
  let r: RedisFixture;
  let syncQueue: TypedQueue<'sync'>;
  let queue: Queue;
  let scheduler: SyncScheduler;
  test.beforeAll(async ({ redis }) => {
    r = redis;
    syncQueue = new TypedQueue('sync', {
      connection: r.connect(),
      prefix: r.prefix,
      env: { SYNC_ATTEMPTS: 7, SYNC_BACKOFF_MS: 1234 },
    });
    queue = syncQueue.queue;
    scheduler = new SyncScheduler(syncQueue);
  });
  afterAll(async () => {
    await syncQueue.close();
  });

  it('creates one scheduler per org, updates it in place and removes it', async () => {
    const next = await scheduler.apply('org-1', { enabled: true, every: '6h' });
    await scheduler.apply('org-1', { enabled: true, every: '6h' });
    expect(await queue.getJobSchedulersCount()).toBe(1);
    const stored = await queue.getJobScheduler(syncSchedulerId('org-1'));
    expect(stored).toMatchObject({
      name: 'sync org-1',
      every: 6 * HOUR,
      template: { data: { orgId: 'org-1', trigger: 'schedule' } },
    });
    expect(next?.getTime()).toBe(stored?.next);
    // The first job waits for its slot, it does not run at save time.
    expect(await queue.getDelayedCount()).toBe(1);

    await scheduler.apply('org-1', { enabled: true, every: '0 4 * * *' });
    expect((await queue.getJobScheduler(syncSchedulerId('org-1')))?.pattern).toBe('0 4 * * *');
    expect(new Date((await scheduler.nextRun('org-1'))!).getUTCHours()).toBe(4);
    expect(await queue.getJobSchedulersCount()).toBe(1);

    expect(await scheduler.apply('org-1', { enabled: false, every: '0 4 * * *' })).toBeNull();
    expect(await queue.getJobScheduler(syncSchedulerId('org-1'))).toBeUndefined();
    expect(await scheduler.nextRun('org-1')).toBeNull();
  });

  it('backs off and restores', async () => {
    await scheduler.apply('org-2', { enabled: true, every: '2h' }, { backedOff: true });
    expect(await scheduler.currentEveryMs('org-2')).toBe(DAY);
    await scheduler.apply('org-2', { enabled: true, every: '2h' });
    expect(await scheduler.currentEveryMs('org-2')).toBe(2 * HOUR);
    await scheduler.remove('org-2');
  });

  it('takes the scheduler out again when the org turns out offboarded meanwhile', async () => {
    let live = true;
    const options = { live: async () => live };
    expect(await scheduler.apply('org-4', { enabled: true, every: '6h' }, options)).not.toBeNull();
    expect(await queue.getJobScheduler(syncSchedulerId('org-4'))).toBeDefined();
    live = false;
    expect(await scheduler.apply('org-4', { enabled: true, every: '1h' }, options)).toBeNull();
    expect(await queue.getJobScheduler(syncSchedulerId('org-4'))).toBeUndefined();
    // Its next job went with it.
    expect((await queue.getDelayed()).filter((j) => j.data.orgId === 'org-4')).toEqual([]);
  });

  it('scheduled jobs retry as SYNC_ATTEMPTS and SYNC_BACKOFF_MS say, backed off or not', async () => {
    const policy = { attempts: 7, backoff: { type: 'exponential', delay: 1234, jitter: 0.5 } };
    for (const backedOff of [false, true]) {
      await scheduler.apply('org-3', { enabled: true, every: '1h' }, { backedOff });
      const stored = await queue.getJobScheduler(syncSchedulerId('org-3'));
      expect(stored?.template?.opts).toMatchObject(policy);
      // The job already made for the next slot carries them too.
      const next = (await queue.getDelayed()).filter((j) => j.data.orgId === 'org-3');
      expect(next.map((j) => [j.name, j.opts.attempts, j.opts.backoff])).toEqual([
        ['sync org-3', 7, policy.backoff],
      ]);
    }
    await scheduler.remove('org-3');
  });
});
