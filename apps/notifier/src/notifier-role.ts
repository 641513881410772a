import { randomBytes } from 'node:crypto';
import type { Env } from '@pinnacle/config';
import { type Logger, secretScrubber } from '@pinnacle/logging';
import { createMetricsRecorder } from '@pinnacle/metrics';
import {
  emailJobOptions,
  failureReminderScanSchedulerId,
  notificationJobOptions,
  queues,
  secretExpiryScanSchedulerId,
} from '@pinnacle/queue-contracts';
import { createRedisConnection, createTypedWorker, TypedQueue } from '@pinnacle/queue-runtime';
import { createStores } from '@pinnacle/redis-store';
import { UnrecoverableError, type Worker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { type AlertResult, processNotificationJob } from './alerts/alert-processor.js';
import { type EmailResult, processEmailJob } from './email/email-processor.js';
import { createSmtpMailer } from './email/mailer.js';
import { messageIdDomainOf } from './email/render.js';
import { type ReminderScanResult, scanFailureReminders } from './episodes/reminder-scan.js';
import { type ExpiryScanResult, scanSecretExpiry } from './expiry/expiry-scan.js';

export type NotifierEnv = Pick<
  Env,
  | 'REDIS_URL'
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
>;

/** Daily at 05:00 UTC: before the working day in Europe, late evening in the Americas. */
export const DEFAULT_EXPIRY_SCAN_PATTERN = '0 5 * * *';
/** Hourly: a reminder is due days after its episode opened, so an hour late is fine. */
export const DEFAULT_REMINDER_SCAN_PATTERN = '17 * * * *';

export interface NotifierOptions {
  /** The clock of the secret-expiry scan (tests control it). */
  now?: () => Date;
  /** Cron pattern (UTC) of the daily secret-expiry scan. */
  expiryScanPattern?: string;
  /** Cron pattern (UTC) of the failure-reminder scan. */
  reminderScanPattern?: string;
  /** Called once an alert's in-app notification is stored. */
  onInAppStored?: (orgId: string, notificationId: string) => void;
  /** Test only (NOTIFIER_TEST_PAUSE_AFTER_IN_APP_MS): pause between the in-app write and the email hand-off. */
  pauseAfterInAppMs?: number;
}

export interface NotifierRole {
  notificationWorker: Worker;
  emailWorker: Worker;
  maintenanceWorker: Worker;
  /** Runs the secret-expiry scan now, as the daily job does. */
  scanSecretExpiry(): Promise<ExpiryScanResult>;
  /** Runs the failure-reminder scan now, as the hourly job does. */
  scanFailureReminders(): Promise<ReminderScanResult>;
  /** Stops taking jobs, lets the current ones finish, closes SMTP and Redis connections. */
  close(): Promise<void>;
}

/**
 * The notifier role: consumes the `notifications` queue (episodes, in-app
 * alerts, email hand-off), the `email` queue (SMTP, retried on its own) and
 * the `maintenance` queue (the daily secret-expiry scan, whose job scheduler
 * it registers). Resolves once the workers are connected and the schedule is
 * in place.
 */
export async function startNotifierRole(
  env: NotifierEnv,
  logger: Logger,
  options: NotifierOptions = {},
): Promise<NotifierRole> {
  const log = logger.child({ component: 'notifier' });
  const now = options.now ?? (() => new Date());
  const connections: Redis[] = [];
  const connect = (extra: RedisOptions = {}) => {
    const c = createRedisConnection(env.REDIS_URL, 'worker', extra);
    c.on('error', (error) => log.warn({ err: error }, 'redis connection error'));
    connections.push(c);
    return c;
  };
  // Concurrent jobs' commands leave in one write per tick instead of one each.
  const storeConnection = connect({ enableAutoPipelining: true });
  const queueConnection = connect();
  // The notifier reads settings but never a secret: a throwaway key makes
  // sure it could not decrypt one even by mistake.
  const stores = createStores(
    storeConnection,
    env.QUEUE_PREFIX,
    randomBytes(32).toString('base64'),
  );
  const queueOptions = { connection: queueConnection, prefix: env.QUEUE_PREFIX };
  const emailQueue = new TypedQueue('email', queueOptions);
  const notificationQueue = new TypedQueue('notifications', {
    ...queueOptions,
    defaultJobOptions: notificationJobOptions(),
  });
  const maintenanceQueue = new TypedQueue('maintenance', queueOptions);
  const mailer =
    env.SMTP_URL && env.MAIL_FROM
      ? createSmtpMailer({
          smtpUrl: env.SMTP_URL,
          from: env.MAIL_FROM,
          maxConnections: env.NOTIFIER_EMAIL_CONCURRENCY,
        })
      : null;
  const lock = {
    lockDuration: env.NOTIFIER_LOCK_DURATION_MS,
    stalledInterval: env.NOTIFIER_STALLED_INTERVAL_MS,
    // Every step is idempotent, so a job whose process died may run again freely.
    maxStalledCount: 5,
  };
  const emailOptions = emailJobOptions({
    attempts: env.NOTIFIER_EMAIL_ATTEMPTS,
    backoffDelayMs: env.NOTIFIER_EMAIL_BACKOFF_MS,
  });

  // Fleet-wide delivery counts for /metrics (never fails a delivery).
  // On the store connection: batched into the same writes as the alerts' own commands.
  const metrics = createMetricsRecorder(storeConnection, env.QUEUE_PREFIX, {
    onError: (error) => log.warn({ err: error }, 'metrics not recorded'),
  });
  const onInAppStored = (orgId: string, notificationId: string) => {
    metrics.notificationDelivered('inApp', 'delivered');
    options.onInAppStored?.(orgId, notificationId);
  };

  const notificationWorker = createTypedWorker(
    'notifications',
    (payload): Promise<AlertResult> =>
      processNotificationJob(payload, {
        integrations: stores.integrations,
        alerts: stores.alerts,
        emailQueue,
        emailJobOptions: emailOptions,
        smtpConfigured: mailer !== null,
        logger: log,
        onInAppStored,
        ...(options.pauseAfterInAppMs ? { pauseAfterInAppMs: options.pauseAfterInAppMs } : {}),
      }),
    {
      connection: connect(),
      prefix: env.QUEUE_PREFIX,
      logger: log,
      concurrency: env.NOTIFIER_CONCURRENCY,
      ...lock,
    },
  );

  const emailWorker = createTypedWorker(
    'email',
    (payload, job) =>
      processEmailJob(payload, job, {
        alerts: stores.alerts,
        mailer,
        render: {
          portalBaseUrl: env.PORTAL_BASE_URL,
          messageIdDomain: messageIdDomainOf(env.MAIL_FROM),
          scrub: (text) => secretScrubber.scrubString(text),
        },
        logger: log,
      }),
    {
      connection: connect(),
      prefix: env.QUEUE_PREFIX,
      logger: log,
      concurrency: env.NOTIFIER_EMAIL_CONCURRENCY,
      ...lock,
    },
  );

  emailWorker.on('completed', (_job, result: EmailResult) => {
    if (result?.status === 'sent') metrics.notificationDelivered('email', 'delivered');
    else if (result?.status === 'disabled') metrics.notificationDelivered('email', 'disabled');
  });
  emailWorker.on('failed', (job, error) => {
    const final =
      error instanceof UnrecoverableError || (job && job.attemptsMade >= (job.opts.attempts ?? 1));
    metrics.notificationDelivered('email', final ? 'failed' : 'retrying');
  });

  const scan = () =>
    scanSecretExpiry({
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
  const maintenanceWorker = createTypedWorker(
    'maintenance',
    async (payload) => {
      switch (payload.task) {
        case 'scan_secret_expiry':
          return scan();
        case 'scan_failure_reminders':
          return reminderScan();
      }
    },
    { connection: connect(), prefix: env.QUEUE_PREFIX, logger: log, concurrency: 1, ...lock },
  );

  const close = async () => {
    await Promise.allSettled([
      notificationWorker.close(),
      emailWorker.close(),
      maintenanceWorker.close(),
    ]);
    await Promise.allSettled([
      emailQueue.close(),
      notificationQueue.close(),
      maintenanceQueue.close(),
    ]);
    mailer?.close();
    await Promise.allSettled(connections.map((c) => c.quit()));
  };

  try {
    // Upserting is idempotent: every notifier instance does it at start, one schedule results.
    const schedules = [
      {
        id: secretExpiryScanSchedulerId,
        pattern: options.expiryScanPattern ?? DEFAULT_EXPIRY_SCAN_PATTERN,
        task: 'scan_secret_expiry',
      },
      {
        id: failureReminderScanSchedulerId,
        pattern: options.reminderScanPattern ?? DEFAULT_REMINDER_SCAN_PATTERN,
        task: 'scan_failure_reminders',
      },
    ] as const;
    for (const schedule of schedules) {
      await maintenanceQueue.queue.upsertJobScheduler(
        schedule.id,
        { pattern: schedule.pattern, tz: 'UTC' },
        {
          name: queues.maintenance.jobName,
          data: { task: schedule.task },
          opts: {
            attempts: 5,
            backoff: { type: 'exponential', delay: 60_000 },
            removeOnComplete: { count: 30 },
            removeOnFail: { count: 30 },
          },
        },
      );
    }
    await Promise.all([
      notificationWorker.waitUntilReady(),
      emailWorker.waitUntilReady(),
      maintenanceWorker.waitUntilReady(),
    ]);
  } catch (error) {
    await close();
    throw error;
  }
  log.info({ email: mailer ? 'smtp' : 'disabled' }, 'notifier started');

  return {
    notificationWorker,
    emailWorker,
    maintenanceWorker,
    scanSecretExpiry: scan,
    scanFailureReminders: reminderScan,
    close,
  };
}
