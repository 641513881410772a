import { randomUUID } from 'node:crypto';
import {
  buildFailure,
  DEFAULT_EMAIL_CAP,
  integrationSettingsInputSchema,
  type Notification,
} from '@pinnacle/domain';
import type { Simulator } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { metricDefinitions, readRecordedMetrics } from '@pinnacle/metrics';
import { type NotificationJob, notificationJobId } from '@pinnacle/queue-contracts';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { waitFor } from '@pinnacle/testing';
import { startWorkerRole, type WorkerRole } from '@pinnacle/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { formatInstant } from '../src/alerts/alert-text.js';
import { startNotifierRole } from '../src/index.js';
import { test } from './support/fixtures.js';
import { type NotifierHarness, newOrgId } from './support/harness.js';

/**
 * The alternating-codes attack on the email channel, through the real
 * worker and notifier, Redis and an SMTP capture: an org admin lists 50
 * outside addresses, then saves settings without a client ID, then without
 * groups, again and again; each run opens a new failure episode. The org's
 * email cap (defaults: 5 an hour, 20 a day) bounds the mail; every alert
 * still lands in-app, the held-back ones say so; recoveries and expiry
 * warnings still go out.
 */
let h: NotifierHarness;
let sim: Simulator;
let worker: WorkerRole;
let sync: TypedQueue<'sync'>;

const tenantId = randomUUID();
const clientId = randomUUID();
const clientSecret = `Sx8~${randomUUID().replace(/-/g, '')}`;
const groupId = randomUUID();
const outsiders = Array.from({ length: 50 }, (_, i) => `victim${i}@outside.test`);

test.beforeAll(async ({ simulator, harness }) => {
  h = harness;
  sim = simulator;
  const user = {
    id: randomUUID(),
    displayName: 'Only User',
    userPrincipalName: 'only@cap.onmicrosoft.com',
    mail: null,
    accountEnabled: true,
    givenName: null,
    surname: null,
  };
  sim.addTenant({
    kind: 'fixture',
    tenantId,
    displayName: 'Cap',
    domains: ['cap.onmicrosoft.com'],
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
    users: [user],
    groups: [
      {
        id: groupId,
        displayName: 'Everyone',
        description: null,
        members: [user.id],
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
  // The defaults: NOTIFIER_EMAIL_CAP_PER_HOUR and _PER_DAY unset.
  await h.start();
});

afterAll(async () => {
  await worker?.close();
  await sync?.close();
});

const DAY = 86_400_000;

function settings(patch: Record<string, unknown>) {
  return integrationSettingsInputSchema.parse({
    tenantId,
    clientId,
    clientSecret,
    clientSecretExpiresAt: new Date(Date.now() + 90 * DAY).toISOString(),
    groupIds: [groupId],
    notifications: { email: { enabled: true, recipients: outsiders } },
    ...patch,
  });
}

/** One run (as the org's job scheduler adds it), awaited until the notifier has dealt with it, emails included. */
async function run(orgId: string) {
  const job = await sync.add({ orgId, trigger: 'schedule' });
  await h.finished(sync.queue, job.id!);
  await h.drained(h.raw.notifications);
  await h.drained(h.raw.email);
}

const HELD_BACK = 'Email held back';

describe('email cap: the alternating-codes attack', () => {
  const orgId = newOrgId();
  const RUNS = 12;
  let inbox: Notification[];

  it('sends no more than the cap; every run still alerts in-app, the held-back ones say until when', async () => {
    for (let i = 0; i < RUNS; i++) {
      // Saved without a client ID, then without groups, again and again.
      await h.stores.integrations.put(
        orgId,
        settings(i % 2 === 0 ? { clientId: undefined } : { groupIds: [] }),
      );
      await run(orgId);
    }

    const mails = h.mailsFor(orgId);
    expect(mails).toHaveLength(DEFAULT_EMAIL_CAP.perHour);
    // Each of them to all 50 addresses: the cap bounds messages, and with them every address's mail.
    for (const mail of mails) expect(mail.envelope.to).toHaveLength(outsiders.length);

    inbox = (await h.inbox(orgId)).reverse(); // oldest first
    expect(inbox).toHaveLength(RUNS);
    expect(inbox.map((n) => n.failureCode)).toEqual(
      Array.from({ length: RUNS }, (_, i) =>
        i % 2 === 0 ? 'settings_incomplete' : 'groups_not_configured',
      ),
    );
    const sent = inbox.slice(0, DEFAULT_EMAIL_CAP.perHour);
    const held = inbox.slice(DEFAULT_EMAIL_CAP.perHour);
    for (const n of sent) {
      expect(n.delivery).toEqual({ inApp: 'delivered', email: 'delivered' });
      expect(n.message).not.toContain(HELD_BACK);
    }
    // Until the first email is an hour old.
    const until = formatInstant(new Date(Date.parse(inbox[0]!.createdAt) + 3600_000).toISOString());
    for (const n of held) {
      expect(n.delivery).toEqual({ inApp: 'delivered', email: 'suppressed' });
      expect(n.message).toContain(HELD_BACK);
      expect(n.message).toContain('(5 an hour, 20 a day)');
      expect(n.message).toContain(`Emails can go out again from ${until}`);
    }
    // Nothing queued for them: only the sent ones have email jobs.
    const emailJobs = (
      await h.raw.email.getJobs(['completed', 'failed', 'waiting', 'delayed'])
    ).filter((j) => (j.data as { orgId?: string }).orgId === orgId);
    expect(emailJobs).toHaveLength(DEFAULT_EMAIL_CAP.perHour);
    const log = (await h.stores.alerts.readState(orgId)).state.emailsSentAt;
    expect(log).toHaveLength(DEFAULT_EMAIL_CAP.perHour);
    // Counted in the fleet's metrics as their own outcome (recorded without waiting on it).
    await waitFor(
      async () => {
        const recorded = await readRecordedMetrics(h.redis.redis, h.env.QUEUE_PREFIX);
        const series = recorded.counters
          .find((c) => c.definition.name === metricDefinitions.notifications.name)
          ?.series.find((s) => s.labels.channel === 'email' && s.labels.outcome === 'suppressed');
        return series?.value === RUNS - DEFAULT_EMAIL_CAP.perHour ? true : null;
      },
      { timeoutMs: 5_000, description: 'the suppressed emails in the metrics' },
    );
  });

  it('a repeat of a held-back episode keeps saying so', async () => {
    // Still without groups: the open episode again (count 2), no email.
    await run(orgId);
    const [latest] = await h.inbox(orgId);
    expect(latest).toMatchObject({ failureCode: 'groups_not_configured', count: 2 });
    expect(latest?.delivery.email).toBe('suppressed');
    expect(latest?.message).toContain(HELD_BACK);
    expect(h.mailsFor(orgId)).toHaveLength(DEFAULT_EMAIL_CAP.perHour);
  });

  it('retried notification jobs count nothing twice and never turn a held-back email into a send', async () => {
    const before = await h.stores.alerts.readState(orgId);
    // As if the hour had passed since: the cap would let emails out again now.
    expect(
      await h.stores.alerts.commit(orgId, before.raw, { ...before.state, emailsSentAt: [] }, null),
    ).toBe(true);
    // Retry every completed notification job of the org: held-back and sent alerts alike.
    const jobs = (await h.raw.notifications.getJobs(['completed'])).filter(
      (j) => (j.data as NotificationJob).orgId === orgId,
    );
    expect(jobs.length).toBeGreaterThanOrEqual(RUNS);
    for (const job of jobs) await job.retry('completed');
    for (const job of jobs)
      expect(await h.finished(h.raw.notifications, job.id!)).toBe('completed');
    await h.drained(h.raw.email);

    expect(h.mailsFor(orgId)).toHaveLength(DEFAULT_EMAIL_CAP.perHour);
    const after = await h.inbox(orgId);
    expect(after.filter((n) => n.delivery.email === 'suppressed')).toHaveLength(
      RUNS - DEFAULT_EMAIL_CAP.perHour,
    );
    // Nothing was logged by the replays.
    expect((await h.stores.alerts.readState(orgId)).state.emailsSentAt ?? []).toEqual([]);
  });

  it('recovery still emails past the cap', async () => {
    // The log as it was: the cap is full again.
    const state = await h.stores.alerts.readState(orgId);
    const full = Array.from({ length: 5 }, (_, i) => Date.now() - i * 60_000).reverse();
    await h.stores.alerts.commit(orgId, state.raw, { ...state.state, emailsSentAt: full }, null);

    await h.stores.integrations.put(orgId, settings({}));
    await run(orgId);
    const [recovery] = await h.inbox(orgId);
    expect(recovery).toMatchObject({
      type: 'sync_recovered',
      failureCode: 'groups_not_configured',
      delivery: { inApp: 'delivered', email: 'delivered' },
    });
    expect(recovery?.message).not.toContain(HELD_BACK);
    const mails = h.mailsFor(orgId);
    expect(mails).toHaveLength(DEFAULT_EMAIL_CAP.perHour + 1);
    expect(mails.at(-1)?.parsed.subject).toBe(`[${orgId}] Microsoft Entra ID sync recovered`);
    // Exempt: not logged against the cap.
    expect((await h.stores.alerts.readState(orgId)).state.emailsSentAt).toEqual(full);
  });

  it('expiry warnings still email past the cap, each threshold once', async () => {
    const now = new Date();
    await h.stores.integrations.put(
      orgId,
      settings({ clientSecretExpiresAt: new Date(now.getTime() + 10 * DAY).toISOString() }),
    );
    const before = h.mailsFor(orgId).length;
    await h.runMaintenanceAt('scan_secret_expiry', now);
    await h.runMaintenanceAt('scan_secret_expiry', new Date(now.getTime() + 3600_000));
    const mails = h.mailsFor(orgId).slice(before);
    expect(mails.map((m) => m.parsed.subject)).toEqual([
      `[${orgId}] Microsoft Entra ID client secret expires in 10 days`,
    ]);
    const [warning] = await h.inbox(orgId);
    expect(warning).toMatchObject({
      type: 'client_secret_expiring',
      delivery: { inApp: 'delivered', email: 'delivered' },
    });
  });
});

describe('email cap: shared by every notifier', () => {
  it("two notifiers taking one org's alerts at once send no more than the cap between them", async () => {
    const second = await startNotifierRole(h.env, createLogger({ name: 'n2', level: 'silent' }));
    try {
      const orgId = newOrgId();
      await h.configure(orgId);
      const failures = [
        buildFailure('settings_incomplete', { missing: ['clientId'] }),
        buildFailure('groups_not_configured', {}),
      ];
      // Sixteen episodes, each its own (the worker's reference), all at one instant so that
      // none is stale whatever order the two notifiers take them in: each alerts.
      const occurredAt = new Date().toISOString();
      const messages: NotificationJob[] = Array.from({ length: 16 }, (_, i) => {
        const runId = randomUUID();
        return {
          type: 'sync_failed',
          orgId,
          runId,
          occurredAt,
          failure: failures[i % 2]!,
          episode: { firstRunId: runId, since: occurredAt, count: 1 },
        };
      });
      await Promise.all(messages.map((m) => h.handOff(m)));
      for (const m of messages) {
        expect(await h.finished(h.raw.notifications, notificationJobId(m))).toBe('completed');
      }
      await h.drained(h.raw.email);
      expect(h.mailsFor(orgId)).toHaveLength(DEFAULT_EMAIL_CAP.perHour);
      expect((await h.stores.alerts.readState(orgId)).state.emailsSentAt).toHaveLength(
        DEFAULT_EMAIL_CAP.perHour,
      );
      const inbox = await h.inbox(orgId);
      expect(inbox).toHaveLength(messages.length);
      const suppressed = inbox.filter((n) => n.delivery.email === 'suppressed');
      expect(suppressed).toHaveLength(messages.length - DEFAULT_EMAIL_CAP.perHour);
      for (const n of suppressed) expect(n.message).toContain(HELD_BACK);
    } finally {
      await second.close();
    }
  });
});
