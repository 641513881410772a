import { createLogger } from '@pinnacle/logging';
import { type NotificationJob, syncJobId } from '@pinnacle/queue-contracts';
import { waitFor } from '@pinnacle/testing';
import { Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { startWorkerRole, type WorkerRole } from '../src/index.js';
import { STALLED_OUT_REASON } from '../src/sync/abandoned-runs.js';
import { test } from './support/fixtures.js';
import { type Harness, newOrgId } from './support/harness.js';
import { type FixtureTenant, fixtureTenant, settingsFor } from './support/tenants.js';

let h: Harness;
let t: FixtureTenant;
// A second worker process's role: both read the queue's events and race to finish a run.
let other: WorkerRole;

test.beforeAll(async ({ harness }) => {
  h = harness;
  t = fixtureTenant();
  h.sim.addTenant(t.input);
  h.startWorker();
  other = startWorkerRole(h.env, silentLogger());
  await Promise.all([h.worker!.ready(), other.ready()]);
});
afterAll(async () => {
  await other?.close();
});

async function handOffsOf(orgId: string): Promise<NotificationJob[]> {
  const jobs = await h.notifications.getJobs();
  return jobs.map((j) => j.data as NotificationJob).filter((m) => m.orgId === orgId);
}

/**
 * A worker that dies on every job it takes: it never renews a lock and its
 * processor never returns, as a killed process's would not. Its stalled
 * checker hands the job back when the lock lapses, as any live worker's would.
 */
function dyingWorker(): Worker {
  return new Worker('sync', () => new Promise<void>(() => {}), {
    connection: h.redis.connect({ maxRetriesPerRequest: null }),
    prefix: h.env.QUEUE_PREFIX,
    // A slot per delivery: the job comes back (maxStalledCount + 1) times,
    // the last one with BullMQ's deferred failure, which fails it unprocessed.
    concurrency: 4,
    skipLockRenewal: true,
    lockDuration: 1000,
    stalledInterval: 300,
    // The worker role's setting.
    maxStalledCount: 2,
  });
}

const silentLogger = () => createLogger({ name: 'worker', level: 'silent' });

/** A settle time for the events of a finished job to reach both roles. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));

describe('runs their handler closed', () => {
  it('a failure retried until it failed for good, and a success, are left as they ended', {
    timeout: 30_000,
  }, async () => {
    const linesBefore = h.logLines.length;
    const flaky = fixtureTenant();
    h.sim.addTenant(flaky.input);
    const failing = newOrgId();
    await h.configure(failing, settingsFor(flaky, [flaky.groups.sales]));
    h.sim.setFaults(flaky.tenantId, { unavailable: { every: 1, retryAfterSeconds: 0 } });
    const succeeding = newOrgId();
    await h.configure(succeeding, settingsFor(t, [t.groups.sales]));
    try {
      const [failed, succeeded] = await Promise.all([
        h.syncNow(failing, { attempts: 2 }).then((id) => h.waitForRun(failing, id)),
        h.syncAndWait(succeeding),
      ]);
      expect(failed).toMatchObject({ status: 'failed', attempts: 2 });
      expect(failed.failure).toMatchObject({ code: 'entra_unreachable' });
      expect(succeeded.status).toBe('succeeded');
      // The job's final `failed` event reached both roles: nothing changed.
      const job = await h.syncQueue.getJob(syncJobId(failed.id));
      expect(await job?.getState()).toBe('failed');
      await settle();
      expect(await h.stores.runs.get(failing, failed.id)).toEqual(failed);
      expect(await h.stores.runs.get(succeeding, succeeded.id)).toEqual(succeeded);
      expect((await handOffsOf(failing)).map((m) => m.type)).toEqual(['sync_failed']);
      expect(await handOffsOf(succeeding)).toEqual([]);
      expect(h.logLines.slice(linesBefore).some((l) => l.includes('failing its run'))).toBe(false);
    } finally {
      h.sim.clearFaults(flaky.tenantId);
    }
  });
});

describe('a sync job whose worker dies more than maxStalledCount times', () => {
  it('fails its run (internal_error), frees the org for the next sync, alerts once', {
    timeout: 30_000,
  }, async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.groups.sales]));
    // The roles' workers stop (their readers of the queue's events go on)
    // while a worker that dies on every job holds this one.
    await Promise.all([h.worker!.syncWorker.close(), other.syncWorker.close()]);
    const dying = dyingWorker();
    try {
      const runId = await h.syncNow(orgId);
      const run = await h.waitForRun(orgId, runId, 20_000);
      const job = await h.syncQueue.getJob(syncJobId(runId));
      expect(await job?.getState()).toBe('failed');
      expect(job?.failedReason).toBe(STALLED_OUT_REASON);

      expect(run.status).toBe('failed');
      expect(run.failure).toMatchObject({
        code: 'internal_error',
        category: 'internal',
        retryable: false,
        details: { reason: 'worker_lost' },
      });
      expect(run.failure?.message).toContain('stopped repeatedly');
      // The org's slot is free: a Sync Now records a run of its own.
      expect(await h.stores.runs.activeRunId(orgId)).toBeNull();
      await settle();
      // Both roles heard of the failure; one run closed, one alert, one episode.
      expect(await h.stores.runs.get(orgId, runId)).toEqual(run);
      const handOffs = await handOffsOf(orgId);
      expect(handOffs).toEqual([
        {
          type: 'sync_failed',
          orgId,
          runId,
          occurredAt: run.finishedAt,
          failure: run.failure,
          episode: { firstRunId: runId, since: run.finishedAt, count: 1 },
        },
      ]);

      await dying.close(true);
      const next = await h.syncNow(orgId);
      expect(next).not.toBe(runId);
      // And it syncs again.
      const fresh = startWorkerRole(h.env, silentLogger());
      try {
        expect((await h.waitForRun(orgId, next)).status).toBe('succeeded');
      } finally {
        await fresh.close();
      }
    } finally {
      await dying.close(true);
    }
  });

  it('is finished by a worker role that starts just after the job failed', {
    timeout: 30_000,
  }, async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.groups.sales]));
    // No worker role runs while the job stalls out.
    await Promise.all([h.worker!.close(), other.close()]);
    const dying = dyingWorker();
    const runId = await h.syncNow(orgId);
    try {
      await waitFor(async () => (await h.syncQueue.getJobState(syncJobId(runId))) === 'failed', {
        timeoutMs: 20_000,
        description: 'the job to stall out',
      });
    } finally {
      await dying.close(true);
    }
    expect((await h.stores.runs.get(orgId, runId))?.status).toBe('queued');
    const late = startWorkerRole(h.env, silentLogger());
    try {
      const run = await h.waitForRun(orgId, runId, 10_000);
      expect(run.failure).toMatchObject({
        code: 'internal_error',
        details: { reason: 'worker_lost' },
      });
      expect(await h.stores.runs.activeRunId(orgId)).toBeNull();
      expect((await handOffsOf(orgId)).map((m) => m.type)).toEqual(['sync_failed']);
    } finally {
      await late.close();
    }
  });
});
