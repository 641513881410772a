import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type Harness, newOrgId } from './support/harness.js';
import { type FixtureTenant, fixtureTenant, settingsFor } from './support/tenants.js';

let h: Harness;
let t: FixtureTenant;

test.beforeAll(async ({ harness }) => {
  h = harness;
  t = fixtureTenant();
  h.sim.addTenant(t.input);
  h.startWorker();
});

async function snapshot(orgId: string) {
  const users: { id: string; groupIds: string[]; accountEnabled: boolean | null }[] = [];
  let cursor: string | undefined;
  do {
    const page = await h.stores.snapshots.readUsers(orgId, { cursor, limit: 7 });
    users.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return users;
}

describe('a sync of nested, overlapping and cyclic groups', () => {
  it('commits every selected user once, with the selected groups they belong to', async () => {
    const orgId = newOrgId();
    const { engineering, platform, sales, cycleA, empty } = t.groups;
    await h.configure(orgId, settingsFor(t, [engineering, sales, cycleA, empty]));
    const run = await h.syncAndWait(orgId);

    expect(run.status).toBe('succeeded');
    expect(run.failure).toBeNull();
    expect(run.attempts).toBe(1);
    const users = await snapshot(orgId);
    const byIndex = (i: number) => users.find((u) => u.id === t.users[i]!.id);
    // engineering: u0..u7 (platform nested) minus disabled u3; sales: u8..u11 + u0 minus u9;
    // cycleA: u12, u13 through the cycle.
    const expected = [0, 1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 13];
    expect(users.map((u) => u.id).sort()).toEqual(expected.map((i) => t.users[i]!.id).sort());
    expect(new Set(users.map((u) => u.id)).size).toBe(users.length);
    expect(byIndex(0)!.groupIds).toEqual([engineering, sales].sort());
    expect(byIndex(6)!.groupIds).toEqual([engineering]);
    expect(byIndex(13)!.groupIds).toEqual([cycleA]);
    expect(byIndex(3)).toBeUndefined();
    expect(users.some((u) => u.groupIds.includes(platform))).toBe(false);
    expect(run.stats).toMatchObject({ users: 12, added: 12, removed: 0, changed: 0, groups: 4 });
    expect(run.stats.graphRequests).toBeGreaterThan(4);
    // One token, from the credential's cache for every Graph request after the first.
    expect(run.stats.tokenRequests).toBe(1);
    // The names preflight saw: in the run, and in the org's record for the overview.
    expect(run.groups).toEqual([
      { id: engineering, displayName: 'Engineering', missing: false },
      { id: sales, displayName: 'Sales', missing: false },
      { id: cycleA, displayName: 'Cycle A', missing: false },
      { id: empty, displayName: 'Empty', missing: false },
    ]);
    const recorded = await h.stores.selectedGroups.list(orgId, [engineering, sales, cycleA, empty]);
    expect(recorded.map((g) => g.displayName)).toEqual([
      'Engineering',
      'Sales',
      'Cycle A',
      'Empty',
    ]);
    expect(recorded.every((g) => !g.missing && g.lastSeenAt !== null)).toBe(true);
    const changes = await h.stores.runChanges.list(orgId, run.id, { limit: 100 });
    expect(changes).toMatchObject({ recorded: true, applied: true, truncated: false });
    expect(changes.items.map((c) => [c.change, c.userId])).toEqual(
      users.map((u) => ['added', u.id]),
    );
  });

  it('includes disabled accounts when the settings say so, and counts the change', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.groups.engineering]));
    const first = await h.syncAndWait(orgId);
    expect(first.stats.users).toBe(7);
    await h.configure(orgId, {
      ...settingsFor(t, [t.groups.engineering]),
      includeDisabledUsers: true,
    });
    const second = await h.syncAndWait(orgId);
    expect(second.status).toBe('succeeded');
    expect(second.stats).toMatchObject({ users: 8, added: 1, removed: 0, changed: 0 });
    const u3 = (await snapshot(orgId)).find((u) => u.id === t.users[3]!.id);
    expect(u3?.accountEnabled).toBe(false);
  });

  it('never attempts a Graph write: a $batch carries only GETs, the token request is the only other POST', async () => {
    const orgId = newOrgId();
    const { engineering, sales, cycleA, empty } = t.groups;
    await h.configure(orgId, settingsFor(t, [engineering, sales, cycleA, empty]));
    const from = h.sim.requests().at(-1)?.seq ?? 0;
    const run = await h.syncAndWait(orgId);
    expect(run.status).toBe('succeeded');

    const requests = h.sim.requests({ tenantId: t.tenantId, afterSeq: from });
    // A $batch is judged by the requests inside it.
    const batches = requests.filter((r) => r.kind === 'graph-batch');
    expect(batches).toHaveLength(1);
    for (const batch of batches) {
      expect(batch).toMatchObject({ method: 'POST', path: '/v1.0/$batch', status: 200 });
      const inside = requests.filter((r) => r.batchSeq === batch.seq);
      expect(inside).toHaveLength(4);
      expect(inside.every((r) => r.method === 'GET')).toBe(true);
    }
    const alone = requests.filter((r) => r.batchSeq === null && r.kind !== 'graph-batch');
    // One members page a group.
    expect(alone.filter((r) => r.kind === 'graph')).toHaveLength(4);
    expect(alone.every((r) => r.method === 'GET' || r.kind === 'token')).toBe(true);
    expect(
      alone.filter((r) => r.method === 'POST').every((r) => r.path.includes('/oauth2/v2.0/token')),
    ).toBe(true);
    expect(h.sim.writeAttempts()).toBe(0);
  });
});

describe('throttling', () => {
  it('rides out a burst of 429s: the sync completes, counts them, and alerts nobody', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.groups.big, t.groups.sales]));
    h.sim.setFaults(t.tenantId, { throttle: { count: 4, retryAfterSeconds: 1 } });
    try {
      const run = await h.syncAndWait(orgId);
      expect(run.status).toBe('succeeded');
      expect(run.stats.throttledRequests).toBe(4);
      expect(run.stats.users).toBe(28);
      expect((await h.notifications.getJobs()).filter((j) => j.data.orgId === orgId)).toEqual([]);
      expect(h.sim.requests().filter((r) => r.status === 429)).toHaveLength(4);
    } finally {
      h.sim.clearFaults(t.tenantId);
    }
  });
});

describe('a sync that outlives its access token', () => {
  const memberPages = (tenantId: string, group: string) =>
    h.sim
      .requests({ tenantId, kind: 'graph' })
      .filter((r) => r.path.includes(`/groups/${group}/transitiveMembers/`));

  it('tokens invalidated mid-fetch: one fresh token, the same page again, the group not restarted', async () => {
    const tenant = fixtureTenant({ users: 3000 });
    h.sim.addTenant(tenant.input);
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(tenant, [tenant.groups.big]));
    // The group check and the first page pass; then every token issued so far stops working.
    h.sim.setFaults(tenant.tenantId, { invalidateTokens: { afterRequests: 2 } });
    const run = await h.syncAndWait(orgId);
    expect(run.status).toBe('succeeded');
    expect(run.attempts).toBe(1);
    expect(run.stats.users).toBe(2998);
    const pages = memberPages(tenant.tenantId, tenant.groups.big);
    expect(pages.map((r) => r.status)).toEqual([200, 401, 200, 200, 200]);
    expect(pages[2]!.path).toBe(pages[1]!.path);
    expect(pages.filter((r) => !r.path.includes('$skiptoken='))).toHaveLength(1);
    expect(run.stats).toMatchObject({ tokenRequests: 2, graphRequests: 6 });
  });

  it('a run of 11 pages spanning three token lifetimes (clock skew 0) completes whole', async () => {
    const lifetimeSeconds = 1;
    const tenant = fixtureTenant({ users: 10_500 });
    h.sim.addTenant(tenant.input);
    h.sim.updateSettings({ clockSkewSeconds: 0 });
    h.sim.updateTenantSettings(tenant.tenantId, { tokenLifetimeSeconds: lifetimeSeconds });
    // 300 ms per Graph request: the group check and eleven pages outlast three lifetimes.
    h.sim.setFaults(tenant.tenantId, { latencyMs: 300 });
    try {
      const orgId = newOrgId();
      await h.configure(orgId, settingsFor(tenant, [tenant.groups.big]));
      const run = await h.syncAndWait(orgId);
      expect(run.status).toBe('succeeded');
      expect(run.attempts).toBe(1);
      expect(run.stats.users).toBe(10_498);
      expect(memberPages(tenant.tenantId, tenant.groups.big).length).toBeGreaterThanOrEqual(11);
      // The premise held: the run outlived three token lifetimes...
      const spannedMs = Date.parse(run.finishedAt!) - Date.parse(run.startedAt!);
      expect(spannedMs).toBeGreaterThanOrEqual(3 * lifetimeSeconds * 1000);
      // ...and renewed its token as it went.
      expect(run.stats.tokenRequests).toBeGreaterThanOrEqual(3);
    } finally {
      h.sim.clearFaults(tenant.tenantId);
      h.sim.updateSettings({ clockSkewSeconds: 300 });
    }
  });
});

describe('the mass-removal guard', () => {
  it('blocks a commit that would remove most users, and lets an explicit override through', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.groups.big]));
    const full = await h.syncAndWait(orgId);
    expect(full.stats.users).toBe(28);

    await h.configure(orgId, settingsFor(t, [t.groups.sales]));
    const blocked = await h.syncAndWait(orgId);
    expect(blocked.status).toBe('failed');
    expect(blocked.stage).toBe('commit');
    expect(blocked.attempts).toBe(1);
    expect(blocked.failure).toMatchObject({
      code: 'mass_removal_blocked',
      category: 'safety',
      retryable: false,
      details: { currentUsers: 28, removedUsers: 24 },
    });
    // The committed snapshot is untouched.
    const before = await snapshot(orgId);
    expect(before).toHaveLength(28);
    // Who it would have removed, with their names, for the admin to check.
    const wouldRemove = await h.stores.runChanges.list(orgId, blocked.id, {
      change: 'removed',
      limit: 100,
    });
    expect(wouldRemove).toMatchObject({
      recorded: true,
      applied: false,
      totals: { removed: 24 },
      truncated: false,
    });
    // Sales keeps u0, u8, u10 and u11 (u9 is disabled).
    const kept = new Set([0, 8, 10, 11].map((i) => t.users[i]?.id));
    expect(wouldRemove.items.map((c) => c.userId)).toEqual(
      before.map((u) => u.id).filter((id) => !kept.has(id)),
    );
    for (const item of wouldRemove.items) {
      const user = t.users.find((u) => u.id === item.userId);
      expect(item).toMatchObject({
        change: 'removed',
        displayName: user?.displayName,
        userPrincipalName: user?.userPrincipalName,
      });
    }

    const allowed = await h.syncAndWait(orgId, { allowMassRemoval: true });
    expect(allowed.status).toBe('succeeded');
    expect(allowed.stats).toMatchObject({ users: 4, removed: 24 });
    expect(await snapshot(orgId)).toHaveLength(4);
    const removed = await h.stores.runChanges.list(orgId, allowed.id, {
      change: 'removed',
      limit: 100,
    });
    expect(removed).toMatchObject({ applied: true, totals: { removed: 24 } });
    expect(removed.items).toEqual(wouldRemove.items);
  });
});

describe('a group deleted mid-sync', () => {
  it('stops with group_not_found and commits nothing', async () => {
    const orgId = newOrgId();
    const tenant = fixtureTenant({ users: 2500 });
    h.sim.addTenant(tenant.input);
    await h.configure(orgId, settingsFor(tenant, [tenant.groups.engineering]));
    const before = await h.syncAndWait(orgId);
    expect(before.status).toBe('succeeded');
    const versionBefore = await h.stores.snapshots.currentVersion(orgId);

    await h.configure(orgId, settingsFor(tenant, [tenant.groups.engineering, tenant.groups.big]));
    // Token + two group lookups + first members pages pass; the big group then vanishes.
    h.sim.setFaults(tenant.tenantId, {
      deleteGroups: [{ groupId: tenant.groups.big, afterRequests: 3 }],
    });
    const run = await h.syncAndWait(orgId);
    expect(run.status).toBe('failed');
    expect(run.stage).toBe('fetch');
    expect(run.failure).toMatchObject({
      code: 'group_not_found',
      details: { groupIds: [tenant.groups.big] },
    });
    expect(await h.stores.snapshots.currentVersion(orgId)).toBe(versionBefore);
    expect(await snapshot(orgId)).toHaveLength(before.stats.users ?? -1);
  });
});

describe('the fleet index', () => {
  it('follows each finished run: failing with its code and since when, then recovered', async () => {
    const orgId = newOrgId();
    const { engineering } = t.groups;
    await h.configure(
      orgId,
      settingsFor(t, [engineering], {
        clientSecret: 'Wrong8Q~not-the-secret-of-this-app',
        schedule: { enabled: true, every: '6h' },
      }),
    );
    // Saved settings put the org in the fleet, never synced.
    expect(await h.stores.fleet.get(orgId)).toMatchObject({ status: 'unknown', lastRunAt: null });
    const failed = await h.syncAndWait(orgId);
    expect(failed.failure?.code).toBe('client_secret_invalid');
    const failing = await h.stores.fleet.get(orgId);
    expect(failing).toMatchObject({
      status: 'failing',
      failureCode: 'client_secret_invalid',
      failingSince: Date.parse(failed.finishedAt ?? ''),
      lastSuccessAt: null,
      scheduleIntervalMs: 6 * 3_600_000,
    });
    const byCode = await h.stores.fleet.page({ code: 'client_secret_invalid' }, { limit: 200 });
    expect(byCode.entries.map((e) => e.orgId)).toContain(orgId);

    await h.configure(
      orgId,
      settingsFor(t, [engineering], { schedule: { enabled: true, every: '6h' } }),
    );
    const succeeded = await h.syncAndWait(orgId);
    expect(succeeded.status).toBe('succeeded');
    const recovered = await h.stores.fleet.get(orgId);
    expect(recovered).toMatchObject({
      status: 'healthy',
      failureCode: null,
      failingSince: null,
      lastSuccessAt: Date.parse(succeeded.finishedAt ?? ''),
      staleAt: Date.parse(succeeded.finishedAt ?? '') + 18 * 3_600_000,
    });
    const stillByCode = await h.stores.fleet.page(
      { code: 'client_secret_invalid' },
      { limit: 200 },
    );
    expect(stillByCode.entries.map((e) => e.orgId)).not.toContain(orgId);
  });
});
