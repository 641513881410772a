import { randomBytes } from 'node:crypto';
import { type Env, securityDefaults } from '@pinnacle/config';
import { type Logger, secretScrubber } from '@pinnacle/logging';
import { type MaintenanceTask, maintenanceSchedules } from '@pinnacle/queue-contracts';
import { redisTarget, WorkerRegistry } from '@pinnacle/queue-runtime';
import { createStores } from '@pinnacle/redis-store';
import type { Worker } from 'bullmq';
import { type AlertResult, processNotificationJob } from './alerts/alert-processor.js';
import { processEmailJob } from './email/email-processor.js';
import { createSmtpMailer } from './email/mailer.js';
import { messageIdDomainOf } from './email/render.js';
import { type ReminderScanResult, scanFailureReminders } from './episodes/reminder-scan.js';
import {
  type CertificateExpiryScanResult,
  scanCertificateExpiry,
} from './expiry/certificate-expiry-scan.js';
import { type ExpiryScanResult, scanSecretExpiry } from './expiry/expiry-scan.js';

export type NotifierEnv = Pick<
  Env,
  | 'REDIS_URL'
  | 'REDIS_CLUSTER_NODES'
  | 'QUEUE_PREFIX'
  | 'SMTP_URL'
  | 'MAIL_FROM'
  | 'PORTAL_BASE_URL'
  | 'NOTIFIER_CONCURRENCY'
  | 'NOTIFIER_EMAIL_CONCURRENCY'
  | 'NOTIFIER_EMAIL_ATTEMPTS'
  | 'NOTIFIER_EMAIL_BACKOFF_MS'
  | 'NOTIFIER_LOCK_DURATION_MS'
  | 'NOTIFIER_STALLED_INTERVAL_MS'
> &
  // The email cap: loadEnv fills the defaults; a hand-built env may leave them out.
  Partial<Pick<Env, 'NOTIFIER_EMAIL_CAP_PER_HOUR' | 'NOTIFIER_EMAIL_CAP_PER_DAY'>>;

export interface NotifierOptions {
  /** The clock of the secret-expiry scan (tests control it). */
  now?: () => Date;
  /** Cron pattern (UTC) of the daily secret-expiry scan. */
  expiryScanPattern?: string;
  /** Cron pattern (UTC) of the failure-reminder scan. */
  reminderScanPattern?: string;
}

export interface NotifierRole {
  notificationWorker: Worker;
  emailWorker: Worker;
  maintenanceWorker: Worker;
  /** Runs the secret-expiry scan now, as the daily job does. */
  scanSecretExpiry(): Promise<ExpiryScanResult>;
  /** Runs the certificate-expiry scan now, as the daily job does (after the secret's). */
  scanCertificateExpiry(): Promise<CertificateExpiryScanResult>;
  /** Runs the failure-reminder scan now, as the hourly job does. */
  scanFailureReminders(): Promise<ReminderScanResult>;
  /** Stops taking jobs, lets the current ones finish, closes SMTP and Redis connections. */
  close(): Promise<void>;
}

/**
 * The notifier role: consumes the `notifications` queue (episodes, in-app
 * alerts, email hand-off), the `email` queue (SMTP, retried on its own) and
 * the `maintenance` queue (the secret-expiry and failure-reminder scans,
 * whose job schedulers it registers), every worker started by the role's
 * worker registry. Resolves once the workers are connected and the
 * schedules are in place.
 */
export async function startNotifierRole(
  env: NotifierEnv,
  logger: Logger,
  options: NotifierOptions = {},
): Promise<NotifierRole> {
  const now = options.now ?? (() => new Date());
  const registry = new WorkerRegistry({
    role: 'notifier',
    redis: redisTarget(env),
    prefix: env.QUEUE_PREFIX,
    logger,
    lock: {
      lockDuration: env.NOTIFIER_LOCK_DURATION_MS,
      stalledInterval: env.NOTIFIER_STALLED_INTERVAL_MS,
      // Every step is idempotent, so a job whose process died may run again freely.
      maxStalledCount: 5,
    },
  });
  const log = registry.log;
  // The notifier reads settings but never a secret: a throwaway key makes
  // sure it could not decrypt one even by mistake.
  const stores = createStores(
    registry.storeConnection,
    env.QUEUE_PREFIX,
    randomBytes(32).toString('base64'),
  );
  const emailQueue = registry.queue('email', env);
  const notificationQueue = registry.queue('notifications', env);
  const maintenanceQueue = registry.queue('maintenance', env);
  const mailer =
    env.SMTP_URL && env.MAIL_FROM
      ? createSmtpMailer({
          smtpUrl: env.SMTP_URL,
          from: env.MAIL_FROM,
          maxConnections: env.NOTIFIER_EMAIL_CONCURRENCY,
        })
      : null;
  if (mailer) registry.onClose(() => mailer.close());
  const emailCap = {
    perHour: env.NOTIFIER_EMAIL_CAP_PER_HOUR ?? securityDefaults.NOTIFIER_EMAIL_CAP_PER_HOUR,
    perDay: env.NOTIFIER_EMAIL_CAP_PER_DAY ?? securityDefaults.NOTIFIER_EMAIL_CAP_PER_DAY,
  };

  const notificationWorker = registry.worker(
    'notifications',
    async (payload, { metrics, discard }): Promise<AlertResult> => {
      const result = await processNotificationJob(payload, {
        integrations: stores.integrations,
        alerts: stores.alerts,
        emailQueue,
        smtpConfigured: mailer !== null,
        logger: log,
        metrics,
        emailCap,
      });
      // Nothing of an offboarded org may stay, its finished jobs included.
      if (result.outcome === 'offboarded') discard();
      return result;
    },
    { concurrency: env.NOTIFIER_CONCURRENCY },
  );

  const emailWorker = registry.worker(
    'email',
    async (payload, { job, metrics, discard }) => {
      const result = await processEmailJob(payload, job, {
        alerts: stores.alerts,
        integrations: stores.integrations,
        mailer,
        render: {
          portalBaseUrl: env.PORTAL_BASE_URL,
          messageIdDomain: messageIdDomainOf(env.MAIL_FROM),
          scrub: (text) => secretScrubber.scrubString(text),
        },
        logger: log,
        metrics,
      });
      if (result.status === 'offboarded') discard();
      return result;
    },
    { concurrency: env.NOTIFIER_EMAIL_CONCURRENCY },
  );

  const scan = () =>
    scanSecretExpiry({
      integrations: stores.integrations,
      expiryWarnings: stores.expiryWarnings,
      notificationQueue,
      now,
      logger: log,
    });
  const certificateScan = () =>
    scanCertificateExpiry({
      certificates: stores.certificates,
      integrations: stores.integrations,
      expiryWarnings: stores.expiryWarnings,
      notificationQueue,
      now,
      logger: log,
    });
  const reminderScan = () =>
    scanFailureReminders({
      alerts: stores.alerts,
      runs: stores.runs,
      notificationQueue,
      now,
      logger: log,
    });
  const maintenanceWorker = registry.worker(
    'maintenance',
    async (payload) => {
      switch (payload.task) {
        case 'scan_secret_expiry': {
          // The daily credential-expiry job: the secret's, then the certificates'.
          const secrets = await scan();
          const certificates = await certificateScan();
          return { ...secrets, certificates };
        }
        case 'scan_failure_reminders':
          return reminderScan();
      }
    },
    { concurrency: 1 },
  );

  try {
    // Upserting is idempotent: every notifier instance does it at start, one schedule results.
    const patterns: Record<MaintenanceTask, string> = {
      scan_secret_expiry:
        options.expiryScanPattern ?? maintenanceSchedules.scan_secret_expiry.pattern,
      scan_failure_reminders:
        options.reminderScanPattern ?? maintenanceSchedules.scan_failure_reminders.pattern,
    };
    for (const task of Object.keys(patterns) as MaintenanceTask[]) {
      await maintenanceQueue.upsertScheduler(
        maintenanceSchedules[task].schedulerId,
        { pattern: patterns[task], tz: 'UTC' },
        { task },
      );
    }
    await registry.ready();
  } catch (error) {
    await registry.close();
    throw error;
  }
  log.info({ email: mailer ? 'smtp' : 'disabled', emailCap }, 'notifier started');

  return {
    notificationWorker,
    emailWorker,
    maintenanceWorker,
    scanSecretExpiry: scan,
    scanCertificateExpiry: certificateScan,
    scanFailureReminders: reminderScan,
    close: () => registry.close(),
  };
}
