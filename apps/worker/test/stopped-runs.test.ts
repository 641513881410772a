import { randomUUID } from 'node:crypto';
import { newQueuedRun } from '@pinnacle/domain';
import type { TenantInput } from '@pinnacle/entra-simulator';
import { syncJobId } from '@pinnacle/queue-contracts';
import { dataPrefix, orgKeys } from '@pinnacle/redis-store';
import { waitFor } from '@pinnacle/testing';
import { test } from '@pinnacle/testing/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { type Harness, newOrgId, startHarness } from './support/harness.js';
import { type FixtureTenant, fixtureTenant, settingsFor } from './support/tenants.js';

/*
 * Bounded Redis: a run that stops short of its commit deletes its staged
 * copy at once, on every path the worker survives; a run past
 * SYNC_MAX_USERS stops `directory_too_large` within a page of it; and a
 * run whose org is offboarded mid-fetch stops, writes nothing back and
 * leaves no job.
 */

const MAX_USERS = 2500;

let h: Harness;
/** 4,000 users; `big` holds them all, `halfA` and `halfB` 2,000 each (none over the ceiling alone). */
let t: FixtureTenant & { halves: { a: string; b: string } };

test.beforeAll(async ({ redis, simulator }) => {
  h = await startHarness({ redis, simulator }, { SYNC_MAX_USERS: MAX_USERS });
  const base = fixtureTenant({ users: 4000 });
  const halves = { a: randomUUID(), b: randomUUID() };
  const ids = base.users.map((u) => u.id);
  (base.input as Extract<TenantInput, { kind: 'fixture' }>).groups?.push(
    {
      id: halves.a,
      displayName: 'First half',
      description: null,
      members: ids.slice(0, 2000),
      memberGroups: [],
    },
    {
      id: halves.b,
      displayName: 'Second half',
      description: null,
      members: ids.slice(2000),
      memberGroups: [],
    },
  );
  t = { ...base, halves };
  h.sim.addTenant(t.input);
  h.startWorker();
});
afterAll(() => h.close());

const prefix = () => dataPrefix(h.env.QUEUE_PREFIX);

/** Every key the run's version has: staging plan and buckets, built buckets, layout. */
async function stagedKeys(orgId: string, runId: string): Promise<string[]> {
  const marker = `{o:${orgId}}:snap:${runId}:`;
  return (await h.redis.keys()).filter((key) => key.includes(marker));
}

/** Users staged in the run's plan so far (null: no plan). */
async function stagedUsers(orgId: string, runId: string): Promise<number | null> {
  const users = await h.redis.redis.hget(
    orgKeys(prefix(), orgId).snapshotStagePlan(runId),
    'users',
  );
  return users === null ? null : Number(users);
}

const memberPages = (group: string) =>
  h.sim
    .requests({ tenantId: t.tenantId, kind: 'graph' })
    .filter((r) => r.path.includes(`/groups/${group}/transitiveMembers/`));

/** Records a manual run and enqueues it (`attempts` of them), leaving `before` to run first. */
async function enqueue(
  orgId: string,
  options: {
    attempts?: number;
    backoffMs?: number;
    before?: (runId: string) => Promise<void>;
  } = {},
): Promise<string> {
  const runId = randomUUID();
  await h.stores.runs.createIfIdle(
    newQueuedRun({ id: runId, orgId, trigger: 'manual', createdAt: new Date() }),
  );
  await options.before?.(runId);
  await h.syncQueue.add(
    `sync ${orgId}`,
    { orgId, runId, trigger: 'manual' },
    {
      jobId: syncJobId(runId),
      attempts: options.attempts ?? 1,
      backoff: { type: 'fixed', delay: options.backoffMs ?? 50 },
    },
  );
  return runId;
}

describe('a stopped run deletes its staged copy at once', () => {
  it('blocking in fetch: a group deleted mid-fetch', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.groups.engineering, t.halves.a]));
    // Two group lookups, then members pages: the half vanishes after its first.
    h.sim.setFaults(t.tenantId, { deleteGroups: [{ groupId: t.halves.a, afterRequests: 4 }] });
    try {
      const run = await h.syncAndWait(orgId);
      expect(run.failure).toMatchObject({ code: 'group_not_found' });
      expect(run.stage).toBe('fetch');
      // It had staged pages (the half's first among them)...
      expect(memberPages(t.halves.a).some((r) => r.status === 200)).toBe(true);
      // ...and none of them is left (before: the copy expired 6 hours later).
      expect(await stagedKeys(orgId, run.id)).toEqual([]);
    } finally {
      h.sim.clearFaults(t.tenantId);
    }
  });

  it('blocking in preflight: a copy an earlier attempt left goes too', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, []));
    const runId = await enqueue(orgId, {
      // As a worker killed mid-fetch would have left it.
      before: async (id) => {
        await h.stores.snapshots.resetStaging(orgId, id, { groupIds: [t.groups.big] });
        await h.stores.snapshots.stagePage(orgId, id, t.groups.big, [
          {
            id: t.users[0]!.id,
            displayName: 'User 0',
            mail: null,
            userPrincipalName: t.users[0]!.userPrincipalName,
            accountEnabled: true,
          },
        ]);
        expect((await stagedKeys(orgId, id)).length).toBeGreaterThan(1);
      },
    });
    const run = await h.waitForRun(orgId, runId);
    expect(run.failure).toMatchObject({ code: 'groups_not_configured' });
    expect(await stagedKeys(orgId, runId)).toEqual([]);
  });

  it('blocking in commit: the mass-removal guard (its would-be removals kept)', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.halves.a]));
    expect((await h.syncAndWait(orgId)).status).toBe('succeeded');
    await h.configure(orgId, settingsFor(t, [t.groups.sales]));
    const run = await h.syncAndWait(orgId);
    expect(run.failure).toMatchObject({ code: 'mass_removal_blocked' });
    expect(await stagedKeys(orgId, run.id)).toEqual([]);
    const wouldRemove = await h.stores.runChanges.list(orgId, run.id, { limit: 1 });
    expect(wouldRemove.totals.removed).toBeGreaterThan(1500);
  });

  /** Enqueues a run of the first half, slowed down, and fails Graph once it has staged a page. */
  async function failMidFetch(orgId: string, options: { attempts: number; backoffMs?: number }) {
    await h.configure(orgId, settingsFor(t, [t.halves.a]));
    h.sim.setFaults(t.tenantId, { latencyMs: 150 });
    const runId = await enqueue(orgId, options);
    await waitFor(async () => ((await stagedUsers(orgId, runId)) ?? 0) > 0, {
      timeoutMs: 20_000,
      description: 'the first page to be staged',
    });
    // Graph stops answering: 503, retried at once until the reader gives up.
    h.sim.setFaults(t.tenantId, { unavailable: { every: 1, retryAfterSeconds: 0 } });
    return runId;
  }

  it('a transient failure on the last attempt', async () => {
    const orgId = newOrgId();
    try {
      const runId = await failMidFetch(orgId, { attempts: 1 });
      const run = await h.waitForRun(orgId, runId);
      expect(run.failure).toMatchObject({ code: 'entra_unreachable' });
      expect(await stagedKeys(orgId, runId)).toEqual([]);
    } finally {
      h.sim.clearFaults(t.tenantId);
    }
  });

  it('a transient failure with attempts left: nothing staged waits out the backoff', async () => {
    const orgId = newOrgId();
    try {
      const runId = await failMidFetch(orgId, { attempts: 2, backoffMs: 600_000 });
      const job = syncJobId(runId);
      await waitFor(async () => (await h.syncQueue.getJobState(job)) === 'delayed', {
        timeoutMs: 20_000,
        description: 'the job to wait for its retry',
      });
      expect((await h.stores.runs.get(orgId, runId))?.status).toBe('queued');
      expect(await stagedKeys(orgId, runId)).toEqual([]);
      // The retry stages afresh and commits.
      h.sim.clearFaults(t.tenantId);
      await (await h.syncQueue.getJob(job))?.promote();
      const run = await h.waitForRun(orgId, runId);
      expect(run.status).toBe('succeeded');
      // Two of them (u3, u9) are disabled accounts.
      expect(run.stats.users).toBe(1998);
    } finally {
      h.sim.clearFaults(t.tenantId);
    }
  });
});

describe('the user ceiling (SYNC_MAX_USERS)', () => {
  it('stops before staging a group whose member count alone is past it', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.groups.big]));
    const run = await h.syncAndWait(orgId);
    expect(run.status).toBe('failed');
    expect(run.stage).toBe('fetch');
    expect(run.attempts).toBe(1);
    expect(run.failure).toMatchObject({
      code: 'directory_too_large',
      category: 'safety',
      retryable: false,
      details: {
        maxUsers: MAX_USERS,
        users: 4000,
        countedFrom: 'group_member_count',
        groupId: t.groups.big,
      },
    });
    expect(run.failure?.message).toContain('4,000 members');
    expect(run.failure?.message).toContain('2,500 users');
    expect(await stagedKeys(orgId, run.id)).toEqual([]);
    expect(await h.stores.snapshots.currentVersion(orgId)).toBeNull();
  });

  it('stops within a page of it when the groups together pass it, and deletes the copy', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.halves.a, t.halves.b]));
    const run = await h.syncAndWait(orgId);
    expect(run.failure).toMatchObject({
      code: 'directory_too_large',
      details: { maxUsers: MAX_USERS, countedFrom: 'staged_users' },
    });
    const counted = Number(run.failure?.details.users);
    expect(counted).toBeGreaterThan(MAX_USERS);
    expect(counted).toBeLessThanOrEqual(MAX_USERS + 999);
    expect(await stagedKeys(orgId, run.id)).toEqual([]);
    expect(await h.stores.snapshots.currentVersion(orgId)).toBeNull();
  });

  it('lets a directory at the ceiling through', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.halves.a]));
    const run = await h.syncAndWait(orgId);
    expect(run.status).toBe('succeeded');
    expect(run.stats.users).toBeLessThanOrEqual(2000);
  });
});

describe('a run whose org is offboarded mid-fetch', () => {
  it('stops without committing, writes nothing back, and its job is gone', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.halves.a]));
    h.sim.setFaults(t.tenantId, { latencyMs: 200 });
    try {
      const runId = await enqueue(orgId, { attempts: 3 });
      await waitFor(async () => ((await stagedUsers(orgId, runId)) ?? 0) > 0, {
        timeoutMs: 20_000,
        description: 'the run to be fetching',
      });
      // Offboarding's Redis part, as DELETE .../integration does it first.
      await h.stores.offboarding.fence(orgId);
      await h.stores.offboarding.sweep(orgId);
      await waitFor(async () => (await h.syncQueue.getJob(syncJobId(runId))) === undefined, {
        timeoutMs: 20_000,
        description: "the run's job to be discarded",
      });
      // Nothing was written back: no key of the org, no hand-off, no schedule.
      expect((await h.redis.keys()).filter((k) => k.includes(orgId))).toEqual([]);
      const handOffs = await h.notifications.getJobs([
        'waiting',
        'delayed',
        'active',
        'completed',
        'failed',
      ]);
      expect(handOffs.filter((j) => j.data.orgId === orgId)).toEqual([]);
      expect(
        h.logLines.some(
          (l) => l.includes(runId) && l.includes('org offboarded while the run was in flight'),
        ),
      ).toBe(true);
    } finally {
      h.sim.clearFaults(t.tenantId);
    }
  });
});
