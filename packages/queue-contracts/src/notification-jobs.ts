import { episodeRefSchema, orgIdSchema, runIdSchema, syncFailureSchema } from '@pinnacle/domain';
import { z } from 'zod';
import type { EnvOf, QueueDefinition } from './queue-definition.js';

const base = {
  orgId: orgIdSchema,
  occurredAt: z.iso.datetime(),
};

/** The hand-off from the worker: one message per finished failure or recovery. */
export const syncFailedJobSchema = z.object({
  type: z.literal('sync_failed'),
  ...base,
  runId: runIdSchema,
  failure: syncFailureSchema,
  /**
   * The failure episode the worker recorded this run in: the notifier
   * follows it rather than deciding again. Absent from workers before it.
   */
  episode: episodeRefSchema.optional(),
});

export const syncRecoveredJobSchema = z.object({
  type: z.literal('sync_recovered'),
  ...base,
  runId: runIdSchema,
  /** The failure code of the episode this success closes. */
  previousFailureCode: z.string().min(1).max(64),
  /** The episode this success closes, as the worker recorded it. Absent from workers before it. */
  episode: episodeRefSchema.optional(),
});

/**
 * From the notifier's own reminder scan: a failure episode still open when
 * its next reminder fell due, with no run since to bring it up (a manual-only
 * integration nobody has synced again). Carries the episode's last failure,
 * as recorded on its run, so the reminder says what the first alert said.
 */
export const syncFailureReminderJobSchema = z.object({
  type: z.literal('sync_failure_reminder'),
  ...base,
  /** The episode's last failed run. */
  runId: runIdSchema,
  failure: syncFailureSchema,
  /** The reminder slot this is for: one job per slot, whatever the scans. */
  dueAt: z.iso.datetime(),
});

export const clientSecretExpiringJobSchema = z.object({
  type: z.literal('client_secret_expiring'),
  ...base,
  expiresAt: z.iso.datetime(),
  /** The warning threshold crossed (30, 14, 7 or 1 days). */
  thresholdDays: z.number().int().positive(),
  daysLeft: z.number().int().nonnegative(),
});

export const clientSecretExpiredJobSchema = z.object({
  type: z.literal('client_secret_expired'),
  ...base,
  expiresAt: z.iso.datetime(),
});

/** A certificate, as notifications name it: public facts only. */
const certificateRefSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9-]+$/),
  /** SHA-1, upper-case hex, as the Entra admin center shows it. */
  thumbprint: z.string().regex(/^[0-9A-F]{40}$/),
});

/** From the notifier's daily scan: the org's current certificate nears its `notAfter`. */
export const certificateExpiringJobSchema = z.object({
  type: z.literal('certificate_expiring'),
  ...base,
  certificate: certificateRefSchema,
  expiresAt: z.iso.datetime(),
  /** The warning threshold crossed (30, 14, 7 or 1 days). */
  thresholdDays: z.number().int().positive(),
  daysLeft: z.number().int().nonnegative(),
});

export const certificateExpiredJobSchema = z.object({
  type: z.literal('certificate_expired'),
  ...base,
  certificate: certificateRefSchema,
  expiresAt: z.iso.datetime(),
});

/**
 * From the worker: Entra accepted a newer certificate, so the older ones
 * were retired and may be removed from the app registration.
 */
export const certificateRotatedJobSchema = z.object({
  type: z.literal('certificate_rotated'),
  ...base,
  /** The run whose token request Entra accepted with the new certificate. */
  runId: runIdSchema.optional(),
  certificate: certificateRefSchema.extend({ notAfter: z.iso.datetime() }),
  retired: z.array(certificateRefSchema).min(1).max(20),
});

export const notificationJobSchema = z.discriminatedUnion('type', [
  syncFailedJobSchema,
  syncRecoveredJobSchema,
  syncFailureReminderJobSchema,
  clientSecretExpiringJobSchema,
  clientSecretExpiredJobSchema,
  certificateExpiringJobSchema,
  certificateExpiredJobSchema,
  certificateRotatedJobSchema,
]);
export type NotificationJob = z.infer<typeof notificationJobSchema>;

/**
 * Job IDs derived from what the message is about, so a retried or crashed
 * producer can add the same message again and BullMQ keeps one.
 */
export function notificationJobId(job: NotificationJob): string {
  switch (job.type) {
    case 'sync_failed':
      return `failed-${job.runId}`;
    case 'sync_recovered':
      return `recovered-${job.runId}`;
    case 'sync_failure_reminder':
      return `reminder-${job.orgId}-${Date.parse(job.dueAt)}`;
    case 'client_secret_expiring':
      return `expiring-${job.orgId}-${job.expiresAt.slice(0, 10)}-${job.thresholdDays}d`;
    case 'client_secret_expired':
      return `expired-${job.orgId}-${job.expiresAt.slice(0, 10)}`;
    case 'certificate_expiring':
      return `cert-expiring-${job.orgId}-${job.certificate.id}-${job.thresholdDays}d`;
    case 'certificate_expired':
      return `cert-expired-${job.orgId}-${job.certificate.id}`;
    case 'certificate_rotated':
      return `cert-rotated-${job.orgId}-${job.certificate.id}`;
  }
}

/**
 * The `notifications` queue: the worker's hand-off and the notifier's own
 * scans. Jobs are kept a week after completion: their IDs are what makes a
 * re-sent hand-off a no-op, and that only works while they exist. Also at
 * most the newest 20,000 (a fleet failing all at once ages them out
 * sooner; a hand-off re-sent after that is still applied once, as the
 * org's episode state remembers its recent alerts) and 5,000 failed ones.
 */
export const notificationQueueDefinition = {
  name: 'notifications',
  env: [],
  schema: notificationJobSchema,
  jobName: (job) => `notify ${job.type} ${job.orgId}`,
  orgOfJob: (name) => /^notify [a-z_]+ ([A-Za-z0-9_-]+)$/.exec(name)?.[1] ?? null,
  jobId: notificationJobId,
  jobOptions: () => ({
    attempts: 12,
    backoff: { type: 'exponential', delay: 5_000, jitter: 0.3 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 20_000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 5_000 },
  }),
} as const satisfies QueueDefinition<'notifications', NotificationJob, EnvOf<never>>;
