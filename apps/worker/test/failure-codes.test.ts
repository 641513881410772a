import { randomUUID } from 'node:crypto';
import type { Run } from '@pinnacle/domain';
import {
  type NotificationJob,
  notificationJobId,
  syncJobId,
  syncSchedulerId,
} from '@pinnacle/queue-contracts';
import { orgKeys } from '@pinnacle/redis-store';
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

async function expectStopped(
  orgId: string,
  expected: { code: string; category: string; stage?: string },
) {
  const run = await h.syncAndWait(orgId);
  expect(run.status).toBe('failed');
  expect(run.attempts).toBe(1);
  expect(run.stage).toBe(expected.stage ?? 'preflight');
  expect(run.failure).toMatchObject({
    code: expected.code,
    category: expected.category,
    retryable: false,
  });
  expect(run.failure!.remediation.length).toBeGreaterThan(0);
  // Failed as non-retryable in BullMQ too: one attempt, nothing left waiting.
  const job = await findSyncJob(run.id);
  expect(job?.attemptsMade).toBe(1);
  // The hand-off to the notifier: the run's failure, and the failure
  // episode the worker recorded it in (the org's first: this run opens it),
  // under the job ID the notification queue's rule gives that message.
  expect(run.failure).toMatchObject({ code: expected.code });
  const message: NotificationJob = {
    type: 'sync_failed',
    orgId,
    runId: run.id,
    occurredAt: run.finishedAt!,
    failure: run.failure!,
    episode: { firstRunId: run.id, since: run.finishedAt!, count: 1 },
  };
  const handOff = await h.notifications.getJob(notificationJobId(message));
  expect(handOff?.data).toEqual(message);
  return run;
}

async function findSyncJob(runId: string) {
  const { Queue } = await import('bullmq');
  const q = new Queue('sync', { connection: h.redis.connect(), prefix: h.env.QUEUE_PREFIX });
  try {
    return (await q.getJob(syncJobId(runId))) ?? null;
  } finally {
    await q.close();
  }
}

/** Every message the worker handed to the notifier for an org. */
async function handOffsOf(orgId: string): Promise<NotificationJob[]> {
  const jobs = await h.notifications.getJobs();
  return jobs.map((j) => j.data as NotificationJob).filter((m) => m.orgId === orgId);
}

/** The recovery hand-off of a run, as the worker must have made it. */
/** The hand-off of `run` recovering from the episode `failed` opened (and was alone in). */
function recoveryOf(run: Run, failed: Run): NotificationJob {
  return {
    type: 'sync_recovered',
    orgId: run.orgId,
    runId: run.id,
    occurredAt: run.finishedAt!,
    previousFailureCode: failed.failure!.code,
    episode: { firstRunId: failed.id, since: failed.finishedAt!, count: 1 },
  };
}

describe('preflight stops with a reason the admin can act on', () => {
  it('settings_incomplete: names what is missing', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, { tenantId: t.tenantId, groupIds: [t.groups.sales] });
    const run = await expectStopped(orgId, {
      code: 'settings_incomplete',
      category: 'configuration',
    });
    expect(run.failure!.details.missing).toEqual(['clientId', 'clientSecret']);
  });

  it('settings_invalid: a malformed stored value, field named', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, [t.groups.sales]));
    // A record written by an older version, say: the API never writes this.
    const key = orgKeys(`${h.env.QUEUE_PREFIX}:data`, orgId).integration;
    const stored = JSON.parse((await h.redis.redis.get(key))!);
    stored.clientId = 'not-a-guid';
    await h.redis.redis.set(key, JSON.stringify(stored));
    const run = await expectStopped(orgId, { code: 'settings_invalid', category: 'configuration' });
    expect(run.failure!.details.fields).toEqual(['clientId']);
  });

  it('groups_not_configured', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(t, []));
    await expectStopped(orgId, { code: 'groups_not_configured', category: 'groups' });
  });

  it('client_secret_expired from the recorded expiry, without calling Entra', async () => {
    const orgId = newOrgId();
    const tokenCallsBefore = h.sim.requests().filter((r) => r.path.includes('/oauth2/')).length;
    await h.configure(orgId, {
      ...settingsFor(t, [t.groups.sales]),
      clientSecretExpiresAt: new Date(Date.now() - 86_400_000).toISOString(),
    });
    const run = await expectStopped(orgId, {
      code: 'client_secret_expired',
      category: 'credentials',
    });
    expect(run.failure!.message).toMatch(
      /authentication with Microsoft Entra ID could not be completed/i,
    );
    expect(run.failure!.remediation.join(' ')).toMatch(/new client secret/i);
    expect(h.sim.requests().filter((r) => r.path.includes('/oauth2/')).length).toBe(
      tokenCallsBefore,
    );
  });

  it('client_secret_expired when Entra answers AADSTS7000222', async () => {
    const expired = fixtureTenant({ secretExpiresAt: new Date(Date.now() - 3600_000) });
    h.sim.addTenant(expired.input);
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(expired, [expired.groups.sales]));
    const run = await expectStopped(orgId, {
      code: 'client_secret_expired',
      category: 'credentials',
    });
    expect(run.failure!.details).toMatchObject({ errorCodes: [7000222] });
  });

  it('client_secret_invalid on AADSTS7000215; a GUID-shaped secret gets the "secret ID" hint', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, {
      ...settingsFor(t, [t.groups.sales]),
      clientSecret: 'wrong~secret-value-1234',
    });
    const plain = await expectStopped(orgId, {
      code: 'client_secret_invalid',
      category: 'credentials',
    });
    expect(plain.failure!.details).toMatchObject({ errorCodes: [7000215] });
    expect(plain.failure!.message).not.toMatch(/secret ID/i);

    const pasted = newOrgId();
    await h.configure(pasted, { ...settingsFor(t, [t.groups.sales]), clientSecret: t.secretKeyId });
    const run = await expectStopped(pasted, {
      code: 'client_secret_invalid',
      category: 'credentials',
    });
    expect(run.failure!.message).toMatch(/secret ID/i);
    // The secret never appears in what the admin (or a log) sees.
    expect(JSON.stringify(run)).not.toContain(t.secretKeyId);
  });

  it('app_not_found on AADSTS700016', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, { ...settingsFor(t, [t.groups.sales]), clientId: randomUUID() });
    const run = await expectStopped(orgId, { code: 'app_not_found', category: 'configuration' });
    expect(run.failure!.details).toMatchObject({ errorCodes: [700016] });
  });

  it('tenant_not_found at OpenID metadata discovery (a custom authority host), by GUID and by domain', async () => {
    const byId = newOrgId();
    const unknown = randomUUID();
    await h.configure(byId, { ...settingsFor(t, [t.groups.sales]), tenantId: unknown });
    const a = await expectStopped(byId, { code: 'tenant_not_found', category: 'configuration' });
    expect(a.failure!.details).toEqual({
      endpoint: 'metadata_discovery',
      status: 400,
      error: 'invalid_tenant',
      errorCodes: [90002],
      traceId: expect.any(String),
      correlationId: expect.any(String),
      tenantId: unknown,
    });
    expect(a.failure!.message).toContain(unknown);
    expect(a.failure!.remediation.join(' ')).toContain('Directory (tenant) ID');
    // Entra answered at discovery: no token request was made.
    expect(h.sim.requests().filter((r) => r.path.startsWith(`/${unknown}/oauth2/`))).toEqual([]);

    const byDomain = newOrgId();
    await h.configure(byDomain, {
      ...settingsFor(t, [t.groups.sales]),
      tenantId: 'nobody-here.onmicrosoft.com',
    });
    const b = await expectStopped(byDomain, {
      code: 'tenant_not_found',
      category: 'configuration',
    });
    expect(b.failure!.details).toMatchObject({ tenantId: 'nobody-here.onmicrosoft.com' });
  });

  it('tenant_not_found at the token endpoint (AADSTS90002), as Microsoft hosts answer it', async () => {
    h.sim.updateSettings({ unknownTenantFailsAt: 'token_endpoint' });
    try {
      const orgId = newOrgId();
      const unknown = randomUUID();
      await h.configure(orgId, { ...settingsFor(t, [t.groups.sales]), tenantId: unknown });
      const run = await expectStopped(orgId, {
        code: 'tenant_not_found',
        category: 'configuration',
      });
      expect(run.failure!.details).toMatchObject({
        endpoint: 'token',
        status: 400,
        error: 'invalid_request',
        errorCodes: [90002],
        tenantId: unknown,
      });
    } finally {
      h.sim.updateSettings({ unknownTenantFailsAt: 'metadata_discovery' });
    }
  });

  it('app_disabled on AADSTS7000112, saying the admin must enable the app', async () => {
    const disabled = fixtureTenant();
    h.sim.addTenant(disabled.input);
    h.sim.setFaults(disabled.tenantId, { disableApp: {} });
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(disabled, [disabled.groups.sales]));
    const run = await expectStopped(orgId, { code: 'app_disabled', category: 'configuration' });
    expect(run.failure!.details).toMatchObject({ status: 400, errorCodes: [7000112] });
    expect(run.failure!.remediation.join(' ')).toMatch(/Enabled for users to sign-in/);
  });

  it('access_blocked on AADSTS53003, saying the admin must change the Conditional Access policy', async () => {
    const blocked = fixtureTenant();
    h.sim.addTenant(blocked.input);
    h.sim.setFaults(blocked.tenantId, { blockByConditionalAccess: {} });
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(blocked, [blocked.groups.sales]));
    const run = await expectStopped(orgId, { code: 'access_blocked', category: 'permissions' });
    expect(run.failure!.details).toMatchObject({
      status: 400,
      error: 'invalid_grant',
      errorCodes: [53003],
    });
    expect(run.failure!.remediation.join(' ')).toMatch(/Conditional Access/);
  });

  it('authentication_failed on an AADSTS code not mapped to another failure', async () => {
    const odd = fixtureTenant();
    h.sim.addTenant(odd.input);
    h.sim.setFaults(odd.tenantId, {
      tokenError: { every: 1, status: 400, error: 'invalid_resource', code: 500011 },
    });
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(odd, [odd.groups.sales]));
    const run = await expectStopped(orgId, {
      code: 'authentication_failed',
      category: 'credentials',
    });
    expect(run.failure!.details).toMatchObject({ errorCodes: [500011], endpoint: 'token' });
    expect(run.failure!.remediation[0]).toContain('error?code=500011');
  });

  it('consent_missing lists the missing permissions and links to admin consent', async () => {
    const noConsent = fixtureTenant({ roles: ['User.Read.All'] });
    h.sim.addTenant(noConsent.input);
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(noConsent, [noConsent.groups.sales]));
    const run = await expectStopped(orgId, { code: 'consent_missing', category: 'permissions' });
    expect(run.failure!.details.missingPermissions).toEqual(['GroupMember.Read.All']);
    expect(run.failure!.remediation.join(' ')).toContain(
      `${h.sim.authorityHost.replace(/\/$/, '')}/${noConsent.tenantId}/adminconsent?client_id=${noConsent.clientId}`,
    );
  });

  it('permissions beyond the two needed are a warning, not a failure', async () => {
    const broad = fixtureTenant({ roles: ['User.Read.All', 'GroupMember.Read.All', 'Mail.Read'] });
    h.sim.addTenant(broad.input);
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(broad, [broad.groups.sales]));
    const run = await h.syncAndWait(orgId);
    expect(run.status).toBe('succeeded');
    expect(run.warnings).toEqual([expect.objectContaining({ code: 'excess_permissions' })]);
    expect(run.warnings[0]!.message).toContain('Mail.Read');
  });

  it('group_not_found lists every missing group, not just the first', async () => {
    const orgId = newOrgId();
    const missing = [randomUUID(), randomUUID()].sort();
    await h.configure(orgId, settingsFor(t, [t.groups.sales, ...missing]));
    const run = await expectStopped(orgId, { code: 'group_not_found', category: 'groups' });
    expect([...(run.failure!.details.groupIds as string[])].sort()).toEqual(missing);
    // The run and the org's record keep what the check saw, missing groups too.
    expect(run.groups).toEqual([
      { id: t.groups.sales, displayName: 'Sales', missing: false },
      ...missing.map((id) => ({ id, displayName: null, missing: true })),
    ]);
    const recorded = await h.stores.selectedGroups.list(orgId, [t.groups.sales, ...missing]);
    expect(recorded.map((g) => [g.displayName, g.missing])).toEqual([
      ['Sales', false],
      [null, true],
      [null, true],
    ]);
    expect(Date.parse(recorded[0]!.lastSeenAt!)).toBeGreaterThanOrEqual(Date.parse(run.startedAt!));
  });

  it('a selected group deleted since the last run keeps its last name, marked missing', async () => {
    const tenant = fixtureTenant();
    h.sim.addTenant(tenant.input);
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(tenant, [tenant.groups.sales, tenant.groups.engineering]));
    const ok = await h.syncAndWait(orgId);
    expect(ok.status).toBe('succeeded');
    const seenAt = (await h.stores.selectedGroups.list(orgId, [tenant.groups.engineering]))[0]!
      .lastSeenAt;
    h.sim.setFaults(tenant.tenantId, { deleteGroups: [{ groupId: tenant.groups.engineering }] });
    const failed = await expectStopped(orgId, { code: 'group_not_found', category: 'groups' });
    expect(failed.groups).toContainEqual({
      id: tenant.groups.engineering,
      displayName: null,
      missing: true,
    });
    expect(
      await h.stores.selectedGroups.list(orgId, [tenant.groups.sales, tenant.groups.engineering]),
    ).toEqual([
      expect.objectContaining({ displayName: 'Sales', missing: false }),
      {
        id: tenant.groups.engineering,
        displayName: 'Engineering',
        missing: true,
        lastSeenAt: seenAt,
      },
    ]);
  });
});

describe('transient trouble', () => {
  it('is retried, and reported as entra_unreachable only when every retry failed', async () => {
    const flaky = fixtureTenant();
    h.sim.addTenant(flaky.input);
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(flaky, [flaky.groups.sales]));
    h.sim.setFaults(flaky.tenantId, { unavailable: { every: 1, retryAfterSeconds: 0 } });
    try {
      const run = await h.waitForRun(orgId, await h.syncNow(orgId, { attempts: 2 }), 60_000);
      expect(run.status).toBe('failed');
      expect(run.attempts).toBe(2);
      expect(run.failure).toMatchObject({
        code: 'entra_unreachable',
        category: 'connectivity',
        retryable: false,
      });
    } finally {
      h.sim.clearFaults(flaky.tenantId);
    }
  });

  it('metadata discovery answered 503 is transient, never tenant_not_found', async () => {
    const down = fixtureTenant();
    h.sim.addTenant(down.input);
    h.sim.setFaults(down.tenantId, { entraUnavailable: { every: 1, retryAfterSeconds: 0 } });
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(down, [down.groups.sales]));
    const run = await h.waitForRun(orgId, await h.syncNow(orgId, { attempts: 2 }), 60_000);
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(2);
    expect(run.failure).toMatchObject({
      code: 'entra_unreachable',
      details: { lastReason: 'server_error' },
    });
    const seen = h.sim.requests({ tenantId: down.tenantId });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.every((r) => r.kind === 'discovery' && r.status === 503)).toBe(true);
  });

  it('a 404 that is not Graph speaking (no error code) is transient, never group_not_found', async () => {
    const proxied = fixtureTenant();
    h.sim.addTenant(proxied.input);
    h.sim.setFaults(proxied.tenantId, { graphError: { every: 1, status: 404 } });
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(proxied, [proxied.groups.sales]));
    const run = await h.waitForRun(orgId, await h.syncNow(orgId, { attempts: 2 }), 60_000);
    expect(run.failure).toMatchObject({ code: 'entra_unreachable' });
    expect(run.attempts).toBe(2);
  });

  it('a transient failure that clears up before retries run out is a success', async () => {
    const flaky = fixtureTenant();
    h.sim.addTenant(flaky.input);
    const orgId = newOrgId();
    await h.configure(orgId, settingsFor(flaky, [flaky.groups.sales]));
    // More 503s than one attempt's in-request retries (7 tries), fewer than two attempts'.
    h.sim.setFaults(flaky.tenantId, { unavailable: { count: 8, retryAfterSeconds: 0 } });
    const run = await h.waitForRun(orgId, await h.syncNow(orgId, { attempts: 3 }), 60_000);
    expect(run.status).toBe('succeeded');
    expect(run.attempts).toBe(2);
    expect(await handOffsOf(orgId)).toEqual([]);
  });
});

describe('recovery', () => {
  it('rotating an expired secret and syncing again succeeds and hands off sync_recovered', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, {
      ...settingsFor(t, [t.groups.sales]),
      clientSecretExpiresAt: new Date(Date.now() - 60_000).toISOString(),
    });
    const failed = await h.syncAndWait(orgId);
    expect(failed.failure?.code).toBe('client_secret_expired');

    await h.stores.integrations.rotateSecret(orgId, {
      clientSecret: t.clientSecret,
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    });
    const ok = await h.syncAndWait(orgId);
    expect(ok.status).toBe('succeeded');
    const recovery = recoveryOf(ok, failed);
    expect((await h.notifications.getJob(notificationJobId(recovery)))?.data).toEqual(recovery);
    // A further success is not another recovery.
    const again = await h.syncAndWait(orgId);
    expect(again.status).toBe('succeeded');
    expect(
      await h.notifications.getJob(notificationJobId(recoveryOf(again, failed))),
    ).toBeUndefined();
    expect((await handOffsOf(orgId)).map((m) => m.type).sort()).toEqual([
      'sync_failed',
      'sync_recovered',
    ]);
  });
});

describe('schedule back-off', () => {
  it("a failing org's schedule, backed off by the worker, keeps SYNC_ATTEMPTS and SYNC_BACKOFF_MS", async () => {
    const orgId = newOrgId();
    await h.configure(orgId, {
      ...settingsFor(t, [t.groups.sales]),
      clientSecretExpiresAt: new Date(Date.now() - 60_000).toISOString(),
      schedule: { enabled: true, every: '1h' },
    });
    const failed = await h.syncAndWait(orgId);
    expect(failed.failure?.category).toBe('credentials');

    // The worker upserted the org's job scheduler at daily...
    const scheduler = await h.syncQueue.getJobScheduler(syncSchedulerId(orgId));
    expect(scheduler?.every).toBe(24 * 3600_000);
    // ...with the worker's own retry policy (SYNC_ATTEMPTS 3, SYNC_BACKOFF_MS 50),
    // not BullMQ's or the contract's defaults.
    const policy = {
      attempts: h.env.SYNC_ATTEMPTS,
      backoff: { type: 'exponential', delay: h.env.SYNC_BACKOFF_MS, jitter: 0.5 },
    };
    expect(scheduler?.template?.opts).toMatchObject(policy);
    expect(scheduler?.name).toBe(`sync ${orgId}`);
    // And so does the scheduled job already waiting for the next slot.
    const next = (await h.syncQueue.getDelayed()).filter((j) => j.data.orgId === orgId);
    expect(next.map((j) => [j.name, j.data, j.opts.attempts, j.opts.backoff])).toEqual([
      [`sync ${orgId}`, { orgId, trigger: 'schedule' }, policy.attempts, policy.backoff],
    ]);
  });
});

describe('secrets', () => {
  it('never appear in a log line', () => {
    expect(h.logLines.length).toBeGreaterThan(10);
    const all = h.logLines.join('\n');
    expect(all).not.toContain(t.clientSecret);
    expect(all).not.toContain('wrong~secret-value-1234');
  });
});
