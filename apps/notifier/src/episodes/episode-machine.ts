import {
  type AppliedAlert,
  type EmailPlan,
  type Episode,
  type EpisodeState,
  RECENT_ALERTS_KEPT,
} from '@pinnacle/redis-store';

const DAY_MS = 24 * 3600 * 1000;

/** Emails one failure episode may send: the first alert and five reminders. */
export const MAX_EMAILS_PER_EPISODE = 6;

/** Days after an episode opens that its k-th reminder (1-based) is due: 1, 3, 7, then weekly. */
export function reminderOffsetDays(k: number): number {
  if (k <= 0) return 0;
  if (k <= 3) return [1, 3, 7][k - 1] as number;
  return 7 * (k - 2);
}

/**
 * When the next reminder is due, after `now`, for an episode that has sent
 * `emailsSent` emails; null once it has sent them all. Slots that passed
 * while no run happened are skipped, not made up for with a burst.
 */
export function nextReminderAt(openedAt: string, emailsSent: number, now: string): string | null {
  if (emailsSent >= MAX_EMAILS_PER_EPISODE) return null;
  const start = Date.parse(openedAt);
  const t = Date.parse(now);
  let k = Math.max(1, emailsSent);
  while (start + reminderOffsetDays(k) * DAY_MS <= t) k++;
  return new Date(start + reminderOffsetDays(k) * DAY_MS).toISOString();
}

/** A finished run as the notifier sees it, with the IDs of the alert it is. */
export type SyncEvent =
  | {
      kind: 'failed';
      alertId: string;
      notificationId: string;
      runId: string;
      occurredAt: string;
      code: string;
    }
  | {
      kind: 'recovered';
      alertId: string;
      notificationId: string;
      runId: string;
      occurredAt: string;
      previousFailureCode: string;
    }
  | {
      /** The reminder scan: the episode of `code` may owe a reminder at `occurredAt`. */
      kind: 'reminder';
      alertId: string;
      notificationId: string;
      runId: string;
      occurredAt: string;
      code: string;
    };

export type EpisodeOutcome =
  /** A failure with nothing open: a new episode, alerted on every channel. */
  | 'opened'
  /** A failure with another code open: that one closes, this one opens and alerts. */
  | 'replaced'
  /** The open episode's code again: count and last seen move, no email. */
  | 'repeated'
  /** As `repeated`, and a reminder email is due; or the reminder scan found one due. */
  | 'reminded'
  /** The reminder scan's event, but no reminder is due (sent meanwhile, closed, or another code). */
  | 'not_due'
  /** A success closes the open episode: recovery alert. */
  | 'recovered'
  /** A success with nothing open: nothing to say. */
  | 'no_open_episode'
  /** Older than an event already applied (a late retry): it cannot open or close anything. */
  | 'stale'
  /** This alert was applied before (a retried or crashed job): deliver what was decided then. */
  | 'replay';

export interface EpisodeDecision {
  outcome: EpisodeOutcome;
  /** The state to store (the same object for a replay: nothing to write). */
  next: EpisodeState;
  /** What this alert delivers. */
  applied: AppliedAlert;
  /** The episode the in-app notification shows: the open one, or the one just recovered. */
  episode: Episode | null;
}

const later = (a: string, b: string) => (Date.parse(a) >= Date.parse(b) ? a : b);
const earlier = (a: string, b: string) => (Date.parse(a) <= Date.parse(b) ? a : b);

/**
 * The episode state machine: for a sync event and the org's stored state,
 * what to store and what to deliver. Pure; the caller stores `next` with a
 * compare-and-set and decides again if the state moved meanwhile.
 */
export function decideEpisode(state: EpisodeState, event: SyncEvent): EpisodeDecision {
  const seen = state.recent.find((a) => a.alertId === event.alertId);
  if (seen) return { outcome: 'replay', next: state, applied: seen, episode: state.open };

  if (event.kind === 'reminder') return decideReminder(state, event);

  const stale =
    state.lastEventAt !== null && Date.parse(event.occurredAt) < Date.parse(state.lastEventAt);
  const lastEventAt = stale ? state.lastEventAt : event.occurredAt;
  const open = state.open;

  const finish = (
    outcome: EpisodeOutcome,
    nextOpen: Episode | null,
    notificationId: string | null,
    email: EmailPlan | null,
    episode: Episode | null,
  ): EpisodeDecision => {
    const applied: AppliedAlert = { alertId: event.alertId, outcome, notificationId, email };
    return {
      outcome,
      next: {
        open: nextOpen,
        lastEventAt,
        recent: remember(state, applied),
      },
      applied,
      episode,
    };
  };

  if (event.kind === 'failed') {
    if (open && open.code === event.code) {
      const seen: Episode = {
        ...open,
        count: open.count + 1,
        firstSeenAt: earlier(open.firstSeenAt, event.occurredAt),
        lastSeenAt: later(open.lastSeenAt, event.occurredAt),
        lastRunId: stale ? open.lastRunId : event.runId,
      };
      if (stale || !reminderDue(open, event.occurredAt)) {
        return finish('repeated', seen, open.notificationId, null, seen);
      }
      const reminded = remind(seen, event.occurredAt);
      return finish(
        'reminded',
        reminded.episode,
        open.notificationId,
        reminded.email,
        reminded.episode,
      );
    }
    if (stale) return finish('stale', open, null, null, open);
    const episode: Episode = {
      code: event.code,
      notificationId: event.notificationId,
      openedBy: event.alertId,
      openedAt: event.occurredAt,
      firstSeenAt: event.occurredAt,
      lastSeenAt: event.occurredAt,
      lastRunId: event.runId,
      count: 1,
      emailsSent: 1,
      nextReminderAt: nextReminderAt(event.occurredAt, 1, event.occurredAt),
    };
    const email: EmailPlan = {
      reminder: 0,
      since: event.occurredAt,
      occurrences: 1,
      threadAlertId: null,
      failureCode: event.code,
    };
    return finish(open ? 'replaced' : 'opened', episode, event.notificationId, email, episode);
  }

  if (stale) return finish('stale', open, null, null, open);
  if (!open) return finish('no_open_episode', null, null, null, null);
  const email: EmailPlan = {
    reminder: 0,
    since: open.firstSeenAt,
    occurrences: open.count,
    threadAlertId: open.openedBy,
    failureCode: open.code,
  };
  return finish('recovered', null, event.notificationId, email, open);
}

/** Whether the open episode owes its next reminder email at `at`. */
function reminderDue(open: Episode, at: string): boolean {
  return (
    open.nextReminderAt !== null &&
    Date.parse(at) >= Date.parse(open.nextReminderAt) &&
    open.emailsSent < MAX_EMAILS_PER_EPISODE
  );
}

/** The episode once it sends its next reminder at `at` (the one after scheduled), and that email. */
function remind(episode: Episode, at: string): { episode: Episode; email: EmailPlan } {
  const emailsSent = episode.emailsSent + 1;
  return {
    episode: {
      ...episode,
      emailsSent,
      nextReminderAt: nextReminderAt(episode.openedAt, emailsSent, at),
    },
    email: {
      reminder: emailsSent - 1,
      since: episode.firstSeenAt,
      occurrences: episode.count,
      threadAlertId: episode.openedBy,
      failureCode: episode.code,
    },
  };
}

/**
 * A reminder the scan found due, with no run since to bring it up: the open
 * episode sends its next reminder email (and schedules the one after), or,
 * when nothing is due any more, nothing happens and nothing is stored. Not a
 * sync event: it moves neither the episode's count nor `lastEventAt`.
 */
function decideReminder(
  state: EpisodeState,
  event: Extract<SyncEvent, { kind: 'reminder' }>,
): EpisodeDecision {
  const open = state.open;
  if (open === null || open.code !== event.code || !reminderDue(open, event.occurredAt)) {
    const applied: AppliedAlert = {
      alertId: event.alertId,
      outcome: 'not_due',
      notificationId: null,
      email: null,
    };
    return { outcome: 'not_due', next: state, applied, episode: open };
  }
  const { episode, email } = remind(open, event.occurredAt);
  const applied: AppliedAlert = {
    alertId: event.alertId,
    outcome: 'reminded',
    notificationId: open.notificationId,
    email,
  };
  return {
    outcome: 'reminded',
    next: { ...state, open: episode, recent: remember(state, applied) },
    applied,
    episode,
  };
}

/** The state's recent alerts with `applied` added, the oldest dropped past the bound. */
function remember(state: EpisodeState, applied: AppliedAlert): AppliedAlert[] {
  return [...state.recent, applied].slice(-RECENT_ALERTS_KEPT);
}
