import {
  newQueuedRun,
  nextRunAt,
  parseSchedule,
  type Run,
  type RunOutcome,
  recordRunOutcome,
} from '@pinnacle/domain';
import type { Stores } from '@pinnacle/redis-store';
import type { RedisFixture } from '@pinnacle/testing/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { syncOverviewSchema } from '../src/index.js';
import { test } from './fixtures.js';
import {
  GROUP_A,
  GROUP_B,
  settingsBody,
  signToken,
  startTestApi,
  type TestApi,
} from './helpers.js';

const DAY = 24 * 3600 * 1000;
// The app's clock is frozen, so days-left and the next run are exact.
const now = new Date();

let r: RedisFixture;
let api: TestApi;
let token: string;
let stores: Stores;

test.beforeAll(async ({ redis, stores: repositories }) => {
  r = redis;
  api = await startTestApi(r, { clock: () => new Date(now) });
  token = await signToken({ org: 'org-ov' });
  stores = repositories;
});
afterAll(async () => {
  await api?.close();
});

const overview = async (orgId = 'org-ov') => {
  const res = await api.request('GET', `/api/v1/orgs/${orgId}/sync-overview`, {
    token: orgId === 'org-ov' ? token : await signToken({ org: '*' }),
  });
  expect(res.status).toBe(200);
  return syncOverviewSchema.parse(res.json);
};

/** Records a finished run in the org's health, as the worker does. */
async function recordHealth(orgId: string, outcome: RunOutcome): Promise<void> {
  const reading = await stores.health.read(orgId);
  const { next } = recordRunOutcome(reading.health, outcome);
  expect(await stores.health.compareAndSet(orgId, reading, next)).toBe(true);
}

function run(id: string, minutesAgo: number, patch: Partial<Run>): Run {
  const createdAt = new Date(now.getTime() - minutesAgo * 60_000);
  return { ...newQueuedRun({ id, orgId: 'org-ov', trigger: 'schedule', createdAt }), ...patch };
}

async function finished(
  id: string,
  minutesAgo: number,
  status: 'succeeded' | 'failed',
): Promise<Run> {
  const queued = run(id, minutesAgo, {});
  await stores.runs.createIfIdle(queued);
  const done: Run = {
    ...queued,
    status,
    stage: status === 'succeeded' ? 'commit' : 'preflight',
    finishedAt: new Date(now.getTime() - minutesAgo * 60_000 + 1000).toISOString(),
    attempts: 1,
    ...(status === 'failed'
      ? {
          failure: {
            code: 'client_secret_expired',
            category: 'credentials',
            title: 'Client secret expired',
            message: 'Authentication with Microsoft Entra ID could not be completed.',
            remediation: ['Generate a new client secret in Entra ID.'],
            retryable: false,
            details: {},
          },
        }
      : {}),
  };
  await stores.runs.save(done);
  await recordHealth(
    'org-ov',
    status === 'succeeded'
      ? { kind: 'succeeded', runId: id, at: done.finishedAt! }
      : {
          kind: 'failed',
          runId: id,
          at: done.finishedAt!,
          code: 'client_secret_expired',
          category: 'credentials',
        },
  );
  return done;
}

describe('sync overview', () => {
  it('answers for an org with nothing yet', async () => {
    const o = await overview('org-nothing');
    expect(o).toEqual({
      orgId: 'org-nothing',
      configured: false,
      status: 'unknown',
      currentRun: null,
      lastRun: null,
      lastSuccessfulRun: null,
      lastSuccessAt: null,
      openFailure: null,
      schedule: null,
      nextScheduledRunAt: null,
      clientSecret: {
        configured: false,
        hint: null,
        expiresAt: null,
        daysLeft: null,
        expired: false,
      },
      authMethod: null,
      certificate: null,
      groups: [],
    });
  });

  it('shows settings, secret expiry in whole days, and the next scheduled run', async () => {
    const expiresAt = new Date(now.getTime() + 10.5 * DAY).toISOString();
    const put = await api.request('PUT', '/api/v1/orgs/org-ov/integration', {
      token,
      body: settingsBody({
        clientSecretExpiresAt: expiresAt,
        schedule: { enabled: true, every: '6h' },
      }),
    });
    expect(put.status).toBe(201);
    const o = await overview();
    expect(o.configured).toBe(true);
    expect(o.clientSecret).toEqual({
      configured: true,
      hint: 'xyz',
      expiresAt,
      daysLeft: 10,
      expired: false,
    });
    const schedule = parseSchedule('6h');
    if (!schedule.ok) throw new Error('6h must parse');
    expect(o.nextScheduledRunAt).toBe(nextRunAt(schedule.schedule, 'org-ov', now).toISOString());
    expect(Date.parse(o.nextScheduledRunAt!)).toBeGreaterThan(now.getTime());
    expect(o.schedule).toEqual({ enabled: true, every: '6h' });
    // No preflight has checked the groups yet.
    expect(o.groups).toEqual([
      { id: GROUP_A, displayName: null, missing: false, lastSeenAt: null },
      { id: GROUP_B, displayName: null, missing: false, lastSeenAt: null },
    ]);
  });

  it('has no next run while the schedule is disabled', async () => {
    await api.request('PUT', '/api/v1/orgs/org-ov/integration', {
      token,
      body: settingsBody({
        clientSecret: undefined,
        clientSecretExpiresAt: undefined,
        schedule: { enabled: false, every: '6h' },
      }),
    });
    const o = await overview();
    expect(o.nextScheduledRunAt).toBeNull();
    expect(o.schedule).toEqual({ enabled: false, every: '6h' });
    // The secret was kept, so its expiry still shows.
    expect(o.clientSecret.daysLeft).toBe(10);
  });

  it('counts days left negative once the secret has expired', async () => {
    const expiresAt = new Date(now.getTime() - 1.5 * DAY).toISOString();
    const res = await api.request('PUT', '/api/v1/orgs/org-ov/integration/client-secret', {
      token,
      body: { clientSecret: 'another-secret-value-777', expiresAt },
    });
    expect(res.status).toBe(200);
    const o = await overview();
    expect(o.clientSecret).toEqual({
      configured: true,
      hint: '777',
      expiresAt,
      daysLeft: -2,
      expired: true,
    });
  });

  it('shows the current, last and last successful runs and the open failure', async () => {
    const success = await finished('run-ok', 300, 'succeeded');
    await finished('run-fail-1', 200, 'failed');
    const lastFail = await finished('run-fail-2', 100, 'failed');
    await stores.runs.createIfIdle(run('run-now', 1, { trigger: 'manual' }));

    const o = await overview();
    expect(o.status).toBe('failing');
    expect(o.currentRun?.id).toBe('run-now');
    expect(o.lastRun).toEqual(lastFail);
    expect(o.lastSuccessfulRun).toEqual(success);
    expect(o.lastSuccessAt).toBe(success.finishedAt);
    expect(o.openFailure).toMatchObject({
      code: 'client_secret_expired',
      category: 'credentials',
      count: 2,
      firstRunId: 'run-fail-1',
      lastRunId: 'run-fail-2',
    });
    expect(o.openFailure?.since).toBe(new Date(now.getTime() - 200 * 60_000 + 1000).toISOString());
  });

  it('names the selected groups as the latest preflight saw them; a deleted one keeps its name', async () => {
    const monday = new Date(now.getTime() - 2 * DAY);
    await stores.selectedGroups.recordCheck('org-ov', monday, [
      { id: GROUP_A, displayName: 'Sales (EMEA)', missing: false },
      { id: GROUP_B, displayName: 'Engineering', missing: false },
    ]);
    expect((await overview()).groups).toEqual([
      {
        id: GROUP_A,
        displayName: 'Sales (EMEA)',
        missing: false,
        lastSeenAt: monday.toISOString(),
      },
      { id: GROUP_B, displayName: 'Engineering', missing: false, lastSeenAt: monday.toISOString() },
    ]);

    const tuesday = new Date(now.getTime() - DAY);
    await stores.selectedGroups.recordCheck('org-ov', tuesday, [
      { id: GROUP_A, displayName: 'Sales (EMEA)', missing: false },
      { id: GROUP_B, displayName: null, missing: true },
    ]);
    expect((await overview()).groups).toEqual([
      {
        id: GROUP_A,
        displayName: 'Sales (EMEA)',
        missing: false,
        lastSeenAt: tuesday.toISOString(),
      },
      { id: GROUP_B, displayName: 'Engineering', missing: true, lastSeenAt: monday.toISOString() },
    ]);
  });
});
