import { randomUUID } from 'node:crypto';
import { buildFailure, type SyncFailure } from '@pinnacle/domain';
import { emailJobId, type NotificationJob, notificationJobId } from '@pinnacle/queue-contracts';
import { waitFor } from '@pinnacle/testing';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type NotifierHarness, newOrgId, PORTAL } from './support/harness.js';

let h: NotifierHarness;

test.beforeAll(async ({ harness }) => {
  h = harness;
  await h.start();
});

const T0 = Date.UTC(2026, 2, 2, 6, 0, 0);
const HOUR = 3600 * 1000;
const at = (ms: number) => new Date(T0 + ms).toISOString();

const expired = buildFailure(
  'client_secret_expired',
  { expiresAt: '2026-03-01T00:00:00.000Z', source: 'recorded_expiry' },
  { clientId: '11111111-2222-3333-4444-555555555555' },
);
const noConsent = buildFailure('consent_missing', { missingPermissions: ['GroupMember.Read.All'] });

function syncFailed(orgId: string, occurredAt: string, failure: SyncFailure = expired) {
  return {
    type: 'sync_failed',
    orgId,
    runId: randomUUID(),
    occurredAt,
    failure,
  } as const satisfies NotificationJob;
}
function syncRecovered(orgId: string, occurredAt: string, previousFailureCode: string) {
  return {
    type: 'sync_recovered',
    orgId,
    runId: randomUUID(),
    occurredAt,
    previousFailureCode,
  } as const satisfies NotificationJob;
}

/** Hands the messages off and waits until the notifier has fully dealt with them, emails included. */
async function deliver(...messages: NotificationJob[]) {
  await Promise.all(messages.map((m) => h.handOff(m)));
  for (const m of messages) {
    expect(await h.finished(h.raw.notifications, notificationJobId(m))).toBe('completed');
  }
  await h.drained(h.raw.email);
}

/** The email job of an alert has finished (or there is none). */
async function emailSettled(message: NotificationJob) {
  const id = emailJobId(notificationJobId(message));
  if ((await h.raw.email.getJob(id)) === undefined) return null;
  return h.finished(h.raw.email, id);
}

describe('each notification type: in-app entry and received email', () => {
  it('sync_failed', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, { recipients: ['ada@acme.test', 'bob@acme.test'] });
    const message = syncFailed(orgId, at(0));
    await deliver(message);
    expect(await emailSettled(message)).toBe('completed');

    const [entry, ...others] = await h.inbox(orgId);
    expect(others).toEqual([]);
    expect(entry).toEqual({
      id: notificationJobId(message),
      type: 'sync_failed',
      severity: 'error',
      title: expired.title,
      message: expired.message,
      failureCode: 'client_secret_expired',
      runId: message.runId,
      count: 1,
      firstSeenAt: at(0),
      lastSeenAt: at(0),
      createdAt: at(0),
      readAt: null,
      delivery: { inApp: 'delivered', email: 'delivered' },
    });

    const [mail, ...more] = h.mailsFor(orgId);
    expect(more).toEqual([]);
    expect(mail?.envelope.to.sort()).toEqual(['ada@acme.test', 'bob@acme.test']);
    expect(mail?.parsed.from).toEqual({ address: 'alerts@pinnacle.test', name: 'Pinnacle Series' });
    expect(mail?.parsed.subject).toBe(
      `[${orgId}] Microsoft Entra ID sync failed: client secret expired`,
    );
    expect(mail?.parsed.messageId).toBe(`<${notificationJobId(message)}.${orgId}@pinnacle.test>`);
    const text = mail?.parsed.text ?? '';
    expect(text).toContain(expired.message);
    for (const [i, step] of expired.remediation.entries()) {
      expect(text).toContain(`${i + 1}. ${step}`);
    }
    expect(text).toMatch(/Started:\s+2026-03-02 06:00 UTC/);
    expect(text).toContain(`${PORTAL}/orgs/${orgId}/integrations/entra-id`);
    const html = mail?.parsed.html ?? '';
    expect(html).toContain('Microsoft Entra ID sync failed: Client secret expired');
    expect(html).toContain(`href="${PORTAL}/orgs/${orgId}/integrations/entra-id"`);
    expect(html).toContain('Generate a new client secret in Entra ID');
    // Over the wire: a multipart message with both parts and the deterministic Message-ID.
    expect(mail?.raw).toMatch(/Content-Type: multipart\/alternative/i);
    // Folded onto the next line when long: match across the folding whitespace.
    expect(mail?.raw).toMatch(
      new RegExp(`Message-ID:\\s+<${notificationJobId(message)}\\.${orgId}@pinnacle\\.test>`),
    );
  });

  it('sync_recovered', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    const failure = syncFailed(orgId, at(0));
    const recovery = syncRecovered(orgId, at(2 * HOUR), 'client_secret_expired');
    await deliver(failure);
    await deliver(recovery);
    expect(await emailSettled(recovery)).toBe('completed');

    const inbox = await h.inbox(orgId);
    expect(inbox.map((n) => n.type)).toEqual(['sync_recovered', 'sync_failed']);
    expect(inbox[0]).toMatchObject({
      id: notificationJobId(recovery),
      severity: 'info',
      title: 'Microsoft Entra ID sync recovered',
      failureCode: 'client_secret_expired',
      runId: recovery.runId,
      delivery: { inApp: 'delivered', email: 'delivered' },
    });
    expect(inbox[0]?.message).toContain(`run ${recovery.runId} succeeded`);

    const mails = h.mailsFor(orgId);
    expect(mails.map((m) => m.parsed.subject)).toEqual([
      `[${orgId}] Microsoft Entra ID sync failed: client secret expired`,
      `[${orgId}] Microsoft Entra ID sync recovered`,
    ]);
    const recoveryMail = mails[1];
    expect(recoveryMail?.parsed.text).toContain(
      'client secret expired, first seen 2026-03-02 06:00 UTC over 1 failed run',
    );
    expect(recoveryMail?.parsed.html).toContain(
      'Users and group memberships are being updated again.',
    );
    // Threaded under the failure's email.
    expect(recoveryMail?.parsed.headers.references).toBe(mails[0]?.parsed.messageId);
  });

  it('client_secret_expiring', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    const message: NotificationJob = {
      type: 'client_secret_expiring',
      orgId,
      expiresAt: '2026-03-16T00:00:00.000Z',
      thresholdDays: 14,
      daysLeft: 13,
      occurredAt: at(0),
    };
    await deliver(message);
    expect(await emailSettled(message)).toBe('completed');
    const [entry] = await h.inbox(orgId);
    expect(entry).toMatchObject({
      id: notificationJobId(message),
      type: 'client_secret_expiring',
      severity: 'warning',
      title: 'Client secret expires in 13 days',
      failureCode: null,
      runId: null,
      delivery: { inApp: 'delivered', email: 'delivered' },
    });
    const [mail] = h.mailsFor(orgId);
    expect(mail?.parsed.subject).toBe(
      `[${orgId}] Microsoft Entra ID client secret expires in 13 days`,
    );
    expect(mail?.parsed.text).toContain('expires on 2026-03-16 00:00 UTC');
    expect(mail?.parsed.text).toContain(
      'Certificates & secrets → Client secrets → New client secret',
    );
    expect(mail?.parsed.html).toContain('Certificates &amp; secrets');
  });

  it('client_secret_expired', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    const message: NotificationJob = {
      type: 'client_secret_expired',
      orgId,
      expiresAt: '2026-03-02T00:00:00.000Z',
      occurredAt: at(0),
    };
    await deliver(message);
    expect(await emailSettled(message)).toBe('completed');
    const [entry] = await h.inbox(orgId);
    expect(entry).toMatchObject({
      type: 'client_secret_expired',
      severity: 'error',
      title: 'Client secret expired',
      delivery: { inApp: 'delivered', email: 'delivered' },
    });
    const [mail] = h.mailsFor(orgId);
    expect(mail?.parsed.subject).toBe(
      `[${orgId}] Microsoft Entra ID sync stopped: client secret expired`,
    );
    expect(mail?.parsed.text).toContain('expired on 2026-03-02 00:00 UTC');
    expect(mail?.parsed.text).toContain('Run Sync Now to confirm');
  });
});

describe('failure episodes', () => {
  it('five runs failing the same way: one email, one inbox entry counting 5; a new code alerts; success recovers', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    const runs = [0, 1, 2, 3, 4].map((i) => syncFailed(orgId, at(i * HOUR)));
    // All five at once: the notifier handles them concurrently.
    await deliver(...runs);

    let inbox = await h.inbox(orgId);
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({
      id: notificationJobId(runs[0] as NotificationJob),
      count: 5,
      firstSeenAt: at(0),
      lastSeenAt: at(4 * HOUR),
      runId: runs[4]?.runId,
      delivery: { email: 'delivered' },
    });
    expect(h.mailsFor(orgId)).toHaveLength(1);
    const emailJobs = await Promise.all(
      runs.map((r) => h.raw.email.getJob(emailJobId(notificationJobId(r)))),
    );
    expect(emailJobs.filter(Boolean)).toHaveLength(1);

    const other = syncFailed(orgId, at(5 * HOUR), noConsent);
    await deliver(other);
    inbox = await h.inbox(orgId);
    expect(inbox.map((n) => [n.failureCode, n.count])).toEqual([
      ['consent_missing', 1],
      ['client_secret_expired', 5],
    ]);
    expect(h.mailsFor(orgId).map((m) => m.parsed.subject)).toEqual([
      `[${orgId}] Microsoft Entra ID sync failed: client secret expired`,
      `[${orgId}] Microsoft Entra ID sync failed: admin consent missing`,
    ]);

    const success = syncRecovered(orgId, at(6 * HOUR), 'consent_missing');
    await deliver(success);
    inbox = await h.inbox(orgId);
    expect(inbox.map((n) => n.type)).toEqual(['sync_recovered', 'sync_failed', 'sync_failed']);
    expect(inbox[0]?.message).toContain('admin consent missing');
    const subjects = h.mailsFor(orgId).map((m) => m.parsed.subject);
    expect(subjects).toHaveLength(3);
    expect(subjects[2]).toBe(`[${orgId}] Microsoft Entra ID sync recovered`);

    // A re-sent hand-off of any of them (the worker retrying) changes nothing.
    await Promise.all([...runs, other, success].map((m) => h.handOff(m)));
    await h.drained(h.raw.notifications);
    await h.drained(h.raw.email);
    expect((await h.inbox(orgId)).map((n) => n.count)).toEqual([1, 1, 5]);
    expect(h.mailsFor(orgId)).toHaveLength(3);
  });

  it('reminds a day later while the failure stays open, in the same thread', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    const first = syncFailed(orgId, at(0));
    await deliver(first);
    await deliver(syncFailed(orgId, at(6 * HOUR)));
    await deliver(syncFailed(orgId, at(25 * HOUR)));
    const mails = h.mailsFor(orgId);
    expect(mails.map((m) => m.parsed.subject)).toEqual([
      `[${orgId}] Microsoft Entra ID sync failed: client secret expired`,
      `[${orgId}] Reminder: Microsoft Entra ID sync still failing: client secret expired`,
    ]);
    expect(mails[1]?.parsed.text).toContain('has stopped 3 runs so far');
    expect(mails[1]?.parsed.headers['in-reply-to']).toBe(mails[0]?.parsed.messageId);
    const [entry] = await h.inbox(orgId);
    expect(entry).toMatchObject({ count: 3, delivery: { email: 'delivered' } });
  });

  it("follows the worker's episodes: the same code after a recovery still on its way is a new episode", async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    // As the worker hands them off: failed, failed again, recovered, failed
    // again with the same code (a second episode, opened by its own run).
    const [r1, r2, r3, r4] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const first = { ...syncFailed(orgId, at(0)), runId: r1 };
    const repeat = { ...syncFailed(orgId, at(HOUR)), runId: r2 };
    const recovery = { ...syncRecovered(orgId, at(2 * HOUR), 'client_secret_expired'), runId: r3 };
    const again = { ...syncFailed(orgId, at(3 * HOUR)), runId: r4 };
    const firstEpisode = { firstRunId: r1, since: at(0) };
    // The recovery's hand-off is delayed (a retry) until after the next failure's.
    await deliver({ ...first, episode: { ...firstEpisode, count: 1 } });
    await deliver({ ...repeat, episode: { ...firstEpisode, count: 2 } });
    await deliver({ ...again, episode: { firstRunId: r4, since: at(3 * HOUR), count: 1 } });
    await deliver({ ...recovery, episode: { ...firstEpisode, count: 2 } });

    const inbox = await h.inbox(orgId);
    expect(inbox.map((n) => [n.type, n.runId, n.count, n.firstSeenAt])).toEqual([
      ['sync_failed', r4, 1, at(3 * HOUR)],
      ['sync_failed', r2, 2, at(0)],
    ]);
    // Each episode alerted once; the late recovery of the first one says nothing.
    expect(h.mailsFor(orgId).map((m) => m.parsed.subject)).toEqual([
      `[${orgId}] Microsoft Entra ID sync failed: client secret expired`,
      `[${orgId}] Microsoft Entra ID sync failed: client secret expired`,
    ]);
  });

  it('a success with no failure open says nothing', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    await deliver(syncRecovered(orgId, at(0), 'client_secret_expired'));
    expect(await h.inbox(orgId)).toEqual([]);
    expect(h.mailsFor(orgId)).toEqual([]);
  });
});

describe('email channel', () => {
  it('email disabled: in-app only, the email recorded as disabled', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, { email: false });
    const message = syncFailed(orgId, at(0));
    await deliver(message);
    const [entry] = await h.inbox(orgId);
    expect(entry?.delivery).toEqual({ inApp: 'delivered', email: 'disabled' });
    expect(await h.raw.email.getJob(emailJobId(notificationJobId(message)))).toBeUndefined();
    expect(h.mailsFor(orgId)).toEqual([]);
  });

  it('SMTP down during an alert: in-app at once, exactly one email once it is back', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    const message = syncFailed(orgId, at(0));
    const emailId = emailJobId(notificationJobId(message));
    await h.smtp.stop();
    try {
      await h.handOff(message);
      expect(await h.finished(h.raw.notifications, notificationJobId(message))).toBe('completed');
      const [entry] = await h.inbox(orgId);
      expect(entry?.delivery).toEqual({ inApp: 'delivered', email: 'pending' });
      // The email is being retried with backoff meanwhile.
      await waitFor(async () => ((await h.raw.email.getJob(emailId))?.attemptsMade ?? 0) >= 2, {
        timeoutMs: 15_000,
        description: 'two failed SMTP attempts',
      });
      expect(h.mailsFor(orgId)).toEqual([]);
      expect((await h.inbox(orgId))[0]?.delivery.email).toBe('pending');
    } finally {
      await h.smtp.start();
    }
    expect(await h.finished(h.raw.email, emailId, 30_000)).toBe('completed');
    expect(h.mailsFor(orgId)).toHaveLength(1);
    expect((await h.inbox(orgId))[0]?.delivery).toEqual({ inApp: 'delivered', email: 'delivered' });
  });

  it('a permanent SMTP refusal (5xx) fails the email at once, never the in-app alert', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    const message = syncFailed(orgId, at(0));
    const emailId = emailJobId(notificationJobId(message));
    h.smtp.failNext(1, 550);
    await h.handOff(message);
    expect(await h.finished(h.raw.email, emailId)).toBe('failed');
    const job = await h.raw.email.getJob(emailId);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toContain('smtp_rejected: SMTP 550');
    expect((await h.inbox(orgId))[0]?.delivery).toEqual({ inApp: 'delivered', email: 'failed' });
  });
});

describe('bad payloads', () => {
  it('fail clearly and are not retried', async () => {
    const orgId = newOrgId();
    const bad = [
      ['bad-type', { type: 'sync_exploded', orgId, occurredAt: at(0) }],
      ['bad-org', { ...syncFailed('org 1', at(0)) }],
      ['bad-failure', { ...syncFailed(orgId, at(0)), failure: { code: 'oops' } }],
    ] as const;
    for (const [jobId, data] of bad) {
      await h.raw.notifications.add('notify', data, { jobId, attempts: 5, backoff: 10 });
    }
    await h.raw.email.add(
      'send-email',
      { alertId: 'x', orgId, notificationId: 'x', to: ['a@b.test\r\nBcc: z@evil.test'] },
      { jobId: 'bad-email', attempts: 5, backoff: 10 },
    );
    for (const [queue, jobId, path] of [
      [h.raw.notifications, 'bad-type', 'type'],
      [h.raw.notifications, 'bad-org', 'orgId'],
      [h.raw.notifications, 'bad-failure', 'failure.code'],
      [h.raw.email, 'bad-email', 'to.0'],
    ] as const) {
      expect(await h.finished(queue, jobId)).toBe('failed');
      const job = await queue.getJob(jobId);
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toMatch(/^Invalid (notifications|email) job payload: /);
      expect(job?.failedReason).toContain(`${path}:`);
    }
    expect(await h.inbox(orgId)).toEqual([]);
    expect(h.logLines.some((l) => l.includes('invalid job payload; not retrying'))).toBe(true);
  });
});
