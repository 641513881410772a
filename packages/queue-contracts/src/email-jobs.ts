import {
  emailRecipientSchema,
  MAX_RECIPIENTS,
  notificationIdSchema,
  orgIdSchema,
  runIdSchema,
  syncFailureSchema,
} from '@pinnacle/domain';
import { z } from 'zod';
import type { EnvOf, QueueDefinition } from './queue-definition.js';

/** An alert's ID: the notification job ID it came from (BullMQ-safe, no ':'). */
export const alertIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"');

/**
 * What an email says, per notification type. Only the admin-facing text of a
 * failure travels (never its `details`), so nothing but catalogue text can
 * reach a message.
 */
export const emailContentSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('sync_failed'),
    runId: runIdSchema,
    failure: syncFailureSchema.pick({ code: true, title: true, message: true, remediation: true }),
    /** When the failure episode started. */
    since: z.iso.datetime(),
    /** Failed runs in the episode so far. */
    occurrences: z.number().int().min(1),
    /** 0 for the first alert of an episode, then 1, 2, ... for reminders. */
    reminder: z.number().int().min(0),
  }),
  z.object({
    type: z.literal('sync_recovered'),
    runId: runIdSchema,
    previousFailureCode: z.string().min(1).max(64),
    /** When the episode this success closes started; null when the notifier never saw it. */
    failingSince: z.iso.datetime().nullable(),
    occurrences: z.number().int().min(1).nullable(),
  }),
  z.object({
    type: z.literal('client_secret_expiring'),
    expiresAt: z.iso.datetime(),
    thresholdDays: z.number().int().positive(),
    daysLeft: z.number().int().nonnegative(),
  }),
  z.object({
    type: z.literal('client_secret_expired'),
    expiresAt: z.iso.datetime(),
  }),
  z.object({
    type: z.literal('certificate_expiring'),
    thumbprint: z.string().regex(/^[0-9A-F]{40}$/),
    expiresAt: z.iso.datetime(),
    thresholdDays: z.number().int().positive(),
    daysLeft: z.number().int().nonnegative(),
  }),
  z.object({
    type: z.literal('certificate_expired'),
    thumbprint: z.string().regex(/^[0-9A-F]{40}$/),
    expiresAt: z.iso.datetime(),
  }),
  z.object({
    type: z.literal('certificate_rotated'),
    thumbprint: z.string().regex(/^[0-9A-F]{40}$/),
    notAfter: z.iso.datetime(),
    retiredThumbprints: z
      .array(z.string().regex(/^[0-9A-F]{40}$/))
      .min(1)
      .max(20),
  }),
]);
export type EmailContent = z.infer<typeof emailContentSchema>;

/**
 * One email of one alert, sent on its own queue so an SMTP outage delays
 * only the email. Recipients were checked when settings were saved and are
 * parsed again here: a CR/LF cannot reach a header through this payload.
 */
export const emailJobSchema = z.object({
  alertId: alertIdSchema,
  orgId: orgIdSchema,
  /** The in-app notification whose `delivery.email` this email updates. */
  notificationId: notificationIdSchema,
  to: z.array(emailRecipientSchema).min(1).max(MAX_RECIPIENTS),
  occurredAt: z.iso.datetime(),
  /** The alert that opened the thread (an episode's first email), for References. */
  threadAlertId: alertIdSchema.optional(),
  content: emailContentSchema,
});
export type EmailJob = z.infer<typeof emailJobSchema>;

/** One email job per alert: a replayed fan-out adds it once. */
export const emailJobId = (alertId: string) => `email-${alertId}`;

export type EmailQueueEnv = EnvOf<'NOTIFIER_EMAIL_ATTEMPTS' | 'NOTIFIER_EMAIL_BACKOFF_MS'>;

/**
 * The `email` queue: one job per alert's email, retried through an SMTP
 * outage `NOTIFIER_EMAIL_ATTEMPTS` times from `NOTIFIER_EMAIL_BACKOFF_MS`
 * (doubling; by default the last retry comes about 45 hours after the first
 * try). Kept as long as notification jobs, for the same reason, and as many
 * (an email whose job is gone is still sent once: its notification records
 * the alerts delivered).
 */
export const emailQueueDefinition = {
  name: 'email',
  env: ['NOTIFIER_EMAIL_ATTEMPTS', 'NOTIFIER_EMAIL_BACKOFF_MS'],
  schema: emailJobSchema,
  jobName: (job) => `email ${job.content.type} ${job.orgId}`,
  orgOfJob: (name) => /^email [a-z_]+ ([A-Za-z0-9_-]+)$/.exec(name)?.[1] ?? null,
  jobId: (job) => emailJobId(job.alertId),
  jobOptions: (env) => ({
    attempts: env.NOTIFIER_EMAIL_ATTEMPTS,
    backoff: { type: 'exponential', delay: env.NOTIFIER_EMAIL_BACKOFF_MS, jitter: 0.2 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 20_000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 5_000 },
  }),
} as const satisfies QueueDefinition<'email', EmailJob, EmailQueueEnv>;
