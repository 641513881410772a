import {
  type AlertOptions,
  type AppliedAlert,
  decideEpisode,
  decideRaisedAlert,
  type EmailCapLimits,
  type EpisodeOutcome,
  type EpisodeState,
  emptyEpisodeState,
  isEmailCapped,
  type NotificationType,
  type SyncEvent,
} from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import type { MetricsRecorder } from '@pinnacle/metrics';
import type { NotificationJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import {
  type AlertRepository,
  type IntegrationRepository,
  OrgOffboardedError,
  type StoredNotification,
} from '@pinnacle/redis-store';
import { alertFence, alertIdOf, notificationIdOf } from './alert-ids.js';
import { emailChannel } from './email-channel.js';
import { buildEmailJob } from './email-job.js';
import { buildInAppNotification } from './in-app.js';

export interface AlertDependencies {
  integrations: IntegrationRepository;
  alerts: AlertRepository;
  emailQueue: TypedQueue<'email'>;
  /** SMTP_URL is set: without it every email is `disabled`. */
  smtpConfigured: boolean;
  logger: Logger;
  /** Counts each in-app notification stored, and each email held back. */
  metrics: Pick<MetricsRecorder, 'notificationDelivered'>;
  /** NOTIFIER_EMAIL_CAP_PER_HOUR / _PER_DAY: the org's capped emails, shared by every notifier. */
  emailCap: EmailCapLimits;
}

export interface AlertResult {
  alertId: string;
  /** `offboarded`: the alert's org was offboarded; it wrote nothing. */
  outcome: EpisodeOutcome | 'raised' | 'offboarded';
  notificationId: string | null;
  email: 'queued' | 'disabled' | 'suppressed' | 'none';
}

/** The type a notification job shows as (a reminder is its episode's failure notification). */
function notificationTypeOf(payload: NotificationJob): NotificationType {
  return payload.type === 'sync_failure_reminder' ? 'sync_failed' : payload.type;
}

/** What one round of the compare-and-set decided, for the org's state as read. */
interface Decision {
  outcome: AlertResult['outcome'];
  next: EpisodeState;
  applied: AppliedAlert;
  notification: StoredNotification | null;
}

/** Compare-and-set rounds before giving up (BullMQ then retries the job). */
const MAX_CAS_ROUNDS = 50;

export class EpisodeContentionError extends Error {
  readonly code = 'episode_contention';
  constructor(orgId: string) {
    super(`The failure episode of org ${orgId} kept changing under this alert; will retry`);
    this.name = 'EpisodeContentionError';
  }
}

function syncEvent(payload: NotificationJob, alertId: string): SyncEvent | null {
  const notificationId = notificationIdOf(alertId);
  if (payload.type === 'sync_failed') {
    return {
      kind: 'failed',
      alertId,
      notificationId,
      runId: payload.runId,
      occurredAt: payload.occurredAt,
      code: payload.failure.code,
      episode: payload.episode ?? null,
    };
  }
  if (payload.type === 'sync_failure_reminder') {
    return {
      kind: 'reminder',
      alertId,
      notificationId,
      runId: payload.runId,
      occurredAt: payload.occurredAt,
      code: payload.failure.code,
    };
  }
  if (payload.type === 'sync_recovered') {
    return {
      kind: 'recovered',
      alertId,
      notificationId,
      runId: payload.runId,
      occurredAt: payload.occurredAt,
      previousFailureCode: payload.previousFailureCode,
      episode: payload.episode ?? null,
    };
  }
  return null;
}

/**
 * One notification job: decide (episodes, the email cap), store the in-app
 * notification, then hand the email to its own queue. Every step is keyed
 * by the alert ID, so a retried or crashed job repeats none of them: the
 * decision and the in-app write are one atomic step that remembers the
 * alert (and logs a capped email once), and the email job has a job ID
 * derived from it. An email the cap held back is never queued, on a replay
 * neither. Every write is fenced by what the alert belongs to (its run, or
 * the integration): when its org was offboarded, it writes nothing and says
 * so (`offboarded`).
 */
export async function processNotificationJob(
  payload: NotificationJob,
  deps: AlertDependencies,
): Promise<AlertResult> {
  try {
    return await processAlert(payload, deps);
  } catch (error) {
    if (!(error instanceof OrgOffboardedError)) throw error;
    deps.logger.info(
      { orgId: payload.orgId, type: payload.type },
      'org offboarded; alert dropped, nothing written',
    );
    return {
      alertId: alertIdOf(payload),
      outcome: 'offboarded',
      notificationId: null,
      email: 'none',
    };
  }
}

async function processAlert(
  payload: NotificationJob,
  deps: AlertDependencies,
): Promise<AlertResult> {
  const alertId = alertIdOf(payload);
  const fence = alertFence(payload);
  const { orgId } = payload;
  // Fields per call rather than a child logger per job: a child costs more than the job's own work.
  const log = deps.logger;
  const ids = { orgId, alertId, type: payload.type };
  const event = syncEvent(payload, alertId);
  const type = notificationTypeOf(payload);
  // Outside the episodes only a capped type needs the org's state (the cap's log).
  const stateful = event !== null || isEmailCapped(type);

  const [integration, initial] = await Promise.all([
    deps.integrations.get(orgId),
    stateful ? deps.alerts.readState(orgId) : null,
  ]);
  const channel = emailChannel(integration, deps.smtpConfigured);
  const emailState = channel.enabled ? ('pending' as const) : ('disabled' as const);
  // Only emails that would go out count against the cap.
  const options: AlertOptions = channel.enabled ? { emailCap: deps.emailCap } : {};

  const decide = (state: EpisodeState): Decision => {
    if (event) {
      const decision = decideEpisode(state, event, options);
      const { applied } = decision;
      return {
        outcome: decision.outcome,
        next: decision.next,
        applied,
        notification: applied.notificationId
          ? buildInAppNotification({
              payload,
              alertId,
              notificationId: applied.notificationId,
              episode: decision.episode,
              plan: applied.email,
              email: applied.email ? emailState : null,
              emailCap: deps.emailCap,
            })
          : null,
      };
    }
    const notificationId = notificationIdOf(alertId);
    const decision = decideRaisedAlert(
      state,
      { alertId, notificationId, type, occurredAt: payload.occurredAt },
      options,
    );
    return {
      outcome: decision.outcome,
      next: decision.next,
      applied: decision.applied,
      notification: buildInAppNotification({
        payload,
        alertId,
        notificationId,
        episode: null,
        plan: decision.applied.email,
        email: emailState,
        emailCap: deps.emailCap,
      }),
    };
  };

  let decision: Decision;
  let committed = false;
  if (initial) {
    let current = initial;
    for (let round = 0; ; round++) {
      if (round >= MAX_CAS_ROUNDS) throw new EpisodeContentionError(orgId);
      decision = decide(current.state);
      // Nothing to store: a replay, or a reminder that is not due.
      if (decision.next === current.state) {
        // A replay may follow a crash between the commit and the index below.
        if (decision.outcome === 'replay' && event) {
          await deps.alerts.setReminderDue(
            orgId,
            current.state.open?.nextReminderAt ?? null,
            fence,
          );
        }
        break;
      }
      if (
        await deps.alerts.commit(orgId, current.raw, decision.next, decision.notification, fence)
      ) {
        committed = true;
        // The reminder scan's index follows the open episode. Not in the same
        // step (another Redis slot): if this is lost, the org's next alert
        // sets it again.
        const due = decision.next.open?.nextReminderAt ?? null;
        if (due !== (current.state.open?.nextReminderAt ?? null)) {
          await deps.alerts.setReminderDue(orgId, due, fence);
        }
        break;
      }
      current = await deps.alerts.readState(orgId);
    }
  } else {
    decision = decide(emptyEpisodeState);
  }
  if (!event && !committed && decision.outcome === 'raised' && decision.notification) {
    // Outside the episodes, with nothing of the state to store (an exempt
    // type, or email off): written alone, idempotent by its ID.
    await deps.alerts.upsertNotification(orgId, decision.notification, fence);
  }
  const { outcome, applied } = decision;

  const notificationId = applied.notificationId;
  if (notificationId === null) {
    log.debug({ ...ids, outcome }, 'nothing to deliver');
    return { alertId, outcome, notificationId, email: 'none' };
  }
  void deps.metrics.notificationDelivered('inApp', 'delivered');
  log.info({ ...ids, outcome, notificationId }, 'in-app alert stored');

  if (!applied.email) return { alertId, outcome, notificationId, email: 'none' };
  if (applied.email.suppressedUntil !== undefined) {
    // Stored as such with the notification, in the step that decided it.
    if (outcome !== 'replay') void deps.metrics.notificationDelivered('email', 'suppressed');
    log.info(
      { ...ids, outcome, notificationId, until: applied.email.suppressedUntil },
      "email held back by the org's email cap",
    );
    return { alertId, outcome, notificationId, email: 'suppressed' };
  }
  if (!channel.enabled) {
    // Stored as such with the notification, unless this replays an alert
    // first decided while email was on (the settings changed in between).
    if (outcome === 'replay' || outcome === 'raised') {
      await deps.alerts.recordEmail(orgId, notificationId, alertId, 'disabled');
    }
    log.debug({ ...ids, reason: channel.reason }, 'email channel disabled');
    return { alertId, outcome, notificationId, email: 'disabled' };
  }
  const job = buildEmailJob({
    payload,
    alertId,
    notificationId,
    plan: applied.email,
    recipients: channel.recipients,
  });
  // Its job ID is derived from the alert: a replayed fan-out adds it once.
  const added = await deps.emailQueue.add(job);
  if (!(await deps.integrations.exists(orgId))) {
    // Offboarded meanwhile: take it back (an email worker that already took
    // it finds the integration gone and sends nothing).
    if (added.id) await deps.emailQueue.queue.remove(added.id);
    throw new OrgOffboardedError(orgId);
  }
  return { alertId, outcome, notificationId, email: 'queued' };
}
