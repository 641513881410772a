import type { EmailPlan } from '@pinnacle/domain';
import type { EmailContent, EmailJob, NotificationJob } from '@pinnacle/queue-contracts';

/** The email job of an alert: what its email says, decided from the payload and the plan. */
export function buildEmailJob(args: {
  payload: NotificationJob;
  alertId: string;
  notificationId: string;
  plan: EmailPlan;
  recipients: string[];
}): EmailJob {
  const { payload, plan } = args;
  let content: EmailContent;
  switch (payload.type) {
    case 'sync_failed':
    case 'sync_failure_reminder':
      content = {
        type: 'sync_failed',
        runId: payload.runId,
        failure: {
          code: payload.failure.code,
          title: payload.failure.title,
          message: payload.failure.message,
          remediation: payload.failure.remediation,
        },
        since: plan.since ?? payload.occurredAt,
        occurrences: plan.occurrences ?? 1,
        reminder: plan.reminder,
      };
      break;
    case 'sync_recovered':
      content = {
        type: 'sync_recovered',
        runId: payload.runId,
        previousFailureCode: plan.failureCode ?? payload.previousFailureCode,
        failingSince: plan.since,
        occurrences: plan.occurrences,
      };
      break;
    case 'client_secret_expiring':
      content = {
        type: 'client_secret_expiring',
        expiresAt: payload.expiresAt,
        thresholdDays: payload.thresholdDays,
        daysLeft: payload.daysLeft,
      };
      break;
    case 'client_secret_expired':
      content = { type: 'client_secret_expired', expiresAt: payload.expiresAt };
      break;
    case 'certificate_expiring':
      content = {
        type: 'certificate_expiring',
        thumbprint: payload.certificate.thumbprint,
        expiresAt: payload.expiresAt,
        thresholdDays: payload.thresholdDays,
        daysLeft: payload.daysLeft,
      };
      break;
    case 'certificate_expired':
      content = {
        type: 'certificate_expired',
        thumbprint: payload.certificate.thumbprint,
        expiresAt: payload.expiresAt,
      };
      break;
    case 'certificate_rotated':
      content = {
        type: 'certificate_rotated',
        thumbprint: payload.certificate.thumbprint,
        notAfter: payload.certificate.notAfter,
        retiredThumbprints: payload.retired.map((c) => c.thumbprint),
      };
      break;
  }
  return {
    alertId: args.alertId,
    orgId: payload.orgId,
    notificationId: args.notificationId,
    to: args.recipients,
    occurredAt: payload.occurredAt,
    ...(plan.threadAlertId ? { threadAlertId: plan.threadAlertId } : {}),
    content,
  };
}
