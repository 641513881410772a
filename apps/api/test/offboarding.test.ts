/**
 * Offboarding end to end: DELETE /api/v1/orgs/{orgId}/integration in front
 * of the real worker and notifier roles, the Entra/Graph simulator over
 * HTTPS, an SMTP capture and one Redis. An org with everything (a committed
 * snapshot, runs and their changes, an open failure episode, notifications
 * read and unread, emails, an expiry warning, a schedule) and a sync in
 * flight is deleted; then the whole test prefix is scanned.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Simulator } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { type NotifierRole, startNotifierRole } from '@pinnacle/notifier';
import { syncSchedulerId } from '@pinnacle/queue-contracts';
import { jobsOfOrg, type QueueHandle } from '@pinnacle/queue-runtime';
import { dataPrefix, type GlobalKeySpec, globalKeySpace, orgKeys } from '@pinnacle/redis-store';
import type { RedisClient } from '@pinnacle/testing';
import { type SmtpSink, waitFor } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { startWorkerRole, type WorkerRole } from '@pinnacle/worker';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  addSmallAllTenant,
  ENCRYPTION_KEY,
  requestSyncViaApi,
  type SmallAllTenant,
  signToken,
  startTestApi,
  type TestApi,
  waitForRunViaApi,
} from './helpers.js';

const DAY = 86_400_000;
const SYNC_RETRIES = { SYNC_ATTEMPTS: 2, SYNC_BACKOFF_MS: 50 };
const SECRET = `Off~${randomUUID()}`;

let r: RedisFixture;
let sim: Simulator;
let smtp: SmtpSink;
let api: TestApi;
let worker: WorkerRole;
let notifier: NotifierRole;
let connection: RedisClient;
let queues: QueueHandle[];
let token: string;
const roleLogs: string[] = [];

/** A tenant of 5,000 users: `small` holds 5 of them, `all` every one (six pages). */
const addTenant = () =>
  addSmallAllTenant(sim, { users: 5000, secret: SECRET, displayName: 'Offboarding' });

type Tenant = SmallAllTenant;

function settings(t: Tenant, orgId: string, extra: Record<string, unknown> = {}) {
  return {
    tenantId: t.tenantId,
    clientId: t.clientId,
    clientSecret: SECRET,
    // Within 30 days: the expiry scan warns (an expiry warning, its email).
    clientSecretExpiresAt: new Date(Date.now() + 20 * DAY).toISOString(),
    groupIds: [t.groups.small],
    schedule: { enabled: true, every: '6h' },
    notifications: { email: { enabled: true, recipients: [`admin@${orgId}.test`] } },
    ...extra,
  };
}

const syncNow = (orgId: string) => requestSyncViaApi(api, token, orgId);

const waitForRun = (orgId: string, runId: string) => waitForRunViaApi(api, token, orgId, runId);

const mailsFor = (orgId: string) =>
  smtp.messages().filter((m) => m.parsed.headers['x-pinnacle-org-id'] === orgId);

/** Every key of the test prefix (data and queues) whose name carries the org ID. */
const keysNaming = async (orgId: string) =>
  (await r.keys()).filter((key) => key.includes(orgId)).sort();

/** The global keys (`globalKeySpace`) whose org entries still name the org. */
async function indexesNaming(orgId: string): Promise<string[]> {
  const specs: [string, GlobalKeySpec][] = Object.entries(globalKeySpace(dataPrefix(r.prefix)));
  const found: string[] = [];
  for (const [name, spec] of specs) {
    if (spec.kind !== 'org-index') continue;
    const present =
      spec.type === 'set'
        ? (await connection.sismember(spec.key, orgId)) === 1
        : spec.type === 'zset'
          ? (await connection.zscore(spec.key, orgId)) !== null
          : (await connection.hexists(spec.key, orgId)) === 1;
    if (present) found.push(name);
  }
  return found;
}

/** Keys outside every org's tag, under the data prefix, that globalKeySpace does not list. */
async function unlistedGlobalKeys(): Promise<string[]> {
  const prefix = dataPrefix(r.prefix);
  const specs: GlobalKeySpec[] = Object.values(globalKeySpace(prefix));
  const glob = (g: string) =>
    new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return (await r.keys())
    .filter((key) => key.startsWith(`${prefix}:`) && !key.includes(':{o:'))
    .filter(
      (key) =>
        !specs.some((spec) =>
          spec.kind === 'org-index'
            ? spec.key === key
            : spec.kind === 'no-org'
              ? glob(spec.match).test(key)
              : false,
        ),
    );
}

/** Every job of the org, by name, in the sync, notification and email queues. */
async function jobsNaming(orgId: string): Promise<string[]> {
  const found = await Promise.all(queues.map((q) => jobsOfOrg(q, orgId)));
  return found.flatMap((jobs, i) => jobs.map((j) => `${queues[i]?.key}:${j.id}:${j.state}`));
}

const auditLine = z.object({
  audit: z.literal(true),
  action: z.string(),
  sub: z.string(),
  orgId: z.string(),
  fields: z.array(z.string()),
  target: z.record(z.string(), z.union([z.string(), z.boolean()])).optional(),
});

function auditLines(orgId: string) {
  return api.logs
    .flatMap((chunk) => chunk.split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.audit === true && line.action === 'integration.deleted')
    .map((line) => auditLine.parse(line))
    .filter((line) => line.orgId === orgId);
}

test.beforeAll(async ({ redis, simulator, smtp: smtpSink }) => {
  r = redis;
  sim = simulator;
  smtp = smtpSink;
  api = await startTestApi(r, { env: SYNC_RETRIES });
  const destination = new Writable({
    write(chunk, _enc, done) {
      roleLogs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ name: 'roles', level: 'debug', destination });
  worker = startWorkerRole(
    {
      ...r.env,
      SECRET_ENCRYPTION_KEY: ENCRYPTION_KEY,
      ENTRA_AUTHORITY_HOST: sim.authorityHost,
      GRAPH_BASE_URL: sim.graphBaseUrl,
      SYNC_CONCURRENCY: 4,
      SYNC_GROUP_CONCURRENCY: 4,
      ...SYNC_RETRIES,
      SYNC_LOCK_DURATION_MS: 30_000,
      SYNC_STALLED_INTERVAL_MS: 5_000,
      GRAPH_TIMEOUT_MS: 10_000,
    },
    logger,
  );
  notifier = await startNotifierRole(
    {
      ...r.env,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Pinnacle <alerts@pinnacle.test>',
      PORTAL_BASE_URL: 'https://portal.pinnacle.test',
      NOTIFIER_CONCURRENCY: 4,
      NOTIFIER_EMAIL_CONCURRENCY: 2,
      NOTIFIER_EMAIL_ATTEMPTS: 3,
      NOTIFIER_EMAIL_BACKOFF_MS: 50,
      NOTIFIER_LOCK_DURATION_MS: 10_000,
      NOTIFIER_STALLED_INTERVAL_MS: 5_000,
    },
    logger,
  );
  connection = r.connect();
  queues = (['sync', 'notifications', 'email'] as const).map((key) => ({
    key,
    queue: new Queue(key, { connection, prefix: r.prefix }),
    connection,
  }));
  token = await signToken({ sub: 'portal-backend', org: '*' });
});

afterAll(async () => {
  await worker?.close();
  await notifier?.close();
  for (const q of queues ?? []) await q.queue.close();
  await api?.close();
});

describe('DELETE /api/v1/orgs/{orgId}/integration', () => {
  it('deletes an org that had everything, stops its sync in flight, and leaves no key naming it', async () => {
    const t = addTenant();
    const orgId = `off-${randomUUID().slice(0, 8)}`;
    const other = `kept-${randomUUID().slice(0, 8)}`;
    const create = await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, {
      token,
      body: settings(t, orgId),
    });
    expect(create.status).toBe(201);
    expect(
      (
        await api.request('PUT', `/api/v1/orgs/${other}/integration`, {
          token,
          body: settings(t, other),
        })
      ).status,
    ).toBe(201);

    // A committed snapshot, and the runs that made it, for both orgs.
    expect((await waitForRun(orgId, await syncNow(orgId))).status).toBe('succeeded');
    expect((await waitForRun(other, await syncNow(other))).status).toBe('succeeded');
    // A failure: an open episode, its notification and email, a reminder due.
    const wrong = await api.request('PUT', `/api/v1/orgs/${orgId}/integration/client-secret`, {
      token,
      body: {
        clientSecret: 'Wrong~secret-value-000000000',
        expiresAt: settings(t, orgId).clientSecretExpiresAt,
      },
    });
    expect(wrong.status).toBe(200);
    const failing = await waitForRun(orgId, await syncNow(orgId));
    expect(failing.failure?.code).toBe('client_secret_invalid');
    // The expiry warning: its notification, email and the warnings sent.
    await notifier.scanSecretExpiry();
    await waitFor(() => mailsFor(orgId).length >= 2, {
      timeoutMs: 20_000,
      description: 'the failure and expiry emails',
    });
    // One notification read.
    const inbox = await api.request('GET', `/api/v1/orgs/${orgId}/notifications`, { token });
    const [firstNotification] = (inbox.json as { items: { id: string }[] }).items;
    expect(firstNotification).toBeDefined();
    expect(
      (
        await api.request(
          'POST',
          `/api/v1/orgs/${orgId}/notifications/${firstNotification?.id}/read`,
          { token },
        )
      ).status,
    ).toBe(200);

    // A certificate: its record, its sealed private key, the certificate-expiry index.
    const certificate = await api.request(
      'POST',
      `/api/v1/orgs/${orgId}/integration/certificates`,
      { token, body: { validityDays: 30 } },
    );
    expect(certificate.status).toBe(201);

    // What there is now, and where.
    const k = orgKeys(dataPrefix(r.prefix), orgId);
    const before = await keysNaming(orgId);
    for (const key of [
      k.integration,
      k.health,
      k.episodes,
      k.notifications,
      k.selectedGroups,
      k.certificates,
      k.certificateKeys,
    ]) {
      expect(before, key).toContain(key);
    }
    expect(before.some((key) => key.includes(':snap:') && key.endsWith(':layout'))).toBe(true);
    expect(before.some((key) => key.endsWith(':expiry-warnings'))).toBe(true);
    expect(before.some((key) => key.includes(`:sync:repeat:${syncSchedulerId(orgId)}`))).toBe(true);
    expect(await indexesNaming(orgId)).toEqual(
      expect.arrayContaining([
        'orgs',
        'secretExpiry',
        'remindersDue',
        'fleetEntries',
        'fleetAll',
        'fleetStatus:failing',
        'fleetCode:client_secret_invalid',
        'certificateExpiry',
      ]),
    );
    expect((await jobsNaming(orgId)).length).toBeGreaterThan(4);
    const otherBefore = await keysNaming(other);

    // A sync in flight: the right secret again (a failing org syncs at once
    // when its settings change; Sync Now joins that run), the big group, slow pages.
    sim.setFaults(t.tenantId, { latencyMs: 400 });
    let inFlight: string;
    try {
      await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, {
        token,
        body: settings(t, orgId, { groupIds: [t.groups.all] }),
      });
      inFlight = await syncNow(orgId);
      await waitFor(
        async () => {
          const staged = await connection.hget(k.snapshotStagePlan(inFlight), 'users');
          return Number(staged ?? 0) > 0;
        },
        { timeoutMs: 30_000, intervalMs: 20, description: 'the sync to be mid-fetch' },
      );
      const del = await api.request('DELETE', `/api/v1/orgs/${orgId}/integration`, {
        token: await signToken({ sub: 'alice@contoso.com', org: orgId }),
      });
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
    } finally {
      sim.clearFaults(t.tenantId);
    }

    // The worker stopped without committing, and nothing of the org is left:
    // no key whose name carries its ID, anywhere under the prefix...
    expect(await keysNaming(orgId)).toEqual([]);
    // ...no entry naming it in any global index, no job of it in any queue...
    expect(await indexesNaming(orgId)).toEqual([]);
    expect(await jobsNaming(orgId)).toEqual([]);
    // ...and no key outside the orgs' tags that globalKeySpace does not list.
    expect(await unlistedGlobalKeys()).toEqual([]);
    expect(
      roleLogs.some(
        (l) => l.includes(inFlight) && l.includes('org offboarded while the run was in flight'),
      ),
    ).toBe(true);
    // Nothing comes back later either (a retry, a hand-off, a schedule).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await keysNaming(orgId)).toEqual([]);
    expect(await jobsNaming(orgId)).toEqual([]);
    // The other org is untouched.
    expect(await keysNaming(other)).toEqual(otherBefore);

    // The API answers as for an org never configured.
    expect((await api.request('GET', `/api/v1/orgs/${orgId}/integration`, { token })).status).toBe(
      404,
    );
    const overview = await api.request('GET', `/api/v1/orgs/${orgId}/sync-overview`, { token });
    expect(overview.status).toBe(200);
    const runs = await api.request('GET', `/api/v1/orgs/${orgId}/syncs`, { token });
    expect((runs.json as { items: unknown[] }).items).toEqual([]);
    const orgs = await api.request('GET', '/api/v1/orgs?limit=200', { token });
    expect((orgs.json as { items: { orgId: string }[] }).items.map((o) => o.orgId)).not.toContain(
      orgId,
    );

    // One audit line: who, the org, the settings that were there (names only).
    const [audit, ...more] = auditLines(orgId);
    expect(more).toEqual([]);
    expect(audit).toMatchObject({
      sub: 'alice@contoso.com',
      orgId,
      target: { existed: true },
    });
    expect(audit?.fields).toEqual(
      expect.arrayContaining([
        'tenantId',
        'clientId',
        'clientSecret',
        'groupIds',
        'schedule.every',
      ]),
    );
    expect(api.logs.join('\n')).not.toContain(SECRET);

    // Again: nothing to delete, still 204, audited as such.
    const again = await api.request('DELETE', `/api/v1/orgs/${orgId}/integration`, { token });
    expect(again.status).toBe(204);
    expect(auditLines(orgId)[1]).toMatchObject({ fields: [], target: { existed: false } });

    // Configured afresh, the org syncs as new.
    const fresh = await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, {
      token,
      body: settings(t, orgId),
    });
    expect(fresh.status).toBe(201);
    const run = await waitForRun(orgId, await syncNow(orgId));
    expect(run.status).toBe('succeeded');
    const users = await api.request('GET', `/api/v1/orgs/${orgId}/directory/users?limit=50`, {
      token,
    });
    expect((users.json as { items: unknown[] }).items).toHaveLength(5);
    const history = await api.request('GET', `/api/v1/orgs/${orgId}/syncs`, { token });
    expect((history.json as { items: { id: string }[] }).items.map((i) => i.id)).toEqual([run.id]);
    const freshInbox = await api.request('GET', `/api/v1/orgs/${orgId}/notifications`, { token });
    expect((freshInbox.json as { items: unknown[] }).items).toEqual([]);
    expect(await indexesNaming(orgId)).toEqual(
      expect.arrayContaining(['orgs', 'secretExpiry', 'fleetEntries', 'fleetStatus:healthy']),
    );
    expect(await indexesNaming(orgId)).not.toContain('remindersDue');
  });

  it('is org-scoped: another org’s token is refused and deletes nothing', async () => {
    const orgId = `scoped-${randomUUID().slice(0, 8)}`;
    const t = addTenant();
    await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, {
      token,
      body: settings(t, orgId),
    });
    const before = await keysNaming(orgId);
    const res = await api.request('DELETE', `/api/v1/orgs/${orgId}/integration`, {
      token: await signToken({ org: 'someone-else' }),
    });
    expect(res.status).toBe(403);
    expect(await keysNaming(orgId)).toEqual(before);
  });
});
