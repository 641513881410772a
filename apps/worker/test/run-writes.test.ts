import { type Run, runSchema } from '@pinnacle/domain';
import { createLogger } from '@pinnacle/logging';
import { createMetricsRecorder } from '@pinnacle/metrics';
import { notificationJobId, parseJobPayload, queues, syncJobId } from '@pinnacle/queue-contracts';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { dataPrefix, RunRepository } from '@pinnacle/redis-store';
import { SyncScheduler } from '@pinnacle/sync-scheduler';
import type { RedisClient } from '@pinnacle/testing';
import { waitFor } from '@pinnacle/testing';
import { type Job, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { processSyncJob } from '../src/index.js';
import { test } from './support/fixtures.js';
import { type Harness, newOrgId } from './support/harness.js';
import { type FixtureTenant, fixtureTenant, settingsFor } from './support/tenants.js';

/**
 * What a run does when one of its own writes fails. The run repository below
 * is the real one over the real Redis; it refuses the saves a test names, as
 * a Redis that drops a connection for a moment would.
 */
class RunsRefusing extends RunRepository {
  /** Refuses the next save whose run matches, once. */
  refuseNext: ((run: Run) => boolean) | null = null;
  refused: Run[] = [];

  override async save(run: Run): Promise<boolean> {
    if (this.refuseNext?.(run)) {
      this.refuseNext = null;
      this.refused.push(run);
      throw new Error('write refused (test): connection reset');
    }
    return super.save(run);
  }
}

let h: Harness;
let t: FixtureTenant;
let connection: RedisClient;
let runs: RunsRefusing;
let worker: Worker;
let producers: TypedQueue<'sync' | 'notifications'>[] = [];

test.beforeAll(async ({ harness }) => {
  h = harness;
  t = fixtureTenant();
  h.sim.addTenant(t.input);
  connection = h.redis.connect({ maxRetriesPerRequest: null });
  runs = new RunsRefusing(connection, dataPrefix(h.env.QUEUE_PREFIX));
  const notificationQueue = new TypedQueue('notifications', {
    connection,
    prefix: h.env.QUEUE_PREFIX,
    env: {},
  });
  const syncProducer = new TypedQueue('sync', {
    connection,
    prefix: h.env.QUEUE_PREFIX,
    env: { SYNC_ATTEMPTS: h.env.SYNC_ATTEMPTS, SYNC_BACKOFF_MS: h.env.SYNC_BACKOFF_MS },
  });
  producers = [notificationQueue, syncProducer];
  worker = new Worker(
    queues.sync.name,
    (job: Job) =>
      processSyncJob(parseJobPayload('sync', job.data), job, {
        ...h.stores,
        runs,
        notificationQueue,
        scheduler: new SyncScheduler(syncProducer),
        endpoints: { authorityHost: h.sim.authorityHost, graphBaseUrl: h.sim.graphBaseUrl },
        logger: createLogger({ name: 'worker', level: 'silent' }),
        metrics: createMetricsRecorder(connection, h.env.QUEUE_PREFIX),
      }),
    { connection: h.redis.connect({ maxRetriesPerRequest: null }), prefix: h.env.QUEUE_PREFIX },
  );
  worker.on('error', () => {});
});
afterAll(async () => {
  await worker?.close();
  await Promise.all(producers.map((q) => q.close()));
});

/** Sync Now, then the job's end: its state, attempts and reason. */
async function syncAndSettle(orgId: string) {
  const runId = await h.syncNow(orgId, { attempts: 3 });
  const job = await waitFor(
    async () => {
      const found = await h.syncQueue.getJob(syncJobId(runId));
      const state = await found?.getState();
      return state === 'completed' || state === 'failed' ? found : null;
    },
    { timeoutMs: 30_000, intervalMs: 50, description: 'the sync job to settle' },
  );
  const fresh = (await h.syncQueue.getJob(job!.id!))!;
  const run = runSchema.parse(await h.stores.runs.get(orgId, runId));
  return { run, job: fresh, state: await fresh.getState() };
}

/** The job ID the notification queue's rule gives a failed run's hand-off. */
function failedHandOffId(run: Run): string {
  return notificationJobId({
    type: 'sync_failed',
    orgId: run.orgId,
    runId: run.id,
    occurredAt: run.finishedAt!,
    failure: run.failure!,
  });
}

describe('a run whose own write fails', () => {
  it('a refused progress save (running) never turns a blocking failure into a retry', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, []));
    runs.refuseNext = (run) => run.orgId === orgId && run.status === 'running';

    const { run, job, state } = await syncAndSettle(orgId);

    expect(runs.refused.map((r) => r.status)).toContain('running');
    expect(state).toBe('failed');
    expect(job.failedReason).toBe('groups_not_configured');
    expect(job.attemptsMade).toBe(1);
    expect(run).toMatchObject({ status: 'failed', failure: { code: 'groups_not_configured' } });
    // Handed to the notifier all the same, under the job ID the queue's rule gives it.
    const handOff = await h.notifications.getJob(failedHandOffId(run));
    expect(handOff?.data).toMatchObject({ type: 'sync_failed', orgId, runId: run.id });
  });

  it('a refused progress save (stage) does not stop a sync that otherwise succeeds', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.groups.sales]));
    runs.refuseNext = (run) => run.orgId === orgId && run.stage === 'fetch';

    const { run, job, state } = await syncAndSettle(orgId);

    expect(runs.refused.some((r) => r.orgId === orgId)).toBe(true);
    expect(state).toBe('completed');
    expect(job.attemptsMade).toBe(1);
    expect(run).toMatchObject({ status: 'succeeded', attempts: 1, stats: { users: 4 } });
  });

  it('a refused closing save fails the attempt; the retry closes the run once', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, []));
    runs.refuseNext = (run) => run.orgId === orgId && run.status === 'failed';

    const { run, job, state } = await syncAndSettle(orgId);

    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toBe('groups_not_configured');
    expect(run).toMatchObject({ status: 'failed', attempts: 2 });
    const health = await h.stores.health.get(orgId);
    // The same run recorded twice counts once.
    expect(health.openFailure).toMatchObject({ code: 'groups_not_configured', count: 1 });
    // Handed to the notifier once, under the run's job ID.
    const handOffs = (await h.notifications.getJobs(['waiting', 'delayed'])).filter(
      (j) => j.data.orgId === orgId,
    );
    // It carries the episode the worker recorded, learned again by the retry.
    expect(handOffs[0]?.data.episode).toEqual({
      firstRunId: run.id,
      since: handOffs[0]?.data.occurredAt,
      count: 1,
    });
    expect(handOffs.map((j) => j.id)).toEqual([failedHandOffId(run)]);
  });
});
