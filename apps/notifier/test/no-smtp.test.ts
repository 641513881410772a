import { randomUUID } from 'node:crypto';
import { buildFailure } from '@pinnacle/domain';
import { emailJobId, type NotificationJob, notificationJobId } from '@pinnacle/queue-contracts';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type NotifierHarness, newOrgId } from './support/harness.js';

let h: NotifierHarness;

test.beforeAll(async ({ harness }) => {
  h = harness;
  // As deployed without SMTP_URL (and MAIL_FROM): email is off for everyone.
  await h.start({ SMTP_URL: undefined, MAIL_FROM: undefined });
});

describe('SMTP_URL unset', () => {
  it('stores every alert in-app and records the email channel as disabled, not failed', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, { recipients: ['ada@acme.test'] });
    const messages: NotificationJob[] = [
      {
        type: 'sync_failed',
        orgId,
        runId: randomUUID(),
        occurredAt: '2026-03-02T06:00:00.000Z',
        failure: buildFailure('groups_not_configured', {}),
      },
      {
        type: 'client_secret_expiring',
        orgId,
        expiresAt: '2026-03-30T00:00:00.000Z',
        thresholdDays: 30,
        daysLeft: 27,
        occurredAt: '2026-03-02T07:00:00.000Z',
      },
    ];
    for (const m of messages) {
      await h.handOff(m);
      expect(await h.finished(h.raw.notifications, notificationJobId(m))).toBe('completed');
      expect(await h.raw.email.getJob(emailJobId(notificationJobId(m)))).toBeUndefined();
    }
    const inbox = await h.inbox(orgId);
    expect(inbox.map((n) => [n.type, n.delivery])).toEqual([
      ['client_secret_expiring', { inApp: 'delivered', email: 'disabled' }],
      ['sync_failed', { inApp: 'delivered', email: 'disabled' }],
    ]);
    expect(h.smtp.messages()).toEqual([]);
  });
});
