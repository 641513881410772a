/**
 * Every write logs one audit line (`audit: true`) naming who, which org, the
 * action and the fields changed, never a secret's value. Read from the api's
 * own log lines.
 */
import { type Notification, notificationSchema } from '@pinnacle/domain';
import { AlertRepository, dataPrefix } from '@pinnacle/redis-store';
import type { RedisFixture } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { test } from './fixtures.js';
import { GROUP_A, settingsBody, signToken, type TestApi } from './helpers.js';

let r: RedisFixture;
let api: TestApi;
const FIRST_SECRET = 'Abc8Q~first-secret-value-0001xyz';
const ROTATED_SECRET = 'Rot8Q~rotated-secret-value-0002';

const auditLine = z.object({
  audit: z.literal(true),
  action: z.string(),
  sub: z.string(),
  tokenOrg: z.string(),
  orgId: z.string(),
  fields: z.array(z.string()),
  target: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  requestId: z.string(),
  msg: z.literal('audit'),
});
type AuditLine = z.infer<typeof auditLine>;

/** The audit lines logged since `from` (an index into the log). */
function auditSince(from: number): AuditLine[] {
  return api.logs
    .slice(from)
    .flatMap((chunk) => chunk.split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.audit === true)
    .map((line) => auditLine.parse(line));
}

/** Runs a write and returns the single audit line it logged. */
async function audited(write: () => Promise<{ status: number }>): Promise<AuditLine> {
  const from = api.logs.length;
  const res = await write();
  expect(res.status).toBeLessThan(300);
  const lines = auditSince(from);
  expect(lines).toHaveLength(1);
  return lines[0] as AuditLine;
}

test.beforeAll(async ({ redis, api: started }) => {
  r = redis;
  api = started;
});

describe('audit log', () => {
  it('settings saved: who, the org, and every field set on creation', async () => {
    const token = await signToken({ sub: 'alice@contoso.com', org: 'org-audit' });
    const line = await audited(() =>
      api.request('PUT', '/api/v1/orgs/org-audit/integration', {
        token,
        body: settingsBody({ clientSecret: FIRST_SECRET }),
      }),
    );
    expect(line).toMatchObject({
      action: 'integration.saved',
      sub: 'alice@contoso.com',
      tokenOrg: 'org-audit',
      orgId: 'org-audit',
      target: { created: true },
    });
    expect(line.fields.sort()).toEqual(
      [
        'tenantId',
        'clientId',
        'clientSecret',
        'clientSecretExpiresAt',
        'groupIds',
        'schedule.enabled',
        'schedule.every',
        'notifications.email.enabled',
        'notifications.email.recipients',
        'includeDisabledUsers',
        'massRemovalGuard.maxRemovedPercent',
        'massRemovalGuard.minRemovedUsers',
        'authMethod',
      ].sort(),
    );
  });

  it('settings saved again: only the fields that differ from before', async () => {
    const token = await signToken({ sub: 'portal-backend', org: '*' });
    const changed = await audited(() =>
      api.request('PUT', '/api/v1/orgs/org-audit/integration', {
        token,
        // No new secret (kept), groups reordered (no change), one group fewer, schedule changed.
        body: settingsBody({
          clientSecret: undefined,
          clientSecretExpiresAt: undefined,
          groupIds: [GROUP_A],
          schedule: { enabled: true, every: '12h' },
        }),
      }),
    );
    expect(changed).toMatchObject({
      action: 'integration.saved',
      sub: 'portal-backend',
      tokenOrg: '*',
      orgId: 'org-audit',
      target: { created: false },
    });
    expect(changed.fields.sort()).toEqual(['groupIds', 'schedule.every']);

    const same = await audited(() =>
      api.request('PUT', '/api/v1/orgs/org-audit/integration', {
        token,
        body: settingsBody({
          clientSecret: undefined,
          clientSecretExpiresAt: undefined,
          groupIds: [GROUP_A],
          schedule: { enabled: true, every: '12h' },
        }),
      }),
    );
    expect(same.fields).toEqual([]);
  });

  it('client secret rotated: the secret and its expiry, never the value', async () => {
    const token = await signToken({ sub: 'bob@contoso.com', org: 'org-audit' });
    const line = await audited(() =>
      api.request('PUT', '/api/v1/orgs/org-audit/integration/client-secret', {
        token,
        body: { clientSecret: ROTATED_SECRET, expiresAt: '2031-01-01T00:00:00Z' },
      }),
    );
    expect(line).toMatchObject({
      action: 'integration.client_secret_rotated',
      sub: 'bob@contoso.com',
      orgId: 'org-audit',
    });
    expect(line.fields.sort()).toEqual(['clientSecret', 'clientSecretExpiresAt']);
  });

  it('certificates: created and retired, with their ID and thumbprint, never a key', async () => {
    const token = await signToken({ sub: 'erin@contoso.com', org: 'org-audit' });
    const from = api.logs.length;
    const created = await audited(() =>
      api.request('POST', '/api/v1/orgs/org-audit/integration/certificates', {
        token,
        body: { validityDays: 90 },
      }),
    );
    const id = created.target?.certificateId;
    expect(created).toMatchObject({
      action: 'certificate.created',
      sub: 'erin@contoso.com',
      orgId: 'org-audit',
      fields: ['certificates'],
      target: {
        certificateId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        thumbprint: expect.stringMatching(/^[0-9A-F]{40}$/),
      },
    });
    // The org is on the client secret: its only certificate may go.
    const retired = await audited(() =>
      api.request('DELETE', `/api/v1/orgs/org-audit/integration/certificates/${id}`, { token }),
    );
    expect(retired).toMatchObject({
      action: 'certificate.retired',
      orgId: 'org-audit',
      target: { certificateId: id, thumbprint: created.target?.thumbprint },
    });
    // Retiring it again changes nothing and logs no audit line.
    const again = await api.request(
      'DELETE',
      `/api/v1/orgs/org-audit/integration/certificates/${id}`,
      { token },
    );
    expect(again.status).toBe(200);
    expect(auditSince(from)).toHaveLength(2);
    expect(api.logs.slice(from).join('')).not.toContain('PRIVATE KEY');
  });

  it('switching the authentication method names it', async () => {
    const token = await signToken({ sub: 'frank@contoso.com', org: 'org-audit' });
    const line = await audited(() =>
      api.request('PUT', '/api/v1/orgs/org-audit/integration', {
        token,
        body: settingsBody({
          clientSecret: undefined,
          clientSecretExpiresAt: undefined,
          groupIds: [GROUP_A],
          schedule: { enabled: true, every: '12h' },
          authMethod: 'certificate',
        }),
      }),
    );
    expect(line.fields).toEqual(['authMethod']);
    await api.request('PUT', '/api/v1/orgs/org-audit/integration', {
      token,
      body: settingsBody({
        clientSecret: undefined,
        clientSecretExpiresAt: undefined,
        groupIds: [GROUP_A],
        schedule: { enabled: true, every: '12h' },
        authMethod: 'client_secret',
      }),
    });
  });

  it('Sync Now: the run it made, and a press that joins it', async () => {
    const token = await signToken({ sub: 'carol@contoso.com', org: 'org-audit' });
    const first = await audited(() =>
      api.request('POST', '/api/v1/orgs/org-audit/syncs', {
        token,
        body: { allowMassRemoval: true },
      }),
    );
    expect(first).toMatchObject({
      action: 'sync.requested',
      sub: 'carol@contoso.com',
      orgId: 'org-audit',
      fields: [],
      target: { runId: expect.any(String), deduplicated: false, allowMassRemoval: true },
    });
    const again = await audited(() =>
      api.request('POST', '/api/v1/orgs/org-audit/syncs', { token }),
    );
    expect(again.target).toEqual({ runId: first.target?.runId, deduplicated: true });
  });

  it('notification read: readAt the first time, nothing the second', async () => {
    const repo = new AlertRepository(r.redis, dataPrefix(r.prefix));
    const at = new Date().toISOString();
    const stored: Notification = notificationSchema.parse({
      id: 'n-audit',
      type: 'sync_failed',
      severity: 'error',
      title: 'Entra ID sync failed',
      message: 'Authentication with Microsoft Entra ID could not be completed.',
      failureCode: 'client_secret_invalid',
      runId: 'run-audit',
      count: 1,
      firstSeenAt: at,
      lastSeenAt: at,
      createdAt: at,
      readAt: null,
      delivery: { inApp: 'delivered', email: 'disabled' },
    });
    await repo.upsertNotification('org-audit', stored);
    const token = await signToken({ sub: 'dave@contoso.com', org: 'org-audit' });
    const read = () =>
      api.request('POST', '/api/v1/orgs/org-audit/notifications/n-audit/read', { token });
    const first = await audited(read);
    expect(first).toMatchObject({
      action: 'notification.read',
      sub: 'dave@contoso.com',
      orgId: 'org-audit',
      fields: ['readAt'],
      target: { notificationId: 'n-audit' },
    });
    expect((await audited(read)).fields).toEqual([]);
  });

  it('all notifications read: readAt and how many, nothing the second time', async () => {
    const repo = new AlertRepository(r.redis, dataPrefix(r.prefix));
    const at = new Date().toISOString();
    for (const id of ['n-all-1', 'n-all-2']) {
      await repo.upsertNotification(
        'org-audit-all',
        notificationSchema.parse({
          id,
          type: 'sync_failed',
          severity: 'error',
          title: 'Entra ID sync failed',
          message: 'Authentication with Microsoft Entra ID could not be completed.',
          failureCode: 'client_secret_invalid',
          runId: 'run-audit',
          count: 1,
          firstSeenAt: at,
          lastSeenAt: at,
          createdAt: at,
          readAt: null,
          delivery: { inApp: 'delivered', email: 'suppressed' },
        }),
      );
    }
    const token = await signToken({ sub: 'erin@contoso.com', org: 'org-audit-all' });
    const readAll = () =>
      api.request('POST', '/api/v1/orgs/org-audit-all/notifications/read-all', { token });
    expect(await audited(readAll)).toMatchObject({
      action: 'notifications.read_all',
      sub: 'erin@contoso.com',
      tokenOrg: 'org-audit-all',
      orgId: 'org-audit-all',
      fields: ['readAt'],
      target: { markedRead: 2 },
    });
    expect(await audited(readAll)).toMatchObject({ fields: [], target: { markedRead: 0 } });
  });

  it('integration deleted: the settings that were there, by name; then nothing to delete', async () => {
    const token = await signToken({ sub: 'erin@contoso.com', org: 'org-audit-gone' });
    await api.request('PUT', '/api/v1/orgs/org-audit-gone/integration', {
      token,
      body: settingsBody({ clientSecret: FIRST_SECRET }),
    });
    const del = () => api.request('DELETE', '/api/v1/orgs/org-audit-gone/integration', { token });
    const first = await audited(del);
    expect(first).toMatchObject({
      action: 'integration.deleted',
      sub: 'erin@contoso.com',
      tokenOrg: 'org-audit-gone',
      orgId: 'org-audit-gone',
      target: { existed: true },
    });
    expect(first.fields).toEqual(
      expect.arrayContaining(['tenantId', 'clientId', 'clientSecret', 'groupIds']),
    );
    const again = await audited(del);
    expect(again).toMatchObject({ fields: [], target: { existed: false } });
  });

  it('a refused write logs no audit line', async () => {
    const from = api.logs.length;
    const other = await signToken({ org: 'org-elsewhere' });
    const forbidden = await api.request('PUT', '/api/v1/orgs/org-audit/integration', {
      token: other,
      body: settingsBody(),
    });
    expect(forbidden.status).toBe(403);
    const token = await signToken({ org: 'org-audit' });
    const invalid = await api.request('PUT', '/api/v1/orgs/org-audit/integration', {
      token,
      body: settingsBody({ tenantId: 'nope' }),
    });
    expect(invalid.status).toBe(400);
    expect(auditSince(from)).toEqual([]);
  });

  it('never carries a secret value', () => {
    const log = api.logs.join('\n');
    expect(log).toContain('"audit":true');
    expect(log).not.toContain(FIRST_SECRET);
    expect(log).not.toContain(ROTATED_SECRET);
  });
});
