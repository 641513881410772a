import { envSchema } from '@pinnacle/config';
import { describe, expect, it } from 'vitest';
import {
  type EmailJob,
  emailJobId,
  InvalidJobPayloadError,
  notificationJobId,
  parseJobPayload,
  queues,
} from '../src/index.js';

const failedEmail: EmailJob = {
  alertId: 'failed-6f1c2a9e-3d7b-4c1e-9a5f-0b8d7e6c5a41',
  orgId: 'org-1',
  notificationId: 'failed-6f1c2a9e-3d7b-4c1e-9a5f-0b8d7e6c5a41',
  to: ['ada@contoso.com', 'bob@contoso.com'],
  occurredAt: '2026-01-02T03:04:05.000Z',
  content: {
    type: 'sync_failed',
    runId: '6f1c2a9e-3d7b-4c1e-9a5f-0b8d7e6c5a41',
    failure: {
      code: 'client_secret_expired',
      title: 'Client secret expired',
      message: 'Authentication with Microsoft Entra ID could not be completed.',
      remediation: ['Generate a new client secret in Entra ID.'],
    },
    since: '2026-01-02T03:04:05.000Z',
    occurrences: 1,
    reminder: 0,
  },
};

const others: EmailJob[] = [
  {
    ...failedEmail,
    alertId: 'recovered-r2',
    notificationId: 'recovered-r2',
    threadAlertId: failedEmail.alertId,
    content: {
      type: 'sync_recovered',
      runId: 'r2',
      previousFailureCode: 'client_secret_expired',
      failingSince: '2026-01-02T03:04:05.000Z',
      occurrences: 3,
    },
  },
  {
    ...failedEmail,
    alertId: 'expiring-org-1-2026-01-31-30d',
    notificationId: 'expiring-org-1-2026-01-31-30d',
    content: {
      type: 'client_secret_expiring',
      expiresAt: '2026-01-31T00:00:00.000Z',
      thresholdDays: 30,
      daysLeft: 29,
    },
  },
  {
    ...failedEmail,
    alertId: 'expired-org-1-2026-01-31',
    notificationId: 'expired-org-1-2026-01-31',
    content: { type: 'client_secret_expired', expiresAt: '2026-01-31T00:00:00.000Z' },
  },
];

function refusal(data: unknown): InvalidJobPayloadError {
  try {
    parseJobPayload('email', data);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidJobPayloadError);
    return error as InvalidJobPayloadError;
  }
  throw new Error(`expected the email payload to be refused: ${JSON.stringify(data)}`);
}

describe('email job payloads', () => {
  it.each([failedEmail, ...others])('accepts a $content.type email', (job) => {
    expect(parseJobPayload('email', job)).toEqual(job);
  });

  it('never carries failure details', () => {
    const withDetails = {
      ...failedEmail,
      content: {
        ...failedEmail.content,
        failure: {
          ...(failedEmail.content.type === 'sync_failed' ? failedEmail.content.failure : {}),
          details: { anything: 'here' },
        },
      },
    };
    const parsed = parseJobPayload('email', withDetails);
    expect(parsed.content.type === 'sync_failed' && 'details' in parsed.content.failure).toBe(
      false,
    );
  });

  it.each([
    [
      'a recipient with a line break',
      { ...failedEmail, to: ['a@b.com\r\nBcc: x@evil.test'] },
      'to.0',
    ],
    ['two addresses in one entry', { ...failedEmail, to: ['a@b.com, c@d.com'] }, 'to.0'],
    ['no recipient', { ...failedEmail, to: [] }, 'to'],
    ['an alert ID with a colon', { ...failedEmail, alertId: 'a:b' }, 'alertId'],
    ['a bad org ID', { ...failedEmail, orgId: 'org 1' }, 'orgId'],
    ['an unknown content type', { ...failedEmail, content: { type: 'nope' } }, 'content.type'],
    [
      'a negative reminder',
      { ...failedEmail, content: { ...failedEmail.content, reminder: -1 } },
      'content.reminder',
    ],
  ])('refuses %s', (_name, data, path) => {
    const error = refusal(data);
    expect(error.queue).toBe('email');
    expect(error.issues.map((i) => i.path)).toContain(path);
  });

  it('normalises recipients as settings do (trimmed, lower-case)', () => {
    const parsed = parseJobPayload('email', { ...failedEmail, to: [' Ada@Contoso.COM '] });
    expect(parsed.to).toEqual(['ada@contoso.com']);
  });
});

describe('email job IDs and options', () => {
  it('derives one BullMQ-safe job ID per alert', () => {
    const id = emailJobId(
      notificationJobId({
        type: 'client_secret_expired',
        orgId: 'org-1',
        expiresAt: '2026-01-31T00:00:00.000Z',
        occurredAt: '2026-01-31T05:00:00.000Z',
      }),
    );
    expect(id).toBe('email-expired-org-1-2026-01-31');
    expect(id).not.toContain(':');
    expect(emailJobId('a')).not.toBe(emailJobId('b'));
  });

  it('is keyed by its alert and named for what it is about', () => {
    expect(queues.email.jobId(failedEmail)).toBe(emailJobId(failedEmail.alertId));
    expect(queues.email.jobName(failedEmail)).toBe('email sync_failed org-1');
  });

  it('retries NOTIFIER_EMAIL_ATTEMPTS times with exponential backoff, kept long enough to deduplicate', () => {
    const options = queues.email.jobOptions(envSchema.parse({}));
    expect(options.attempts).toBe(15);
    expect(options.backoff).toEqual({ type: 'exponential', delay: 5_000, jitter: 0.2 });
    expect(options.removeOnComplete).toEqual({ age: 7 * 24 * 3600, count: 20_000 });
    expect(options.removeOnFail).toEqual({ age: 30 * 24 * 3600, count: 5_000 });
    expect(
      queues.email.jobOptions({ NOTIFIER_EMAIL_ATTEMPTS: 3, NOTIFIER_EMAIL_BACKOFF_MS: 100 }),
    ).toMatchObject({ attempts: 3, backoff: { delay: 100 } });
  });

  it('registers the email queue', () => {
    expect(queues.email.name).toBe('email');
  });
});
