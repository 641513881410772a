import { type AlertedEpisode, buildFailure, notificationSchema } from '@pinnacle/domain';
import { emailJobSchema, type NotificationJob } from '@pinnacle/queue-contracts';
import type { StoredIntegration } from '@pinnacle/redis-store';
import { describe, expect, it } from 'vitest';
import { notificationIdOf } from '../src/alerts/alert-ids.js';
import { emailChannel } from '../src/alerts/email-channel.js';
import { buildEmailJob } from '../src/alerts/email-job.js';
import { buildInAppNotification } from '../src/alerts/in-app.js';

const integration: StoredIntegration = {
  orgId: 'org-1',
  tenantId: 'contoso.onmicrosoft.com',
  clientId: '11111111-2222-3333-4444-555555555555',
  secret: null,
  groupIds: [],
  schedule: { enabled: false, every: '1d' },
  notifications: { email: { enabled: true, recipients: ['ada@contoso.com'] } },
  includeDisabledUsers: false,
  massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  revision: 1,
};
const withEmail = (enabled: boolean, recipients: string[]): StoredIntegration => ({
  ...integration,
  notifications: { email: { enabled, recipients } },
});

describe('emailChannel', () => {
  it('is off without SMTP, an integration, email enabled, or a valid recipient', () => {
    expect(emailChannel(integration, false)).toEqual({
      enabled: false,
      reason: 'smtp_not_configured',
    });
    expect(emailChannel(null, true)).toEqual({ enabled: false, reason: 'no_integration' });
    expect(emailChannel(withEmail(false, ['a@b.test']), true)).toEqual({
      enabled: false,
      reason: 'email_disabled',
    });
    expect(
      emailChannel(withEmail(true, ['not an address', 'x@y.test\r\nBcc: z@evil.test']), true),
    ).toEqual({
      enabled: false,
      reason: 'no_recipients',
    });
  });

  it('sends to the valid recipients, once each', () => {
    expect(
      emailChannel(
        withEmail(true, ['Ada@Contoso.com', 'ada@contoso.com', 'bad\nx@y.z', 'bo@c.test']),
        true,
      ),
    ).toEqual({ enabled: true, recipients: ['ada@contoso.com', 'bo@c.test'] });
  });
});

describe('notificationIdOf', () => {
  it('keeps a readable alert ID and hashes one too long for a notification ID', () => {
    expect(notificationIdOf('failed-run-1')).toBe('failed-run-1');
    const long = `expiring-${'o'.repeat(64)}-2026-01-31-30d`;
    const id = notificationIdOf(long);
    expect(id).toMatch(/^n-[0-9a-f]{40}$/);
    expect(notificationIdOf(long)).toBe(id);
    expect(notificationIdOf(`${long}x`)).not.toBe(id);
  });
});

const failure = buildFailure('consent_missing', { missingPermissions: ['User.Read.All'] });
const failed: NotificationJob = {
  type: 'sync_failed',
  orgId: 'org-1',
  runId: 'run-3',
  occurredAt: '2026-01-02T03:00:00.000Z',
  failure,
};
const episode: AlertedEpisode = {
  code: 'consent_missing',
  firstRunId: 'run-1',
  notificationId: 'failed-run-1',
  openedBy: 'failed-run-1',
  openedAt: '2026-01-02T01:00:00.000Z',
  firstSeenAt: '2026-01-02T01:00:00.000Z',
  lastSeenAt: '2026-01-02T03:00:00.000Z',
  lastRunId: 'run-3',
  count: 3,
  emailsSent: 1,
  nextReminderAt: '2026-01-03T01:00:00.000Z',
};

describe('buildInAppNotification', () => {
  it('shows a failure episode as one notification with its count', () => {
    const n = buildInAppNotification({
      payload: failed,
      alertId: 'failed-run-3',
      notificationId: 'failed-run-3',
      episode,
      plan: null,
      email: null,
    });
    expect(notificationSchema.parse(n)).toEqual({
      id: 'failed-run-1',
      type: 'sync_failed',
      severity: 'error',
      title: failure.title,
      message: failure.message,
      failureCode: 'consent_missing',
      runId: 'run-3',
      count: 3,
      firstSeenAt: episode.firstSeenAt,
      lastSeenAt: episode.lastSeenAt,
      createdAt: episode.openedAt,
      readAt: null,
      delivery: { inApp: 'delivered', email: 'disabled' },
    });
    expect(n.emailAlertId).toBeNull();
  });

  it('tracks the email an alert starts', () => {
    const n = buildInAppNotification({
      payload: failed,
      alertId: 'failed-run-3',
      notificationId: 'failed-run-3',
      episode,
      plan: {
        reminder: 1,
        since: episode.firstSeenAt,
        occurrences: 3,
        threadAlertId: 'failed-run-1',
        failureCode: 'consent_missing',
      },
      email: 'pending',
    });
    expect(n.delivery.email).toBe('pending');
    expect(n.emailAlertId).toBe('failed-run-3');
  });

  it('marks an email the cap held back, and says so, until when, at every write of the episode', () => {
    const held = { ...episode, emailHeldUntil: '2026-01-02T04:00:00.000Z' };
    const plan = {
      reminder: 0,
      since: episode.firstSeenAt,
      occurrences: 3,
      threadAlertId: null,
      failureCode: 'consent_missing',
      suppressedUntil: '2026-01-02T04:00:00.000Z',
    };
    const n = buildInAppNotification({
      payload: failed,
      alertId: 'failed-run-3',
      notificationId: 'failed-run-3',
      episode: held,
      plan,
      email: 'pending',
      emailCap: { perHour: 3, perDay: 9 },
    });
    expect(notificationSchema.parse(n).delivery).toEqual({
      inApp: 'delivered',
      email: 'suppressed',
    });
    expect(n.emailAlertId).toBe('failed-run-3');
    expect(n.message).toBe(
      `${failure.message}\n\nEmail held back: this organisation's admins have already been sent the most alert emails allowed (3 an hour, 9 a day), so this alert was not emailed. Emails can go out again from 2026-01-02 04:00 UTC; until then new alerts appear here only. Recoveries and expiry warnings are always emailed.`,
    );
    // A repeat (no email of its own) rewrites it with the line still there.
    const repeat = buildInAppNotification({
      payload: failed,
      alertId: 'failed-run-4',
      notificationId: 'failed-run-4',
      episode: held,
      plan: null,
      email: null,
    });
    expect(repeat.message).toContain('Email held back');
    // Once an email of the episode went out, the line is gone.
    const sent = buildInAppNotification({
      payload: failed,
      alertId: 'failed-run-5',
      notificationId: 'failed-run-5',
      episode,
      plan: { ...plan, suppressedUntil: undefined },
      email: 'pending',
    });
    expect(sent.message).toBe(failure.message);
    expect(sent.delivery.email).toBe('pending');
  });

  it('words a recovery and the secret warnings', () => {
    const recovered = buildInAppNotification({
      payload: {
        type: 'sync_recovered',
        orgId: 'org-1',
        runId: 'run-4',
        occurredAt: '2026-01-02T04:00:00.000Z',
        previousFailureCode: 'consent_missing',
      },
      alertId: 'recovered-run-4',
      notificationId: 'recovered-run-4',
      episode,
      // The closed episode as the worker recorded it.
      plan: {
        reminder: 0,
        since: episode.firstSeenAt,
        occurrences: 3,
        threadAlertId: 'failed-run-1',
        failureCode: 'consent_missing',
      },
      email: 'pending',
    });
    expect(recovered).toMatchObject({
      type: 'sync_recovered',
      severity: 'info',
      title: 'Microsoft Entra ID sync recovered',
      failureCode: 'consent_missing',
      runId: 'run-4',
      count: 1,
    });
    expect(recovered.message).toContain(
      'admin consent missing, first seen 2026-01-02 01:00 UTC over 3 failed runs',
    );

    const expiring = buildInAppNotification({
      payload: {
        type: 'client_secret_expiring',
        orgId: 'org-1',
        expiresAt: '2026-02-01T00:00:00.000Z',
        thresholdDays: 14,
        daysLeft: 13,
        occurredAt: '2026-01-19T05:00:00.000Z',
      },
      alertId: 'expiring-org-1-2026-02-01-14d',
      notificationId: 'expiring-org-1-2026-02-01-14d',
      episode: null,
      plan: null,
      email: 'disabled',
    });
    expect(notificationSchema.parse(expiring)).toMatchObject({
      severity: 'warning',
      title: 'Client secret expires in 13 days',
      failureCode: null,
      runId: null,
      delivery: { email: 'disabled' },
    });
  });
});

describe('buildEmailJob', () => {
  it('carries the failure text but never its details, and parses as an email job', () => {
    const job = buildEmailJob({
      payload: { ...failed, failure: { ...failure, details: { token: 'should-not-travel' } } },
      alertId: 'failed-run-3',
      notificationId: 'failed-run-1',
      plan: {
        reminder: 1,
        since: episode.firstSeenAt,
        occurrences: 3,
        threadAlertId: 'failed-run-1',
        failureCode: 'consent_missing',
      },
      recipients: ['ada@contoso.com'],
    });
    expect(emailJobSchema.parse(job)).toEqual(job);
    expect(JSON.stringify(job)).not.toContain('should-not-travel');
    expect(job).toMatchObject({
      threadAlertId: 'failed-run-1',
      content: { type: 'sync_failed', reminder: 1, occurrences: 3, since: episode.firstSeenAt },
    });
  });
});
