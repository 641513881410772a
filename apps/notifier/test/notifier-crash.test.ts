import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { buildFailure, integrationSettingsInputSchema, newQueuedRun } from '@pinnacle/domain';
import {
  emailJobId,
  type NotificationJob,
  notificationJobId,
  queues,
} from '@pinnacle/queue-contracts';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { createStores, type Stores } from '@pinnacle/redis-store';
import { type SmtpSink, spawnNodeProcess, waitFor } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** The same process, stopping every alert between its in-app write and its email hand-off. */
const PAUSED_AFTER_IN_APP = fileURLToPath(
  new URL('./support/notifier-paused-after-in-app.ts', import.meta.url),
);

let r: RedisFixture;
let smtp: SmtpSink;
let stores: Stores;
let notifications: TypedQueue<'notifications'>;
let email: Queue;
let env: Record<string, string | undefined>;

test.beforeAll(async ({ redis, smtp: sink }) => {
  r = redis;
  smtp = sink;
  const connection = r.connect({ maxRetriesPerRequest: null });
  stores = createStores(connection, r.prefix, randomBytes(32).toString('base64'));
  notifications = new TypedQueue('notifications', { connection, prefix: r.prefix, env: {} });
  email = new Queue(queues.email.name, { connection, prefix: r.prefix });
  env = {
    ...r.processEnv,
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Pinnacle Series <alerts@pinnacle.test>',
    PORTAL_BASE_URL: 'https://portal.pinnacle.test',
    // A dead process's job is taken over within about 3 s.
    NOTIFIER_LOCK_DURATION_MS: '2000',
    NOTIFIER_STALLED_INTERVAL_MS: '1000',
    NOTIFIER_EMAIL_BACKOFF_MS: '100',
    LOG_LEVEL: 'info',
    // No health server: the default port may be taken by another test process.
    NOTIFIER_HEALTH_PORT: '0',
  };
});

afterAll(async () => {
  await email.close();
  await notifications.close();
});

async function jobState(queue: Queue, jobId: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const state = await queue.getJobState(jobId);
      return state === 'completed' || state === 'failed' ? state : null;
    },
    { timeoutMs, intervalMs: 50, description: `${queue.name} job ${jobId} to finish` },
  );
}

describe('notifier process', () => {
  it('SIGKILLed between the in-app alert and the email hand-off: after restart, no channel doubled, none lost', async () => {
    const orgId = `org-${randomUUID().slice(0, 8)}`;
    await stores.integrations.put(
      orgId,
      integrationSettingsInputSchema.parse({
        tenantId: 'contoso.onmicrosoft.com',
        clientId: randomUUID(),
        groupIds: [randomUUID()],
        notifications: { email: { enabled: true, recipients: ['ada@acme.test'] } },
      }),
    );
    const message: NotificationJob = {
      type: 'sync_failed',
      orgId,
      runId: randomUUID(),
      occurredAt: new Date().toISOString(),
      failure: buildFailure('groups_not_configured', {}),
    };
    const alertId = notificationJobId(message);
    // The run it is about, recorded as the worker records it.
    const run = newQueuedRun({
      id: message.runId,
      orgId,
      trigger: 'manual',
      createdAt: new Date(message.occurredAt),
    });
    await stores.runs.createIfIdle(run);
    await stores.runs.save({ ...run, status: 'failed', failure: message.failure });

    const first = spawnNodeProcess(PAUSED_AFTER_IN_APP, { env });
    await first.waitForLine(/notifier ready/, 30_000);
    expect((await notifications.add(message)).id).toBe(alertId);
    await first.waitForLine(/paused after in-app/, 15_000);

    // The kill lands here: in-app stored, the email not yet handed off.
    const stored = (await stores.notifications.list(orgId, { limit: 10 })).items;
    expect(stored.map((n) => [n.id, n.count, n.delivery.email])).toEqual([[alertId, 1, 'pending']]);
    expect(await email.getJob(emailJobId(alertId))).toBeUndefined();
    expect((await first.kill('SIGKILL')).signal).toBe('SIGKILL');

    const second = spawnNodeProcess(MAIN, { env });
    try {
      await second.waitForLine(/notifier ready/, 30_000);
      expect(await jobState(notifications.queue, alertId)).toBe('completed');
      expect(await jobState(email, emailJobId(alertId))).toBe('completed');

      const mails = smtp.messages().filter((m) => m.parsed.headers['x-pinnacle-org-id'] === orgId);
      expect(mails.map((m) => m.parsed.subject)).toEqual([
        `[${orgId}] Microsoft Entra ID sync failed: no groups selected`,
      ]);
      const inbox = (await stores.notifications.list(orgId, { limit: 10 })).items;
      expect(inbox.map((n) => [n.id, n.count, n.delivery])).toEqual([
        [alertId, 1, { inApp: 'delivered', email: 'delivered' }],
      ]);
      // The replay found the alert already applied: counted once.
      const { state } = await stores.alerts.readState(orgId);
      expect(state.open?.count).toBe(1);
      expect(state.recent.filter((a) => a.alertId === alertId)).toHaveLength(1);
    } finally {
      const exit = await second.kill('SIGTERM');
      // Graceful shutdown on SIGTERM.
      expect(exit.code).toBe(0);
    }
  });

  it('refuses bad configuration with a message naming the variable, exit 1', async () => {
    const child = spawnNodeProcess(MAIN, {
      env: { ...env, NOTIFIER_CONCURRENCY: '0', SMTP_URL: 'http://not-smtp' },
    });
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    const stderr = child.stderrLines().join('\n');
    expect(stderr).toContain('NOTIFIER_CONCURRENCY');
    expect(stderr).toContain('SMTP_URL');
  });
});
