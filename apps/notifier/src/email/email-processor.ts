import type { Logger } from '@pinnacle/logging';
import type { MetricsRecorder } from '@pinnacle/metrics';
import type { EmailJob } from '@pinnacle/queue-contracts';
import type { AlertRepository, IntegrationRepository } from '@pinnacle/redis-store';
import { type Job, UnrecoverableError } from 'bullmq';
import { classifySmtpError, type Mailer } from './mailer.js';
import { type RenderContext, renderEmail } from './render.js';

export interface EmailDependencies {
  alerts: AlertRepository;
  /** An email goes out only while its org has an integration (not once it is offboarded). */
  integrations: Pick<IntegrationRepository, 'exists'>;
  /** Null when SMTP_URL is unset: the email is recorded as disabled. */
  mailer: Mailer | null;
  render: RenderContext;
  logger: Logger;
  /** Counts each attempt's outcome: delivered, disabled, retrying, or failed for good. */
  metrics: Pick<MetricsRecorder, 'notificationDelivered'>;
}

/** `offboarded`: the org has no integration any more; nothing was sent. */
export type EmailResult = { status: 'sent' | 'already_delivered' | 'disabled' | 'offboarded' };

/**
 * One attempt at one alert's email. An email the SMTP server accepted is
 * recorded on the notification at once and never sent again, whatever
 * happens to this job afterwards. Connection trouble and 4xx replies are
 * retried by BullMQ with backoff (the notification says `pending`); a 5xx or
 * the last attempt marks it `failed`. The in-app alert never waits on this.
 */
export async function processEmailJob(
  payload: EmailJob,
  job: Job,
  deps: EmailDependencies,
): Promise<EmailResult> {
  try {
    const result = await deliver(payload, job, deps);
    if (result.status === 'sent') void deps.metrics.notificationDelivered('email', 'delivered');
    if (result.status === 'disabled') void deps.metrics.notificationDelivered('email', 'disabled');
    return result;
  } catch (error) {
    // Whatever failed (SMTP or Redis): BullMQ retries it unless it was the last attempt.
    const final =
      error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    void deps.metrics.notificationDelivered('email', final ? 'failed' : 'retrying');
    throw error;
  }
}

async function deliver(payload: EmailJob, job: Job, deps: EmailDependencies): Promise<EmailResult> {
  const { orgId, notificationId, alertId } = payload;
  const log = deps.logger.child({ orgId, alertId, notificationId, jobId: job.id });

  if (!(await deps.integrations.exists(orgId))) {
    log.info('org offboarded; email not sent');
    return { status: 'offboarded' };
  }
  if (await deps.alerts.emailDelivered(orgId, notificationId, alertId)) {
    await deps.alerts.recordEmail(orgId, notificationId, alertId, 'delivered');
    log.info('email already delivered; not sending again');
    return { status: 'already_delivered' };
  }
  if (!deps.mailer) {
    await deps.alerts.recordEmail(orgId, notificationId, alertId, 'disabled');
    return { status: 'disabled' };
  }

  const message = renderEmail(payload, deps.render);
  try {
    await deps.mailer.send(message, payload.to);
  } catch (error) {
    const failure = classifySmtpError(error);
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? 1;
    if (failure.permanent || attempt >= attempts) {
      await deps.alerts.recordEmail(orgId, notificationId, alertId, 'failed');
      log.error({ err: error, ...failure, attempt, attempts }, 'email not delivered; giving up');
      if (failure.permanent) {
        throw new UnrecoverableError(`${failure.code}: SMTP ${failure.responseCode}`);
      }
      throw error;
    }
    log.warn({ err: error, ...failure, attempt, attempts }, 'email not delivered; will retry');
    throw error;
  }
  await deps.alerts.recordEmail(orgId, notificationId, alertId, 'delivered');
  log.info({ recipients: payload.to.length }, 'email delivered');
  return { status: 'sent' };
}
