import { z } from 'zod';
import { decideEmailCap, type EmailCapLimits } from './email-cap.js';
import type { EpisodeRef } from './integration-health.js';
import { isEmailCapped, type NotificationType } from './notification.js';

/*
 * What the org's admins are told about failure episodes, and when: the
 * notifier's state per org. Whether a failed run opens, continues or
 * replaces an episode, and whether a success recovers one, is the worker's
 * decision (see integration-health.ts), carried by the hand-off as the
 * episode's reference. This machine decides delivery only: which alert
 * writes which in-app notification, which email goes out, which reminder is
 * due, and how a hand-off that arrives late, twice or out of order is taken.
 */

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

/** The open failure episode as the admins were told of it. */
export const alertedEpisodeSchema = z.object({
  code: z.string(),
  /**
   * The worker's episode (its first run). Null when it was opened from a
   * hand-off that named none (one queued by a worker older than episode
   * references): such an episode is matched by its code.
   */
  firstRunId: z.string().nullable().default(null),
  /** The in-app notification that stands for the whole episode. */
  notificationId: z.string(),
  /** The alert that opened it: its email starts the thread later emails refer to. */
  openedBy: z.string(),
  /** When the opening alert occurred: the reminder cadence counts from here. */
  openedAt: z.string(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  lastRunId: z.string(),
  count: z.number().int().min(1),
  /** Emails decided for this episode (the first alert and reminders). */
  emailsSent: z.number().int().min(0),
  /** Null once the reminders are used up. */
  nextReminderAt: z.string().nullable(),
  /**
   * Set while the episode's latest email was held back by the org's email
   * cap: when the cap lets the next one out (its notification says so).
   * Null or absent once an email of the episode went out.
   */
  emailHeldUntil: z.string().nullable().optional(),
});
export type AlertedEpisode = z.infer<typeof alertedEpisodeSchema>;

/** The email an alert was decided to send, as the email needs it. */
export const emailPlanSchema = z.object({
  /** 0 for the first email of an alert, n for the n-th reminder of an episode. */
  reminder: z.number().int().min(0),
  /** When the episode the email is about started (null when unknown). */
  since: z.string().nullable(),
  occurrences: z.number().int().min(1).nullable(),
  /** The alert whose email opened the thread (References header). */
  threadAlertId: z.string().nullable(),
  /** The failure code the email is about (for a recovery: the code of the closed episode). */
  failureCode: z.string().nullable(),
  /**
   * Set when the org's email cap held this email back: nothing is sent, and
   * the cap lets the next one out at this time. A replay of the alert keeps
   * it held back, whatever the cap says by then.
   */
  suppressedUntil: z.string().optional(),
});
export type EmailPlan = z.infer<typeof emailPlanSchema>;

/**
 * What one alert was decided to deliver. Kept (for the last few alerts) so a
 * replayed job delivers exactly what the first attempt decided and counts
 * nothing twice.
 */
export const appliedAlertSchema = z.object({
  alertId: z.string(),
  outcome: z.string(),
  /** The in-app notification it wrote; null when it wrote none (stale, nothing open). */
  notificationId: z.string().nullable(),
  email: emailPlanSchema.nullable(),
});
export type AppliedAlert = z.infer<typeof appliedAlertSchema>;

export const episodeStateSchema = z.object({
  open: alertedEpisodeSchema.nullable(),
  /** The newest sync event applied: an older one arriving late cannot reopen or close anything. */
  lastEventAt: z.string().nullable(),
  /** The latest applied alerts, oldest first (bounded). */
  recent: z.array(appliedAlertSchema),
  /**
   * The email cap's log: when the org's capped emails went out (ms, oldest
   * first, the last day's only). Absent until the first one.
   */
  emailsSentAt: z.array(z.number().int()).optional(),
});
export type EpisodeState = z.infer<typeof episodeStateSchema>;

export const emptyEpisodeState: EpisodeState = { open: null, lastEventAt: null, recent: [] };
/** Applied alerts remembered per org. Replays come within minutes; this covers far more. */
export const RECENT_ALERTS_KEPT = 50;

/** A finished run as the notifier sees it, with the IDs of the alert it is. */
export type SyncEvent =
  | {
      kind: 'failed';
      alertId: string;
      notificationId: string;
      runId: string;
      occurredAt: string;
      code: string;
      /** The episode the worker recorded this run in; null from an older worker. */
      episode: EpisodeRef | null;
    }
  | {
      kind: 'recovered';
      alertId: string;
      notificationId: string;
      runId: string;
      occurredAt: string;
      previousFailureCode: string;
      /** The episode this success closed; null from an older worker. */
      episode: EpisodeRef | null;
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
  /** A failure of an episode the admins were not told of, with nothing open: alerted on every channel. */
  | 'opened'
  /** As `opened`, while another episode was open: that one is over. */
  | 'replaced'
  /** The open episode again: count and last seen move, no email. */
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

/** What the notifier decides with: the org's email cap, when email goes out at all. */
export interface AlertOptions {
  /** Absent: no cap (the email channel is off for the org, so nothing is counted). */
  emailCap?: EmailCapLimits | undefined;
}

/**
 * The email cap applied to an email a `type` alert was decided to send at
 * `at`: the plan as it stands (held back past the cap) and the cap's log
 * to store. Exempt types, and no cap, leave both as they are.
 */
function capEmail(
  state: EpisodeState,
  type: NotificationType,
  plan: EmailPlan,
  at: string,
  options: AlertOptions,
): { plan: EmailPlan; emailsSentAt: number[] | undefined } {
  if (!options.emailCap || !isEmailCapped(type)) {
    return { plan, emailsSentAt: state.emailsSentAt };
  }
  const cap = decideEmailCap(state.emailsSentAt ?? [], at, options.emailCap);
  return {
    plan: cap.send ? plan : { ...plan, suppressedUntil: cap.until },
    emailsSentAt: cap.sentAt,
  };
}

/** The episode with its latest email's fate: held back until when, or (sent) nothing. */
function withEmailFate(episode: AlertedEpisode, plan: EmailPlan): AlertedEpisode {
  const { emailHeldUntil: _previous, ...rest } = episode;
  return plan.suppressedUntil === undefined
    ? rest
    : { ...rest, emailHeldUntil: plan.suppressedUntil };
}

/** The state's fields besides the episode, carried over as they are unless given. */
function withLog(emailsSentAt: number[] | undefined): Pick<EpisodeState, 'emailsSentAt'> {
  return emailsSentAt === undefined ? {} : { emailsSentAt };
}

export interface EpisodeDecision {
  outcome: EpisodeOutcome;
  /** The state to store (the same object when there is nothing to write). */
  next: EpisodeState;
  /** What this alert delivers. */
  applied: AppliedAlert;
  /** The episode the in-app notification shows: the open one, or the one just recovered. */
  episode: AlertedEpisode | null;
}

const later = (a: string, b: string) => (Date.parse(a) >= Date.parse(b) ? a : b);
const earlier = (a: string, b: string) => (Date.parse(a) <= Date.parse(b) ? a : b);

/**
 * Whether a hand-off is about the open episode: the worker's episode
 * reference decides; by code only where either side predates references.
 */
function isOpenEpisode(open: AlertedEpisode, code: string, ref: EpisodeRef | null): boolean {
  if (open.firstRunId !== null && ref !== null) return open.firstRunId === ref.firstRunId;
  return open.code === code;
}

/**
 * For a sync event and the org's stored state, what to store and what to
 * deliver. Pure; the caller stores `next` with a compare-and-set and decides
 * again if the state moved meanwhile.
 */
export function decideEpisode(
  state: EpisodeState,
  event: SyncEvent,
  options: AlertOptions = {},
): EpisodeDecision {
  const seen = state.recent.find((a) => a.alertId === event.alertId);
  if (seen) return { outcome: 'replay', next: state, applied: seen, episode: state.open };

  if (event.kind === 'reminder') return decideReminder(state, event, options);

  const stale =
    state.lastEventAt !== null && Date.parse(event.occurredAt) < Date.parse(state.lastEventAt);
  const lastEventAt = stale ? state.lastEventAt : event.occurredAt;
  const open = state.open;

  const finish = (
    outcome: EpisodeOutcome,
    nextOpen: AlertedEpisode | null,
    notificationId: string | null,
    email: EmailPlan | null,
    episode: AlertedEpisode | null,
    emailsSentAt: number[] | undefined = state.emailsSentAt,
  ): EpisodeDecision => {
    const applied: AppliedAlert = { alertId: event.alertId, outcome, notificationId, email };
    return {
      outcome,
      next: {
        open: nextOpen,
        lastEventAt,
        recent: remember(state, applied),
        ...withLog(emailsSentAt),
      },
      applied,
      episode,
    };
  };

  const ref = event.episode;
  if (event.kind === 'failed') {
    if (open && isOpenEpisode(open, event.code, ref)) {
      const seen: AlertedEpisode = {
        ...open,
        firstRunId: open.firstRunId ?? ref?.firstRunId ?? null,
        // The worker's count when it says; a late hand-off never lowers it.
        count: ref ? Math.max(open.count, ref.count) : open.count + 1,
        firstSeenAt: earlier(open.firstSeenAt, ref?.since ?? event.occurredAt),
        lastSeenAt: later(open.lastSeenAt, event.occurredAt),
        lastRunId: stale ? open.lastRunId : event.runId,
      };
      if (stale || !reminderDue(open, event.occurredAt)) {
        return finish('repeated', seen, open.notificationId, null, seen);
      }
      const reminded = remind(state, seen, event.occurredAt, options);
      return finish(
        'reminded',
        reminded.episode,
        open.notificationId,
        reminded.email,
        reminded.episode,
        reminded.emailsSentAt,
      );
    }
    // Another episode than the open one, arriving after a newer event: the
    // episode it belongs to has already been superseded.
    if (stale) return finish('stale', open, null, null, open);
    // An episode the admins were not told of yet: alert now, whether this is
    // its first run or a later one whose first hand-off is still on its way.
    const opened: AlertedEpisode = {
      code: event.code,
      firstRunId: ref?.firstRunId ?? null,
      notificationId: event.notificationId,
      openedBy: event.alertId,
      openedAt: event.occurredAt,
      firstSeenAt: ref?.since ?? event.occurredAt,
      lastSeenAt: event.occurredAt,
      lastRunId: event.runId,
      count: ref?.count ?? 1,
      emailsSent: 1,
      nextReminderAt: nextReminderAt(event.occurredAt, 1, event.occurredAt),
    };
    const capped = capEmail(
      state,
      'sync_failed',
      {
        reminder: 0,
        since: opened.firstSeenAt,
        occurrences: opened.count,
        threadAlertId: null,
        failureCode: event.code,
      },
      event.occurredAt,
      options,
    );
    const episode = withEmailFate(opened, capped.plan);
    return finish(
      open ? 'replaced' : 'opened',
      episode,
      event.notificationId,
      capped.plan,
      episode,
      capped.emailsSentAt,
    );
  }

  if (stale) return finish('stale', open, null, null, open);
  if (!open) return finish('no_open_episode', null, null, null, null);
  // A success ends whatever is open: an open episode older than the one the
  // worker closed was over already (replaced by that one, whose own hand-off
  // has not arrived). The email describes the episode the worker closed,
  // threaded under the open one's first email when it is the same. Exempt
  // from the email cap (NOTIFICATION_EMAIL_CAP), like every recovery.
  const email: EmailPlan =
    ref === null || isOpenEpisode(open, event.previousFailureCode, ref)
      ? {
          reminder: 0,
          since: ref?.since ?? open.firstSeenAt,
          occurrences: ref?.count ?? open.count,
          threadAlertId: open.openedBy,
          failureCode: open.code,
        }
      : {
          reminder: 0,
          since: ref.since,
          occurrences: ref.count,
          threadAlertId: null,
          failureCode: event.previousFailureCode,
        };
  return finish('recovered', null, event.notificationId, email, open);
}

/** Whether the open episode owes its next reminder email at `at`. */
function reminderDue(open: AlertedEpisode, at: string): boolean {
  return (
    open.nextReminderAt !== null &&
    Date.parse(at) >= Date.parse(open.nextReminderAt) &&
    open.emailsSent < MAX_EMAILS_PER_EPISODE
  );
}

/**
 * The episode once its next reminder is decided at `at` (the one after
 * scheduled), and that email. A reminder the email cap holds back uses its
 * slot all the same: the next one is due on the cadence, not at once.
 */
function remind(
  state: EpisodeState,
  episode: AlertedEpisode,
  at: string,
  options: AlertOptions,
): { episode: AlertedEpisode; email: EmailPlan; emailsSentAt: number[] | undefined } {
  const emailsSent = episode.emailsSent + 1;
  const capped = capEmail(
    state,
    'sync_failed',
    {
      reminder: emailsSent - 1,
      since: episode.firstSeenAt,
      occurrences: episode.count,
      threadAlertId: episode.openedBy,
      failureCode: episode.code,
    },
    at,
    options,
  );
  return {
    episode: withEmailFate(
      { ...episode, emailsSent, nextReminderAt: nextReminderAt(episode.openedAt, emailsSent, at) },
      capped.plan,
    ),
    email: capped.plan,
    emailsSentAt: capped.emailsSentAt,
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
  options: AlertOptions,
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
  const { episode, email, emailsSentAt } = remind(state, open, event.occurredAt, options);
  const applied: AppliedAlert = {
    alertId: event.alertId,
    outcome: 'reminded',
    notificationId: open.notificationId,
    email,
  };
  return {
    outcome: 'reminded',
    next: { ...state, open: episode, recent: remember(state, applied), ...withLog(emailsSentAt) },
    applied,
    episode,
  };
}

/** A notification that belongs to no failure episode (a credential warning, ...). */
export interface RaisedAlert {
  alertId: string;
  notificationId: string;
  type: NotificationType;
  occurredAt: string;
}

export interface RaisedDecision {
  outcome: 'raised' | 'replay';
  /** The state to store (the same object when there is nothing to write). */
  next: EpisodeState;
  applied: AppliedAlert & { notificationId: string; email: EmailPlan };
}

/**
 * What a notification outside the episodes delivers: in-app, and an email
 * unless the org's email cap holds it back. An exempt type (or no cap)
 * stores nothing here: its job ID and the notification's own record keep
 * it once. A capped one is logged and remembered like an episode's alert,
 * so a replay counts nothing twice and never sends what was held back.
 */
export function decideRaisedAlert(
  state: EpisodeState,
  alert: RaisedAlert,
  options: AlertOptions = {},
): RaisedDecision {
  const plan: EmailPlan = {
    reminder: 0,
    since: null,
    occurrences: null,
    threadAlertId: null,
    failureCode: null,
  };
  const raised = (email: EmailPlan) => ({
    alertId: alert.alertId,
    outcome: 'raised',
    notificationId: alert.notificationId,
    email,
  });
  if (!options.emailCap || !isEmailCapped(alert.type)) {
    return { outcome: 'raised', next: state, applied: raised(plan) };
  }
  const seen = state.recent.find((a) => a.alertId === alert.alertId);
  if (seen) {
    return {
      outcome: 'replay',
      next: state,
      applied: raised(seen.email ?? plan),
    };
  }
  const capped = capEmail(state, alert.type, plan, alert.occurredAt, options);
  const applied = raised(capped.plan);
  return {
    outcome: 'raised',
    next: { ...state, recent: remember(state, applied), ...withLog(capped.emailsSentAt) },
    applied,
  };
}

/** The state's recent alerts with `applied` added, the oldest dropped past the bound. */
function remember(state: EpisodeState, applied: AppliedAlert): AppliedAlert[] {
  return [...state.recent, applied].slice(-RECENT_ALERTS_KEPT);
}
