import { randomUUID } from 'node:crypto';
import { integrationSettingsInputSchema } from '@pinnacle/domain';
import type { Simulator } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { startWorkerRole, type WorkerRole } from '@pinnacle/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type NotifierHarness, newOrgId } from './support/harness.js';

/**
 * The real worker hands its failures and recoveries to the real notifier:
 * scheduled runs of an org whose recorded secret expiry has passed (preflight
 * stops before any network), then another failure, then a success against the
 * Entra ID / Graph simulator.
 */
let h: NotifierHarness;
let sim: Simulator;
let worker: WorkerRole;
let sync: TypedQueue<'sync'>;

const tenantId = randomUUID();
const clientId = randomUUID();
const clientSecret = `Sx8~${randomUUID().replace(/-/g, '')}`;
const groupId = randomUUID();

test.beforeAll(async ({ simulator, harness }) => {
  h = harness;
  sim = simulator;
  const users = Array.from({ length: 3 }, (_, i) => ({
    id: randomUUID(),
    displayName: `User ${i}`,
    userPrincipalName: `user${i}@handoff.onmicrosoft.com`,
    mail: null,
    accountEnabled: true,
    givenName: null,
    surname: null,
  }));
  sim.addTenant({
    kind: 'fixture',
    tenantId,
    displayName: 'Handoff',
    domains: ['handoff.onmicrosoft.com'],
    applications: [
      {
        appId: clientId,
        displayName: 'Pinnacle Entra Sync',
        roles: ['User.Read.All', 'GroupMember.Read.All'],
        secrets: [
          {
            keyId: randomUUID(),
            value: clientSecret,
            expiresAt: new Date(Date.now() + 90 * 86_400_000),
          },
        ],
      },
    ],
    users,
    groups: [
      {
        id: groupId,
        displayName: 'Everyone',
        description: null,
        members: users.map((u) => u.id),
        memberGroups: [],
      },
    ],
  });
  const workerEnv = {
    REDIS_URL: h.env.REDIS_URL,
    QUEUE_PREFIX: h.env.QUEUE_PREFIX,
    ENTRA_AUTHORITY_HOST: sim.authorityHost,
    GRAPH_BASE_URL: sim.graphBaseUrl,
    SECRET_ENCRYPTION_KEY: h.secretKey,
    SYNC_CONCURRENCY: 2,
    SYNC_GROUP_CONCURRENCY: 2,
    SYNC_ATTEMPTS: 5,
    SYNC_BACKOFF_MS: 15_000,
    SYNC_LOCK_DURATION_MS: 30_000,
    SYNC_STALLED_INTERVAL_MS: 5_000,
    GRAPH_TIMEOUT_MS: 15_000,
  };
  worker = startWorkerRole(workerEnv, createLogger({ name: 'worker', level: 'silent' }));
  sync = new TypedQueue('sync', {
    connection: h.redis.connect({ maxRetriesPerRequest: null }),
    prefix: h.env.QUEUE_PREFIX,
    env: workerEnv,
  });
  await h.start();
});

afterAll(async () => {
  await worker?.close();
  await sync?.close();
});

/** One scheduled run (as the org's job scheduler adds it), awaited until the notifier has dealt with it. */
async function scheduledRun(orgId: string) {
  const job = await sync.add({ orgId, trigger: 'schedule' });
  await h.finished(sync.queue, job.id!);
  await h.drained(h.raw.notifications);
  await h.drained(h.raw.email);
}

function settings(orgId: string, patch: Record<string, unknown>) {
  return integrationSettingsInputSchema.parse({
    tenantId,
    clientId,
    clientSecret,
    groupIds: [groupId],
    notifications: { email: { enabled: true, recipients: [`admin@${orgId}.test`] } },
    ...patch,
  });
}

describe('worker → notifier', () => {
  it('five scheduled runs failing alike: one email, one entry counting 5; another failure alerts; success recovers', async () => {
    const orgId = newOrgId();
    await h.stores.integrations.put(
      orgId,
      settings(orgId, { clientSecretExpiresAt: new Date(Date.now() - 86_400_000).toISOString() }),
    );
    for (let i = 0; i < 5; i++) await scheduledRun(orgId);

    let inbox = await h.inbox(orgId);
    expect(inbox.map((n) => [n.type, n.failureCode, n.count])).toEqual([
      ['sync_failed', 'client_secret_expired', 5],
    ]);
    expect(h.mailsFor(orgId).map((m) => m.parsed.subject)).toEqual([
      `[${orgId}] Microsoft Entra ID sync failed: client secret expired`,
    ]);
    expect(h.mailsFor(orgId)[0]?.parsed.text).toContain(
      'Authentication with Microsoft Entra ID could not be completed',
    );

    // Groups removed from the selection: a different failure.
    await h.stores.integrations.put(
      orgId,
      settings(orgId, {
        clientSecretExpiresAt: new Date(Date.now() - 86_400_000).toISOString(),
        groupIds: [],
      }),
    );
    await scheduledRun(orgId);
    inbox = await h.inbox(orgId);
    expect(inbox.map((n) => [n.failureCode, n.count])).toEqual([
      ['groups_not_configured', 1],
      ['client_secret_expired', 5],
    ]);

    // Fixed: a valid secret and a group. The next run succeeds and recovers.
    await h.stores.integrations.put(
      orgId,
      settings(orgId, {
        clientSecretExpiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString(),
      }),
    );
    await scheduledRun(orgId);
    inbox = await h.inbox(orgId);
    expect(inbox.map((n) => n.type)).toEqual(['sync_recovered', 'sync_failed', 'sync_failed']);
    expect(inbox[0]?.failureCode).toBe('groups_not_configured');
    expect(h.mailsFor(orgId).map((m) => m.parsed.subject)).toEqual([
      `[${orgId}] Microsoft Entra ID sync failed: client secret expired`,
      `[${orgId}] Microsoft Entra ID sync failed: no groups selected`,
      `[${orgId}] Microsoft Entra ID sync recovered`,
    ]);
    // No secret of any kind in what was sent.
    for (const mail of h.mailsFor(orgId)) expect(mail.raw).not.toContain(clientSecret);
  });
});
