import {
  type AppliedAlert,
  decideEpisode,
  type EpisodeOutcome,
  type SyncEvent,
} from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import type { MetricsRecorder } from '@pinnacle/metrics';
import type { NotificationJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import type {
  AlertRepository,
  IntegrationRepository,
  StoredNotification,
} from '@pinnacle/redis-store';
import { alertIdOf, notificationIdOf } from './alert-ids.js';
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
  /** Counts each in-app notification stored. */
  metrics: Pick<MetricsRecorder, 'notificationDelivered'>;
}

export interface AlertResult {
  alertId: string;
  outcome: EpisodeOutcome | 'raised';
  notificationId: string | null;
  email: 'queued' | 'disabled' | 'none';
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
 * One notification job: decide (episodes), store the in-app notification,
 * then hand the email to its own queue. Every step is keyed by the alert ID,
 * so a retried or crashed job repeats none of them: the episode and the
 * in-app write are one atomic step that remembers the alert, and the email
 * job has a job ID derived from it.
 */
export async function processNotificationJob(
  payload: NotificationJob,
  deps: AlertDependencies,
): Promise<AlertResult> {
  const alertId = alertIdOf(payload);
  const { orgId } = payload;
  // Fields per call rather than a child logger per job: a child costs more than the job's own work.
  const log = deps.logger;
  const ids = { orgId, alertId, type: payload.type };
  const event = syncEvent(payload, alertId);

  const [integration, initial] = await Promise.all([
    deps.integrations.get(orgId),
    event ? deps.alerts.readState(orgId) : null,
  ]);
  const channel = emailChannel(integration, deps.smtpConfigured);
  const emailState = channel.enabled ? ('pending' as const) : ('disabled' as const);

  let applied: AppliedAlert;
  let outcome: AlertResult['outcome'];
  if (event && initial) {
    let current = initial;
    for (let round = 0; ; round++) {
      if (round >= MAX_CAS_ROUNDS) throw new EpisodeContentionError(orgId);
      const decision = decideEpisode(current.state, event);
      applied = decision.applied;
      outcome = decision.outcome;
      // Nothing to store: a replay, or a reminder that is not due.
      if (decision.next === current.state) {
        // A replay may follow a crash between the commit and the index below.
        if (outcome === 'replay') {
          await deps.alerts.setReminderDue(orgId, current.state.open?.nextReminderAt ?? null);
        }
        break;
      }
      const notification: StoredNotification | null = applied.notificationId
        ? buildInAppNotification({
            payload,
            alertId,
            notificationId: applied.notificationId,
            episode: decision.episode,
            plan: applied.email,
            email: applied.email ? emailState : null,
          })
        : null;
      if (await deps.alerts.commit(orgId, current.raw, decision.next, notification)) {
        // The reminder scan's index follows the open episode. Not in the same
        // step (another Redis slot): if this is lost, the org's next alert
        // sets it again.
        const due = decision.next.open?.nextReminderAt ?? null;
        if (due !== (current.state.open?.nextReminderAt ?? null)) {
          await deps.alerts.setReminderDue(orgId, due);
        }
        break;
      }
      current = await deps.alerts.readState(orgId);
    }
  } else {
    const notificationId = notificationIdOf(alertId);
    applied = {
      alertId,
      outcome: 'raised',
      notificationId,
      email: {
        reminder: 0,
        since: null,
        occurrences: null,
        threadAlertId: null,
        failureCode: null,
      },
    };
    outcome = 'raised';
    await deps.alerts.upsertNotification(
      orgId,
      buildInAppNotification({
        payload,
        alertId,
        notificationId,
        episode: null,
        plan: applied.email,
        email: emailState,
      }),
    );
  }

  const notificationId = applied.notificationId;
  if (notificationId === null) {
    log.debug({ ...ids, outcome }, 'nothing to deliver');
    return { alertId, outcome, notificationId, email: 'none' };
  }
  void deps.metrics.notificationDelivered('inApp', 'delivered');
  log.info({ ...ids, outcome, notificationId }, 'in-app alert stored');

  if (!applied.email) return { alertId, outcome, notificationId, email: 'none' };
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
  await deps.emailQueue.add(job);
  return { alertId, outcome, notificationId, email: 'queued' };
}
