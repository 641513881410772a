import {
  type AlertedEpisode,
  DEFAULT_EMAIL_CAP,
  type EmailCapLimits,
  type EmailPlan,
  NOTIFICATION_SEVERITY,
} from '@pinnacle/domain';
import type { NotificationJob } from '@pinnacle/queue-contracts';
import type { StoredNotification } from '@pinnacle/redis-store';
import {
  certificateExpiredText,
  certificateExpiringText,
  certificateRotatedText,
  emailHeldBackText,
  expiredText,
  expiringText,
  recoveredText,
} from './alert-text.js';

export interface InAppInput {
  payload: NotificationJob;
  alertId: string;
  notificationId: string;
  /** sync_failed: the episode after this event. */
  episode: AlertedEpisode | null;
  /**
   * What this alert's email says (sync_recovered: the episode it closed, as
   * the worker recorded it); null when it sends none.
   */
  plan: EmailPlan | null;
  /**
   * The email this alert starts ('pending' or 'disabled'; `suppressed` when
   * the plan says the email cap held it back); null when it starts none (a repeat).
   */
  email: 'pending' | 'disabled' | null;
  /** The org's email cap, named in the line of a held-back email. */
  emailCap?: EmailCapLimits;
}

/** The message, with the held-back line while the email it stands for is held back. */
function withHeldBack(message: string, until: string | null | undefined, cap: EmailCapLimits) {
  return until ? `${message}\n\n${emailHeldBackText({ until, limits: cap })}` : message;
}

/**
 * The in-app notification an alert writes. For a failure it is the
 * episode's one notification: a repeat rewrites it with the new count and
 * last-seen time, and the store keeps its createdAt, readAt and email state.
 */
export function buildInAppNotification(input: InAppInput): StoredNotification {
  const { payload, episode } = input;
  const cap = input.emailCap ?? DEFAULT_EMAIL_CAP;
  const held = input.email !== null && input.plan?.suppressedUntil !== undefined;
  const delivery = {
    inApp: 'delivered' as const,
    // Ignored by the store's merge when the alert starts no email.
    email: held ? ('suppressed' as const) : (input.email ?? ('disabled' as const)),
  };
  // A reminder shows as the episode's own failure notification, rewritten.
  const type = payload.type === 'sync_failure_reminder' ? 'sync_failed' : payload.type;
  const base = {
    id: input.notificationId,
    type,
    severity: NOTIFICATION_SEVERITY[type],
    readAt: null,
    delivery,
    emailAlertId: input.email ? input.alertId : null,
  };
  switch (payload.type) {
    case 'sync_failed':
    case 'sync_failure_reminder': {
      const e = episode ?? {
        notificationId: input.notificationId,
        count: 1,
        firstSeenAt: payload.occurredAt,
        lastSeenAt: payload.occurredAt,
        openedAt: payload.occurredAt,
        lastRunId: payload.runId,
      };
      return {
        ...base,
        id: e.notificationId,
        title: payload.failure.title,
        // Every write of the episode's notification says it while its latest email is held back.
        message: withHeldBack(payload.failure.message, episode?.emailHeldUntil, cap),
        failureCode: payload.failure.code,
        runId: e.lastRunId,
        count: e.count,
        firstSeenAt: e.firstSeenAt,
        lastSeenAt: e.lastSeenAt,
        createdAt: e.openedAt,
      };
    }
    case 'sync_recovered': {
      // Says what the recovery email says about the closed episode.
      const { plan } = input;
      const failureCode = plan?.failureCode ?? payload.previousFailureCode;
      const text = recoveredText({
        runId: payload.runId,
        failureCode,
        since: plan?.since ?? null,
        occurrences: plan?.occurrences ?? null,
      });
      return {
        ...base,
        ...text,
        message: withHeldBack(text.message, plan?.suppressedUntil, cap),
        failureCode,
        runId: payload.runId,
        count: 1,
        firstSeenAt: payload.occurredAt,
        lastSeenAt: payload.occurredAt,
        createdAt: payload.occurredAt,
      };
    }
    case 'client_secret_expiring':
    case 'client_secret_expired':
    case 'certificate_expiring':
    case 'certificate_expired':
    case 'certificate_rotated': {
      const text = credentialText(payload);
      return {
        ...base,
        ...text,
        message: withHeldBack(text.message, input.plan?.suppressedUntil, cap),
        failureCode: null,
        runId: null,
        count: 1,
        firstSeenAt: payload.occurredAt,
        lastSeenAt: payload.occurredAt,
        createdAt: payload.occurredAt,
      };
    }
  }
}

type CredentialJob = Extract<
  NotificationJob,
  {
    type:
      | 'client_secret_expiring'
      | 'client_secret_expired'
      | 'certificate_expiring'
      | 'certificate_expired'
      | 'certificate_rotated';
  }
>;

/** The text of a notification about a credential (the secret's or a certificate's). */
function credentialText(payload: CredentialJob) {
  switch (payload.type) {
    case 'client_secret_expiring':
      return expiringText(payload);
    case 'client_secret_expired':
      return expiredText(payload);
    case 'certificate_expiring':
      return certificateExpiringText({ ...payload, thumbprint: payload.certificate.thumbprint });
    case 'certificate_expired':
      return certificateExpiredText({ ...payload, thumbprint: payload.certificate.thumbprint });
    case 'certificate_rotated':
      return certificateRotatedText({
        thumbprint: payload.certificate.thumbprint,
        notAfter: payload.certificate.notAfter,
        retiredThumbprints: payload.retired.map((c) => c.thumbprint),
      });
  }
}
