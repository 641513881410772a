/**
 * End to end through HTTP: the API in front, the real worker role behind it,
 * the Entra/Graph simulator over HTTPS, one Redis.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Run, runChangesPageSchema } from '@pinnacle/domain';
import type { Simulator } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import {
  type NotificationJob,
  notificationJobId,
  queues,
  syncSchedulerId,
} from '@pinnacle/queue-contracts';
import { waitFor } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { startWorkerRole, type WorkerRole } from '@pinnacle/worker';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addSmallAllTenant,
  ENCRYPTION_KEY,
  type SmallAllTenant,
  type SmallAllTenantOptions,
  signToken,
  startTestApi,
  syncViaApi,
  type TestApi,
  waitForRunViaApi,
} from './helpers.js';

let r: RedisFixture;
let sim: Simulator;
let api: TestApi;
let worker: WorkerRole;
let syncQueue: Queue;
let notificationQueue: Queue;
let token: string;
const workerLogs: string[] = [];
const DAY = 86_400_000;

type Tenant = SmallAllTenant;

const addTenant = (options: SmallAllTenantOptions = {}) => addSmallAllTenant(sim, options);

function settings(t: Tenant, extra: Record<string, unknown> = {}) {
  return {
    tenantId: t.tenantId,
    clientId: t.clientId,
    clientSecret: t.secret,
    clientSecretExpiresAt: new Date(Date.now() + 90 * DAY).toISOString(),
    groupIds: [t.groups.all],
    ...extra,
  };
}

const orgId = () => `e2e-${randomUUID().slice(0, 8)}`;
/** Few and quick retries, so a run failing on transient trouble finishes fast. */
const SYNC_RETRIES = { SYNC_ATTEMPTS: 2, SYNC_BACKOFF_MS: 50 };

async function put(org: string, body: unknown) {
  const res = await api.request('PUT', `/api/v1/orgs/${org}/integration`, { token, body });
  expect([200, 201]).toContain(res.status);
  return res;
}

const waitForRun = (org: string, runId: string, timeoutMs?: number) =>
  waitForRunViaApi(api, token, org, runId, timeoutMs);

const syncNow = (org: string, body: unknown = {}) => syncViaApi(api, token, org, body);

test.beforeAll(async ({ redis, simulator }) => {
  r = redis;
  sim = simulator;
  api = await startTestApi(r, { env: SYNC_RETRIES });
  const destination = new Writable({
    write(chunk, _enc, done) {
      workerLogs.push(String(chunk));
      done();
    },
  });
  worker = startWorkerRole(
    {
      ...r.env,
      SECRET_ENCRYPTION_KEY: ENCRYPTION_KEY,
      ENTRA_AUTHORITY_HOST: sim.authorityHost,
      GRAPH_BASE_URL: sim.graphBaseUrl,
      SYNC_CONCURRENCY: 4,
      SYNC_GROUP_CONCURRENCY: 4,
      // As a deployment sets them: the same for every role.
      ...SYNC_RETRIES,
      SYNC_LOCK_DURATION_MS: 30_000,
      SYNC_STALLED_INTERVAL_MS: 5_000,
      GRAPH_TIMEOUT_MS: 10_000,
    },
    createLogger({ name: 'worker', level: 'debug', destination }),
  );
  syncQueue = new Queue('sync', { connection: r.connect(), prefix: r.env.QUEUE_PREFIX });
  notificationQueue = new Queue('notifications', {
    connection: r.connect(),
    prefix: r.env.QUEUE_PREFIX,
  });
  token = await signToken({ org: '*' });
});

afterAll(async () => {
  await worker?.close();
  await syncQueue?.close();
  await notificationQueue?.close();
  await api?.close();
});

describe('each failure code, reached through the API', () => {
  const cases: [string, string, () => Record<string, unknown>, string?][] = [
    [
      'settings_incomplete',
      'configuration',
      () => ({ tenantId: randomUUID(), groupIds: [randomUUID()] }),
    ],
    ['groups_not_configured', 'groups', () => settings(addTenant(), { groupIds: [] })],
    [
      'client_secret_expired',
      'credentials',
      () =>
        settings(addTenant(), { clientSecretExpiresAt: new Date(Date.now() - DAY).toISOString() }),
    ],
    [
      'client_secret_expired',
      'credentials',
      () => settings(addTenant({ secretExpiresAt: new Date(Date.now() - DAY) })),
    ],
    [
      'client_secret_invalid',
      'credentials',
      () => settings(addTenant(), { clientSecret: 'not~the-secret-0000' }),
    ],
    ['app_not_found', 'configuration', () => settings(addTenant(), { clientId: randomUUID() })],
    ['tenant_not_found', 'configuration', () => settings(addTenant(), { tenantId: randomUUID() })],
    [
      'consent_missing',
      'permissions',
      () => settings(addTenant({ roles: ['GroupMember.Read.All'] })),
    ],
    ['group_not_found', 'groups', () => settings(addTenant(), { groupIds: [randomUUID()] })],
  ];
  it.each(cases)('%s (%s)', async (code, category, body) => {
    const org = orgId();
    await put(org, body());
    const run = await syncNow(org);
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(1);
    expect(run.failure).toMatchObject({ code, category, retryable: false });
    expect(run.failure!.remediation.length).toBeGreaterThan(0);
    // The hand-off, with the failure episode the worker recorded (this run
    // opens it), under the job ID the notification queue's rule gives it.
    const handOff: NotificationJob = {
      type: 'sync_failed',
      orgId: org,
      runId: run.id,
      occurredAt: run.finishedAt!,
      failure: run.failure!,
      episode: { firstRunId: run.id, since: run.finishedAt!, count: 1 },
    };
    expect((await notificationQueue.getJob(notificationJobId(handOff)))?.data).toEqual(handOff);
  });

  it('mass_removal_blocked (safety), and the explicit override on Sync Now', async () => {
    const t = addTenant();
    const org = orgId();
    await put(org, settings(t));
    expect((await syncNow(org)).stats.users).toBe(40);
    await put(org, settings(t, { groupIds: [t.groups.small] }));
    const blocked = await syncNow(org);
    expect(blocked.failure).toMatchObject({ code: 'mass_removal_blocked', category: 'safety' });
    expect(blocked.attempts).toBe(1);
    const users = await api.request('GET', `/api/v1/orgs/${org}/directory/users?limit=100`, {
      token,
    });
    const committed = (users.json as { items: { id: string }[] }).items;
    expect(committed).toHaveLength(40);
    // Who it would have removed: the 35 users outside the small group.
    const wouldRemove = await api.request(
      'GET',
      `/api/v1/orgs/${org}/syncs/${blocked.id}/changes?change=removed&limit=100`,
      { token },
    );
    expect(wouldRemove.status).toBe(200);
    const page = runChangesPageSchema.parse(wouldRemove.json);
    expect(page).toMatchObject({ applied: false, totals: { removed: 35 }, truncated: false });
    expect(page.items).toHaveLength(35);
    const small = new Set(t.users.slice(0, 5));
    expect(page.items.every((c) => c.change === 'removed' && !small.has(c.userId))).toBe(true);
    const allowed = await syncNow(org, { allowMassRemoval: true });
    expect(allowed.status).toBe('succeeded');
    expect(allowed.stats.users).toBe(5);
    expect(allowed.warnings).toContainEqual(
      expect.objectContaining({ code: 'mass_removal_overridden' }),
    );
    const applied = runChangesPageSchema.parse(
      (
        await api.request('GET', `/api/v1/orgs/${org}/syncs/${allowed.id}/changes?limit=100`, {
          token,
        })
      ).json,
    );
    // The five kept users moved from the "All" group to "Small".
    expect(applied).toMatchObject({ applied: true, totals: { added: 0, removed: 35, changed: 5 } });
    expect(applied.items.filter((c) => c.change === 'changed').map((c) => c.changedFields)).toEqual(
      Array.from({ length: 5 }, () => ['groupIds']),
    );
  });

  it('entra_unreachable (connectivity) once every retry failed', async () => {
    const t = addTenant();
    const org = orgId();
    await put(org, settings(t));
    sim.setFaults(t.tenantId, { unavailable: { every: 1, retryAfterSeconds: 0 } });
    try {
      const run = await syncNow(org);
      expect(run.failure).toMatchObject({ code: 'entra_unreachable', category: 'connectivity' });
      expect(run.attempts).toBe(2);
    } finally {
      sim.clearFaults(t.tenantId);
    }
  });
});

describe('recovery through the API', () => {
  it('rotating an expired secret, then Sync Now: success, and the recovery is handed off', async () => {
    const t = addTenant();
    const org = orgId();
    await put(
      org,
      settings(t, { clientSecretExpiresAt: new Date(Date.now() - DAY).toISOString() }),
    );
    const failed = await syncNow(org);
    expect(failed.failure?.code).toBe('client_secret_expired');
    const overview = await api.request('GET', `/api/v1/orgs/${org}/sync-overview`, { token });
    expect(overview.json).toMatchObject({
      status: 'failing',
      openFailure: { code: 'client_secret_expired' },
    });

    // Graph slowed, so the run the rotation starts is still going when Sync Now arrives.
    sim.setFaults(t.tenantId, { latencyMs: 1_000 });
    const rotated = await api.request('PUT', `/api/v1/orgs/${org}/integration/client-secret`, {
      token,
      body: { clientSecret: t.secret, expiresAt: new Date(Date.now() + 30 * DAY).toISOString() },
    });
    expect(rotated.status).toBe(200);
    // Rotating on a failing org starts a sync at once; Sync Now joins it.
    const res = await api.request('POST', `/api/v1/orgs/${org}/syncs`, { token, body: {} });
    expect(res.json).toMatchObject({ deduplicated: true });
    const run = await waitForRun(org, (res.json as { runId: string }).runId);
    sim.clearFaults(t.tenantId);
    expect(run.status).toBe('succeeded');
    const recovery: NotificationJob = {
      type: 'sync_recovered',
      orgId: org,
      runId: run.id,
      occurredAt: run.finishedAt!,
      previousFailureCode: 'client_secret_expired',
      episode: { firstRunId: failed.id, since: failed.finishedAt!, count: 1 },
    };
    expect((await notificationQueue.getJob(notificationJobId(recovery)))?.data).toEqual(recovery);
  });
});

describe('scheduled syncs', () => {
  it('follow the settings: created, changed, removed, and shown as the next run', async () => {
    const t = addTenant();
    const org = orgId();
    await put(org, settings(t, { schedule: { enabled: true, every: '6h' } }));
    let scheduler = await syncQueue.getJobScheduler(syncSchedulerId(org));
    expect(scheduler?.every).toBe(6 * 3600_000);
    let overview = (await api.request('GET', `/api/v1/orgs/${org}/sync-overview`, { token }))
      .json as {
      nextScheduledRunAt: string | null;
    };
    const next = Date.parse(overview.nextScheduledRunAt ?? '');
    expect(next).toBe(scheduler?.next);
    expect(next - Date.now()).toBeGreaterThan(0);
    expect(next - Date.now()).toBeLessThanOrEqual(6 * 3600_000);

    await put(org, settings(t, { schedule: { enabled: true, every: '30 3 * * *' } }));
    scheduler = await syncQueue.getJobScheduler(syncSchedulerId(org));
    expect(scheduler?.pattern).toBe('30 3 * * *');
    overview = (await api.request('GET', `/api/v1/orgs/${org}/sync-overview`, { token }))
      .json as typeof overview;
    const at = new Date(overview.nextScheduledRunAt ?? '');
    expect([at.getUTCHours(), at.getUTCMinutes()]).toEqual([3, 30]);
    const scheduledJobs = async () =>
      (await syncQueue.getJobs(['delayed', 'waiting', 'prioritized'])).filter(
        (job) => job.data?.orgId === org,
      );
    expect(await scheduledJobs()).toHaveLength(1);

    await put(org, settings(t, { schedule: { enabled: false, every: '6h' } }));
    expect(await syncQueue.getJobScheduler(syncSchedulerId(org))).toBeUndefined();
    overview = (await api.request('GET', `/api/v1/orgs/${org}/sync-overview`, { token }))
      .json as typeof overview;
    expect(overview.nextScheduledRunAt).toBeNull();
    // Nothing of the schedule is left to fire: no job scheduler of the org,
    // and not the job it had scheduled for 03:30 either.
    const schedulers = await syncQueue.getJobSchedulers(0, -1);
    expect(schedulers.map((s) => s.key)).not.toContain(syncSchedulerId(org));
    expect(await scheduledJobs()).toEqual([]);
  });

  async function fireScheduled(org: string): Promise<Run> {
    const delayed = await syncQueue.getDelayed();
    const job = delayed.find((j) => j.data?.orgId === org);
    expect(job).toBeDefined();
    await job!.promote();
    const runs = await waitFor(
      async () => {
        const res = await api.request('GET', `/api/v1/orgs/${org}/syncs?limit=10`, { token });
        const items = (res.json as { items: Run[] }).items.filter((x) => x.trigger === 'schedule');
        return items.find((x) => x.status === 'succeeded' || x.status === 'failed') ?? null;
      },
      { timeoutMs: 30_000, description: 'the scheduled run' },
    );
    return runs;
  }

  it('a scheduled job fires and runs a sync', async () => {
    const t = addTenant();
    const org = orgId();
    await put(org, settings(t, { schedule: { enabled: true, every: '1h' } }));
    const run = await fireScheduled(org);
    expect(run).toMatchObject({ trigger: 'schedule', status: 'succeeded' });
    expect(run.stats.users).toBe(40);
  });

  it('backs off to daily while failing on credentials, and saving settings lifts it and syncs at once', async () => {
    const t = addTenant();
    const org = orgId();
    await put(
      org,
      settings(t, {
        clientSecret: 'wrong~secret-for-backoff',
        schedule: { enabled: true, every: '1h' },
      }),
    );
    const failed = await fireScheduled(org);
    expect(failed.failure?.code).toBe('client_secret_invalid');
    const backedOff = await waitFor(
      async () =>
        (await syncQueue.getJobScheduler(syncSchedulerId(org)))?.every === DAY ? true : null,
      { timeoutMs: 10_000, description: 'the schedule to back off' },
    );
    expect(backedOff).toBe(true);
    // Backed off by the worker, the schedule's jobs still retry as SYNC_ATTEMPTS and
    // SYNC_BACKOFF_MS say (the API made it with them, the worker upserted it again).
    expect((await syncQueue.getJobScheduler(syncSchedulerId(org)))?.template?.opts).toEqual(
      queues.sync.jobOptions(SYNC_RETRIES),
    );

    await put(org, settings(t, { schedule: { enabled: true, every: '1h' } }));
    expect((await syncQueue.getJobScheduler(syncSchedulerId(org)))?.every).toBe(3600_000);
    const started = await waitFor(
      async () => {
        const res = await api.request('GET', `/api/v1/orgs/${org}/syncs?limit=10`, { token });
        const items = (res.json as { items: Run[] }).items;
        return items.find((x) => x.trigger === 'manual' && x.status === 'succeeded') ?? null;
      },
      { timeoutMs: 30_000, description: 'the sync started by saving settings' },
    );
    expect(started.stats.users).toBe(40);
  });
});

describe('secrets', () => {
  it('never appear in a response body or a log line', async () => {
    const t = addTenant();
    const org = orgId();
    await put(org, settings(t));
    await syncNow(org);
    const all = [...api.bodies, ...api.logs, ...workerLogs].join('\n');
    expect(all).not.toContain(t.secret);
    expect(all).not.toContain('not~the-secret-0000');
  });
});
