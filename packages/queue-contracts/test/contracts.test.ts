import { envSchema } from '@pinnacle/config';
import type { SyncFailure } from '@pinnacle/domain';
import { describe, expect, it } from 'vitest';
import {
  InvalidJobPayloadError,
  maintenanceJobSchema,
  maintenanceSchedules,
  type NotificationJob,
  notificationJobId,
  notificationJobSchema,
  parseJobPayload,
  type QueueKey,
  queues,
  syncJobId,
  syncSchedulerId,
} from '../src/index.js';

/** Every queue's name (each is its key too). */
const queueNames = Object.values(queues).map((q) => q.name);

/** The environment on its defaults, as a process with nothing set reads it. */
const defaults = envSchema.parse({});

type JobOf<T extends NotificationJob['type']> = Extract<NotificationJob, { type: T }>;

const failure: SyncFailure = {
  code: 'client_secret_expired',
  category: 'credentials',
  title: 'The client secret has expired',
  message: 'Authentication with Microsoft Entra ID could not be completed.',
  remediation: ['Generate a new client secret in Entra ID and update it in the settings.'],
  retryable: false,
  details: { source: 'recorded_expiry', expiresAt: '2026-01-01T00:00:00.000Z' },
};

const syncFailed: JobOf<'sync_failed'> = {
  type: 'sync_failed',
  orgId: 'org-1',
  occurredAt: '2026-01-02T03:04:05.000Z',
  runId: '6f1c2a9e-3d7b-4c1e-9a5f-0b8d7e6c5a41',
  failure,
};
const syncRecovered: JobOf<'sync_recovered'> = {
  type: 'sync_recovered',
  orgId: 'org-1',
  occurredAt: '2026-01-02T03:04:05.000Z',
  runId: 'b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d',
  previousFailureCode: 'client_secret_expired',
};
const reminder: JobOf<'sync_failure_reminder'> = {
  type: 'sync_failure_reminder',
  orgId: 'org-1',
  occurredAt: '2026-01-03T04:17:00.000Z',
  runId: syncFailed.runId,
  failure: syncFailed.failure,
  dueAt: '2026-01-03T03:04:05.000Z',
};
const expiring: JobOf<'client_secret_expiring'> = {
  type: 'client_secret_expiring',
  orgId: 'org-1',
  occurredAt: '2026-01-02T03:04:05.000Z',
  expiresAt: '2026-01-31T23:59:59.000Z',
  thresholdDays: 30,
  daysLeft: 29,
};
const expired: JobOf<'client_secret_expired'> = {
  type: 'client_secret_expired',
  orgId: 'org-1',
  occurredAt: '2026-01-02T03:04:05.000Z',
  expiresAt: '2026-01-01T12:30:00.000Z',
};

const CERT = { id: '5e5e5e5e-0000-4000-8000-000000000005', thumbprint: 'A'.repeat(40) };
const certExpiring: JobOf<'certificate_expiring'> = {
  type: 'certificate_expiring',
  orgId: 'org-1',
  occurredAt: '2026-01-02T03:04:05.000Z',
  certificate: CERT,
  expiresAt: '2026-01-20T00:00:00.000Z',
  thresholdDays: 30,
  daysLeft: 17,
};
const certExpired: JobOf<'certificate_expired'> = {
  type: 'certificate_expired',
  orgId: 'org-1',
  occurredAt: '2026-01-02T03:04:05.000Z',
  certificate: CERT,
  expiresAt: '2026-01-01T00:00:00.000Z',
};
const certRotated: JobOf<'certificate_rotated'> = {
  type: 'certificate_rotated',
  orgId: 'org-1',
  occurredAt: '2026-01-02T03:04:05.000Z',
  runId: 'run-rotated',
  certificate: { ...CERT, notAfter: '2027-01-02T00:00:00.000Z' },
  retired: [{ id: '6e6e6e6e-0000-4000-8000-000000000006', thumbprint: 'B'.repeat(40) }],
};

const validNotifications: NotificationJob[] = [
  syncFailed,
  syncRecovered,
  reminder,
  expiring,
  expired,
  certExpiring,
  certExpired,
  certRotated,
];

/** Parses and returns the error, failing the test when it parses. */
function rejection(queue: keyof typeof queues, data: unknown): InvalidJobPayloadError {
  try {
    parseJobPayload(queue, data);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidJobPayloadError);
    return error as InvalidJobPayloadError;
  }
  throw new Error(`expected ${queue} payload to be refused: ${JSON.stringify(data)}`);
}

describe('sync job payloads', () => {
  it('accepts Sync Now and scheduled jobs', () => {
    const manual = {
      orgId: 'org_A-1',
      trigger: 'manual',
      runId: 'run-123',
      allowMassRemoval: true,
      requestedAt: '2026-01-01T00:00:00.000Z',
    } as const;
    expect(parseJobPayload('sync', manual)).toEqual(manual);
    expect(parseJobPayload('sync', { orgId: 'org-1', trigger: 'schedule' })).toEqual({
      orgId: 'org-1',
      trigger: 'schedule',
    });
  });

  it('drops fields it does not know (a newer producer during a rolling deploy)', () => {
    expect(
      parseJobPayload('sync', { orgId: 'org-1', trigger: 'schedule', addedLater: { x: 1 } }),
    ).toEqual({ orgId: 'org-1', trigger: 'schedule' });
  });

  it.each([
    ['no org', { trigger: 'manual' }, 'orgId'],
    ['an org ID with a colon', { orgId: 'org:1', trigger: 'manual' }, 'orgId'],
    ['an empty org ID', { orgId: '', trigger: 'manual' }, 'orgId'],
    ['a 65-char org ID', { orgId: 'o'.repeat(65), trigger: 'manual' }, 'orgId'],
    ['an unknown trigger', { orgId: 'org-1', trigger: 'cron' }, 'trigger'],
    ['no trigger', { orgId: 'org-1' }, 'trigger'],
    ['a run ID with a slash', { orgId: 'org-1', trigger: 'manual', runId: 'a/b' }, 'runId'],
    ['a run ID of the wrong type', { orgId: 'org-1', trigger: 'manual', runId: 7 }, 'runId'],
    [
      'a string for allowMassRemoval',
      { orgId: 'org-1', trigger: 'manual', allowMassRemoval: 'yes' },
      'allowMassRemoval',
    ],
    [
      'a requestedAt that is not ISO',
      { orgId: 'org-1', trigger: 'manual', requestedAt: 'yesterday' },
      'requestedAt',
    ],
  ])('refuses %s', (_name, data, path) => {
    const error = rejection('sync', data);
    expect(error.queue).toBe('sync');
    expect(error.code).toBe('invalid_job_payload');
    expect(error.name).toBe('InvalidJobPayloadError');
    expect(error.issues.map((i) => i.path)).toContain(path);
    expect(error.message).toContain(`${path}:`);
  });

  it.each([null, undefined, 'org-1', 42, [], true])('refuses a non-object payload (%s)', (data) => {
    const error = rejection('sync', data);
    expect(error.issues.length).toBeGreaterThan(0);
    expect(error.message).toContain('(root)');
  });
});

describe('maintenance job payloads', () => {
  it('accepts the secret expiry scan and nothing else', () => {
    expect(parseJobPayload('maintenance', { task: 'scan_secret_expiry' })).toEqual({
      task: 'scan_secret_expiry',
    });
    expect(rejection('maintenance', { task: 'flush_everything' }).issues[0]?.path).toBe('task');
    expect(rejection('maintenance', {}).issues[0]?.path).toBe('task');
  });
});

describe('notification job payloads', () => {
  it.each(validNotifications)('accepts a valid $type message', (job) => {
    expect(parseJobPayload('notifications', job)).toEqual(job);
    expect(notificationJobSchema.parse(job)).toEqual(job);
  });

  it.each([
    ['an unknown type', { ...syncFailed, type: 'sync_exploded' }, 'type'],
    ['no type', { ...syncRecovered, type: undefined }, 'type'],
    ['a bad org ID', { ...expired, orgId: 'org 1' }, 'orgId'],
    ['occurredAt not a date-time', { ...expired, occurredAt: '2026-01-02' }, 'occurredAt'],
    ['expiresAt not a date-time', { ...expired, expiresAt: 'soon' }, 'expiresAt'],
    ['a failure without its code', { ...syncFailed, failure: { ...failure, code: undefined } }],
    ['an unknown failure code', { ...syncFailed, failure: { ...failure, code: 'oops' } }],
    ['a retryable failure', { ...syncFailed, failure: { ...failure, retryable: true } }],
    ['a failure without remediation', { ...syncFailed, failure: { ...failure, remediation: [] } }],
    ['a failed message without a run', { ...syncFailed, runId: undefined }, 'runId'],
    ['an empty previous code', { ...syncRecovered, previousFailureCode: '' }],
    ['a 65-char previous code', { ...syncRecovered, previousFailureCode: 'x'.repeat(65) }],
    ['a zero threshold', { ...expiring, thresholdDays: 0 }, 'thresholdDays'],
    ['a fractional threshold', { ...expiring, thresholdDays: 1.5 }, 'thresholdDays'],
    ['negative days left', { ...expiring, daysLeft: -1 }, 'daysLeft'],
    ['days left as a string', { ...expiring, daysLeft: '3' }, 'daysLeft'],
    // The fields of one type do not make another valid.
    ['an expiring message without threshold', { ...expired, type: 'client_secret_expiring' }],
    ['a recovered message carrying only a failure', { ...syncFailed, type: 'sync_recovered' }],
  ])('refuses %s', (_name, data, path?: string) => {
    const error = rejection('notifications', data);
    expect(error.queue).toBe('notifications');
    expect(error.issues.length).toBeGreaterThan(0);
    if (path) expect(error.issues.map((i) => i.path)).toContain(path);
  });
});

describe('InvalidJobPayloadError', () => {
  const MARK = 'S3cr3tV4lue~Zq9';

  it.each([
    ['sync', { orgId: `${MARK}:x`, trigger: MARK, runId: `${MARK}/`, requestedAt: MARK }],
    ['sync', MARK],
    ['maintenance', { task: MARK }],
    ['notifications', { ...syncFailed, type: MARK }],
    ['notifications', { ...syncFailed, orgId: `${MARK} `, occurredAt: MARK, runId: `${MARK}!` }],
    [
      'notifications',
      {
        ...syncFailed,
        failure: {
          ...failure,
          code: MARK,
          category: MARK,
          retryable: MARK,
          remediation: [MARK, 1],
        },
      },
    ],
    ['notifications', { ...expiring, expiresAt: MARK, thresholdDays: MARK, daysLeft: MARK }],
    ['notifications', { ...syncRecovered, previousFailureCode: MARK.repeat(10) }],
  ] as const)('never echoes the values of a bad %s payload', (queue, data) => {
    const error = rejection(queue, data);
    expect(error.message).not.toContain(MARK);
    expect(String(error)).not.toContain(MARK);
    expect(JSON.stringify(error.issues)).not.toContain(MARK);
    expect(error.issues.every((i) => typeof i.path === 'string' && i.message.length > 0)).toBe(
      true,
    );
  });

  it('names every problem with its path', () => {
    const error = rejection('sync', { orgId: 'bad:id', trigger: 'never' });
    expect(error.issues.map((i) => i.path).sort()).toEqual(['orgId', 'trigger']);
    expect(error.message).toMatch(/^Invalid sync job payload: /);
    expect(error.message).toContain('orgId: ');
    expect(error.message).toContain('trigger: ');
  });

  it('names nested paths with dots', () => {
    const error = rejection('notifications', {
      ...syncFailed,
      failure: { ...failure, remediation: ['ok', ''] },
    });
    expect(error.issues.map((i) => i.path)).toEqual(['failure.remediation.1']);
  });
});

describe('job IDs', () => {
  /** BullMQ refuses custom IDs that contain ':' or that are integers. */
  function expectBullmqSafe(id: string) {
    expect(id).not.toContain(':');
    expect(`${Number.parseInt(id, 10)}`).not.toBe(id);
    expect(id.length).toBeGreaterThan(0);
  }

  it('notificationJobId is deterministic and BullMQ-safe for every type', () => {
    for (const job of validNotifications) {
      const id = notificationJobId(job);
      expectBullmqSafe(id);
      expect(notificationJobId(structuredClone(job))).toBe(id);
      // A re-sent hand-off (a later occurredAt) is the same message.
      expect(notificationJobId({ ...job, occurredAt: '2027-05-05T05:05:05.000Z' })).toBe(id);
    }
    expect(validNotifications.map(notificationJobId)).toEqual([
      `failed-${syncFailed.runId}`,
      `recovered-${syncRecovered.runId}`,
      `reminder-org-1-${Date.parse(reminder.dueAt)}`,
      'expiring-org-1-2026-01-31-30d',
      'expired-org-1-2026-01-01',
      `cert-expiring-org-1-${CERT.id}-30d`,
      `cert-expired-org-1-${CERT.id}`,
      `cert-rotated-org-1-${CERT.id}`,
    ]);
  });

  it('notificationJobId tells different messages apart', () => {
    const ids = [
      notificationJobId(syncFailed),
      notificationJobId({ ...syncFailed, runId: 'run-other' }),
      notificationJobId({ ...syncRecovered, runId: syncFailed.runId }),
      notificationJobId(expiring),
      notificationJobId({ ...expiring, thresholdDays: 7, daysLeft: 6 }),
      notificationJobId({ ...expiring, orgId: 'org-2' }),
      notificationJobId({ ...expiring, expiresAt: '2026-07-31T23:59:59.000Z' }),
      notificationJobId(expired),
      notificationJobId({ ...expired, orgId: 'org-2' }),
      notificationJobId({ ...expired, expiresAt: '2026-07-01T00:00:00.000Z' }),
      notificationJobId(certExpiring),
      notificationJobId({ ...certExpiring, thresholdDays: 7, daysLeft: 6 }),
      notificationJobId({ ...certExpiring, certificate: { ...CERT, id: 'other-cert' } }),
      notificationJobId(certExpired),
      notificationJobId(certRotated),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    // The same threshold crossed on two daily scans is one warning.
    expect(notificationJobId({ ...expiring, daysLeft: 28 })).toBe(notificationJobId(expiring));
    for (const id of ids) expectBullmqSafe(id);
  });

  it('syncJobId and syncSchedulerId are BullMQ-safe and distinct per run and org', () => {
    expect(syncJobId('abc')).toBe('run-abc');
    expect(syncJobId('123')).toBe('run-123');
    expect(syncJobId('a')).not.toBe(syncJobId('b'));
    expectBullmqSafe(syncJobId('123'));
    expect(syncSchedulerId('org-1')).toBe('sync-schedule-org-1');
    expect(syncSchedulerId('org-1')).not.toBe(syncSchedulerId('org-2'));
    expectBullmqSafe(syncSchedulerId('42'));
  });
});

describe('job options', () => {
  it('sync jobs: SYNC_ATTEMPTS and SYNC_BACKOFF_MS, exponential and jittered, bounded retention', () => {
    expect(queues.sync.jobOptions(defaults)).toEqual({
      attempts: 5,
      backoff: { type: 'exponential', delay: 15_000, jitter: 0.5 },
      removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
      removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
    });
    expect(queues.sync.jobOptions({ SYNC_ATTEMPTS: 2, SYNC_BACKOFF_MS: 50 })).toEqual({
      attempts: 2,
      backoff: { type: 'exponential', delay: 50, jitter: 0.5 },
      removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
      removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
    });
  });

  it('returns a fresh object each call', () => {
    const a = queues.sync.jobOptions(defaults);
    a.backoff.delay = 1;
    a.removeOnComplete.count = 1;
    expect(queues.sync.jobOptions(defaults).backoff.delay).toBe(15_000);
    expect(queues.sync.jobOptions(defaults).removeOnComplete.count).toBe(5000);
  });

  it('notification jobs are retried and kept long enough to deduplicate re-sends', () => {
    const options = queues.notifications.jobOptions(defaults);
    expect(options.attempts).toBeGreaterThan(1);
    expect(options.backoff.type).toBe('exponential');
    expect(options.backoff.delay).toBeGreaterThan(0);
    // A week at least: a re-sent hand-off is a no-op only while its job exists.
    expect(options).toMatchObject({
      removeOnComplete: { age: 7 * 24 * 3600, count: 20_000 },
      removeOnFail: { age: 30 * 24 * 3600, count: 5_000 },
    });
  });

  it.each(queueNames)(
    '%s: keeps a bounded number of completed and failed jobs, not only by age',
    (key) => {
      const options = queues[key as QueueKey].jobOptions(defaults);
      for (const retention of [options.removeOnComplete, options.removeOnFail]) {
        expect(Number.isInteger(retention.count), JSON.stringify(retention)).toBe(true);
        expect(retention.count).toBeGreaterThan(0);
        // A number, so Redis stays bounded whatever the traffic.
        expect(retention.count).toBeLessThanOrEqual(50_000);
      }
    },
  );

  it('maintenance scans are retried a few times, a minute or more apart, and the last 30 kept', () => {
    expect(queues.maintenance.jobOptions(defaults)).toEqual({
      attempts: 5,
      backoff: { type: 'exponential', delay: 60_000 },
      removeOnComplete: { count: 30 },
      removeOnFail: { count: 30 },
    });
  });
});

describe('the environment of each queue', () => {
  it.each(queueNames)('%s: its job options read only the variables its definition names', (key) => {
    const queue = key as QueueKey;
    const named = Object.fromEntries(
      (queues[queue].env as readonly (keyof typeof defaults)[]).map((v) => [v, defaults[v]]),
    );
    // Only the named variables given: a variable read but not named would be undefined here.
    expect(queues[queue].jobOptions(named as typeof defaults)).toEqual(
      queues[queue].jobOptions(defaults),
    );
  });
});

describe('job names', () => {
  it('say whose job each is', () => {
    expect(queues.sync.jobName({ orgId: 'org-1', trigger: 'schedule' })).toBe('sync org-1');
    expect(queues.notifications.jobName(syncFailed)).toBe('notify sync_failed org-1');
    expect(queues.notifications.jobName(expiring)).toBe('notify client_secret_expiring org-1');
    expect(queues.maintenance.jobName({ task: 'scan_failure_reminders' })).toBe(
      'scan_failure_reminders',
    );
  });
});

describe("a job's org, from its name", () => {
  it('reads back the org of every job that has one, and no other', () => {
    const sync = [
      { orgId: 'org-1', trigger: 'schedule' as const },
      { orgId: 'Org_2-b', trigger: 'manual' as const, runId: 'r-1' },
    ];
    for (const job of sync) expect(queues.sync.orgOfJob(queues.sync.jobName(job))).toBe(job.orgId);
    for (const job of validNotifications) {
      expect(queues.notifications.orgOfJob(queues.notifications.jobName(job))).toBe('org-1');
    }
    const email = {
      alertId: 'failed-r-1',
      orgId: 'org-9',
      notificationId: 'failed-r-1',
      to: ['admin@contoso.com'],
      occurredAt: '2026-01-02T03:04:05.000Z',
      content: {
        type: 'client_secret_expired' as const,
        expiresAt: '2026-01-01T12:30:00.000Z',
      },
    };
    expect(queues.email.orgOfJob(queues.email.jobName(email))).toBe('org-9');
    for (const task of maintenanceJobSchema.shape.task.options) {
      expect(queues.maintenance.orgOfJob(queues.maintenance.jobName({ task }))).toBeNull();
    }
    // Names of other queues, or of nothing, belong to no org.
    for (const name of ['notify sync_failed org-1', 'sync', 'sync a b', 'sync org:1', '']) {
      expect(queues.sync.orgOfJob(name), name).toBeNull();
    }
    expect(queues.notifications.orgOfJob('sync org-1')).toBeNull();
    expect(queues.email.orgOfJob('notify sync_failed org-1')).toBeNull();
  });
});

describe('job IDs by definition', () => {
  it('a Sync Now job is keyed by its run; a scheduled one is named by its job scheduler', () => {
    expect(queues.sync.jobId({ orgId: 'org-1', trigger: 'manual', runId: 'r-1' })).toBe(
      syncJobId('r-1'),
    );
    expect(queues.sync.jobId({ orgId: 'org-1', trigger: 'schedule' })).toBeUndefined();
  });

  it('a notification job is keyed by its message', () => {
    for (const job of validNotifications) {
      expect(queues.notifications.jobId(job)).toBe(notificationJobId(job));
    }
  });

  it('maintenance jobs come from their job schedulers only', () => {
    expect(queues.maintenance.jobId({ task: 'scan_secret_expiry' })).toBeUndefined();
    const ids = Object.values(maintenanceSchedules).map((s) => s.schedulerId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(maintenanceSchedules).sort()).toEqual(
      [...maintenanceJobSchema.shape.task.options].sort(),
    );
  });
});

describe('queues', () => {
  it('names each queue and job without ":" (a queue name cannot hold one)', () => {
    expect(queueNames).toEqual(['sync', 'notifications', 'maintenance', 'email']);
    for (const [key, q] of Object.entries(queues)) {
      expect(q.name).toBe(key as QueueKey);
      expect(q.name).not.toContain(':');
    }
    expect(new Set(queueNames).size).toBe(queueNames.length);
  });
});
