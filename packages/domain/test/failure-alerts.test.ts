import { describe, expect, it } from 'vitest';
import {
  type AlertOptions,
  DEFAULT_EMAIL_CAP,
  decideEpisode,
  decideRaisedAlert,
  type EpisodeDecision,
  type EpisodeState,
  emptyEpisodeState,
  episodeRef,
  episodeStateSchema,
  type IntegrationHealth,
  MAX_EMAILS_PER_EPISODE,
  nextReminderAt,
  RECENT_ALERTS_KEPT,
  recordRunOutcome,
  reminderOffsetDays,
  type SyncEvent,
  unknownHealth,
} from '../src/index.js';

const T0 = Date.UTC(2026, 2, 1, 6, 0, 0);
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0 + ms).toISOString();

let seq = 0;

/**
 * The worker's side of one org: records each finished run in its health,
 * in the order the runs finish, and hands off what it decided, as the run
 * lifecycle does. Tests deliver the hand-offs in any order they like.
 */
function org() {
  let health: IntegrationHealth = unknownHealth;
  return {
    failed(offsetMs: number, code = 'client_secret_expired'): SyncEvent {
      const runId = `run-${++seq}`;
      const recorded = recordRunOutcome(health, {
        kind: 'failed',
        runId,
        at: at(offsetMs),
        code,
        category: 'credentials',
      });
      health = recorded.next;
      if (!('episode' in recorded.transition)) throw new Error('a failure opens or continues one');
      return {
        kind: 'failed',
        alertId: `failed-${runId}`,
        notificationId: `failed-${runId}`,
        runId,
        occurredAt: at(offsetMs),
        code,
        episode: episodeRef(recorded.transition.episode),
      };
    },
    /** A success: its recovery hand-off, or null when it closed nothing (none is sent). */
    succeeded(offsetMs: number): SyncEvent | null {
      const runId = `run-${++seq}`;
      const recorded = recordRunOutcome(health, { kind: 'succeeded', runId, at: at(offsetMs) });
      health = recorded.next;
      const t = recorded.transition;
      if (t.kind !== 'recovered') return null;
      return {
        kind: 'recovered',
        alertId: `recovered-${runId}`,
        notificationId: `recovered-${runId}`,
        runId,
        occurredAt: at(offsetMs),
        previousFailureCode: t.previousFailureCode,
        episode: t.closed ? episodeRef(t.closed) : null,
      };
    },
  };
}

/** A failure as a worker older than episode references handed it off. */
function legacyFailed(offsetMs: number, code = 'client_secret_expired'): SyncEvent {
  seq++;
  return {
    kind: 'failed',
    alertId: `failed-run-${seq}`,
    notificationId: `failed-run-${seq}`,
    runId: `run-${seq}`,
    occurredAt: at(offsetMs),
    code,
    episode: null,
  };
}
function legacyRecovered(offsetMs: number, code = 'client_secret_expired'): SyncEvent {
  seq++;
  return {
    kind: 'recovered',
    alertId: `recovered-run-${seq}`,
    notificationId: `recovered-run-${seq}`,
    runId: `run-${seq}`,
    occurredAt: at(offsetMs),
    previousFailureCode: code,
    episode: null,
  };
}

/** Applies events in the order given, as the notifier stores them. */
function deliver(
  events: (SyncEvent | null)[],
  start: EpisodeState = emptyEpisodeState,
  options: AlertOptions = {},
) {
  let state = start;
  const decisions: EpisodeDecision[] = [];
  for (const event of events) {
    if (event === null) continue;
    const decision = decideEpisode(state, event, options);
    decisions.push(decision);
    state = decision.next;
  }
  return { state, decisions };
}

describe('reminder cadence', () => {
  it('is 1, 3 and 7 days, then weekly', () => {
    expect([1, 2, 3, 4, 5, 6].map(reminderOffsetDays)).toEqual([1, 3, 7, 14, 21, 28]);
  });

  it('schedules the next reminder after now, skipping slots that passed', () => {
    const opened = at(0);
    expect(nextReminderAt(opened, 1, opened)).toBe(at(DAY));
    expect(nextReminderAt(opened, 2, at(DAY + HOUR))).toBe(at(3 * DAY));
    // No run between day 1 and day 10: the next slot after day 10 is day 14.
    expect(nextReminderAt(opened, 2, at(10 * DAY))).toBe(at(14 * DAY));
    expect(nextReminderAt(opened, MAX_EMAILS_PER_EPISODE, at(0))).toBeNull();
  });
});

describe('decideEpisode: failures', () => {
  it('opens an episode on the first failure and alerts on every channel', () => {
    const event = org().failed(0);
    const { state, decisions } = deliver([event]);
    const [d] = decisions;
    expect(d?.outcome).toBe('opened');
    expect(d?.applied).toEqual({
      alertId: event.alertId,
      outcome: 'opened',
      notificationId: event.notificationId,
      email: {
        reminder: 0,
        since: at(0),
        occurrences: 1,
        threadAlertId: null,
        failureCode: 'client_secret_expired',
      },
    });
    expect(state.open).toMatchObject({
      code: 'client_secret_expired',
      firstRunId: event.runId,
      notificationId: event.notificationId,
      openedBy: event.alertId,
      count: 1,
      emailsSent: 1,
      nextReminderAt: at(DAY),
    });
    expect(state.lastEventAt).toBe(at(0));
  });

  it('folds the same episode at later runs into it without an email', () => {
    const o = org();
    const first = o.failed(0);
    const { state, decisions } = deliver([first, ...[1, 2, 3, 4].map((h) => o.failed(h * HOUR))]);
    expect(decisions.map((d) => d.outcome)).toEqual([
      'opened',
      'repeated',
      'repeated',
      'repeated',
      'repeated',
    ]);
    expect(decisions.slice(1).every((d) => d.applied.email === null)).toBe(true);
    // Every repeat updates the episode's one notification.
    expect(new Set(decisions.map((d) => d.applied.notificationId))).toEqual(
      new Set([first.notificationId]),
    );
    expect(state.open).toMatchObject({
      firstRunId: first.runId,
      count: 5,
      firstSeenAt: at(0),
      lastSeenAt: at(4 * HOUR),
      lastRunId: `run-${seq}`,
      emailsSent: 1,
    });
  });

  it('reminds after 1, 3, 7, 14 and 21 days, then never again (6 emails at most)', () => {
    // A run every 6 hours for 60 days.
    const o = org();
    const events = Array.from({ length: 60 * 4 }, (_, i) => o.failed(i * 6 * HOUR));
    const { state, decisions } = deliver(events);
    const emails = decisions.filter((d) => d.applied.email !== null);
    expect(emails).toHaveLength(MAX_EMAILS_PER_EPISODE);
    expect(emails.map((d) => d.outcome)).toEqual([
      'opened',
      'reminded',
      'reminded',
      'reminded',
      'reminded',
      'reminded',
    ]);
    const sentAt = emails.map((d) => events[decisions.indexOf(d)]?.occurredAt);
    expect(sentAt).toEqual([at(0), at(DAY), at(3 * DAY), at(7 * DAY), at(14 * DAY), at(21 * DAY)]);
    expect(emails.map((d) => d.applied.email?.reminder)).toEqual([0, 1, 2, 3, 4, 5]);
    const firstAlert = events[0]?.alertId;
    expect(emails.slice(1).every((d) => d.applied.email?.threadAlertId === firstAlert)).toBe(true);
    expect(emails[3]?.applied.email).toMatchObject({ since: at(0), occurrences: 7 * 4 + 1 });
    expect(state.open).toMatchObject({ count: 240, emailsSent: 6, nextReminderAt: null });
  });

  it('sends one reminder, not a burst, after days without runs', () => {
    const o = org();
    const { state, decisions } = deliver([
      o.failed(0),
      o.failed(10 * DAY),
      o.failed(10 * DAY + HOUR),
    ]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'reminded', 'repeated']);
    expect(state.open?.nextReminderAt).toBe(at(14 * DAY));
  });

  it('closes the episode and alerts at once when the worker replaces it', () => {
    const o = org();
    const first = o.failed(0);
    const repeat = o.failed(HOUR);
    const other = o.failed(2 * HOUR, 'consent_missing');
    const { state, decisions } = deliver([first, repeat, other]);
    const d = decisions[2];
    expect(d?.outcome).toBe('replaced');
    expect(d?.applied.notificationId).toBe(other.notificationId);
    expect(d?.applied.email).toMatchObject({ reminder: 0, failureCode: 'consent_missing' });
    expect(state.open).toMatchObject({
      code: 'consent_missing',
      firstRunId: other.runId,
      count: 1,
      openedBy: other.alertId,
      emailsSent: 1,
    });
  });
});

describe('decideEpisode: successes', () => {
  it('closes the open episode with a recovery alert describing it', () => {
    const o = org();
    const first = o.failed(0);
    const events = [first, o.failed(HOUR), o.failed(2 * HOUR), o.succeeded(3 * HOUR)];
    const success = events[3]!;
    const { state, decisions } = deliver(events);
    const d = decisions[3];
    expect(d?.outcome).toBe('recovered');
    expect(d?.applied).toEqual({
      alertId: success.alertId,
      outcome: 'recovered',
      notificationId: success.notificationId,
      email: {
        reminder: 0,
        since: at(0),
        occurrences: 3,
        threadAlertId: first.alertId,
        failureCode: 'client_secret_expired',
      },
    });
    expect(d?.episode?.count).toBe(3);
    expect(state.open).toBeNull();
  });

  it('hands nothing off for a success with nothing open; says nothing for a stray recovery', () => {
    expect(org().succeeded(0)).toBeNull();
    const { state, decisions } = deliver([legacyRecovered(0)]);
    expect(decisions[0]?.outcome).toBe('no_open_episode');
    expect(decisions[0]?.applied.notificationId).toBeNull();
    expect(decisions[0]?.applied.email).toBeNull();
    expect(state.open).toBeNull();
  });

  it('opens a new episode (and emails) for a failure after recovery', () => {
    const o = org();
    const { decisions } = deliver([o.failed(0), o.succeeded(HOUR), o.failed(2 * HOUR)]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'recovered', 'opened']);
    expect(decisions[2]?.applied.email?.reminder).toBe(0);
  });
});

describe('decideEpisode: retries and hand-offs out of order', () => {
  it('replays an alert it applied before: same delivery, nothing counted twice', () => {
    const o = org();
    const first = o.failed(0);
    const second = o.failed(HOUR);
    const { state } = deliver([first, second]);
    for (const event of [first, second]) {
      const replay = decideEpisode(state, event);
      expect(replay.outcome).toBe('replay');
      expect(replay.next).toBe(state);
      expect(replay.applied.alertId).toBe(event.alertId);
    }
    expect(decideEpisode(state, first).applied.email?.reminder).toBe(0);
    expect(decideEpisode(state, second).applied.email).toBeNull();
    expect(state.open?.count).toBe(2);
  });

  it('does not let a late failure reopen an episode a later success closed', () => {
    const o = org();
    const opened = o.failed(0);
    const late = o.failed(HOUR);
    const success = o.succeeded(2 * HOUR);
    const { state, decisions } = deliver([opened, success, late]);
    expect(decisions[2]?.outcome).toBe('stale');
    expect(decisions[2]?.applied.notificationId).toBeNull();
    expect(state.open).toBeNull();
  });

  it('counts as the worker did when a repeat arrives late, without moving last seen back', () => {
    const o = org();
    const events = [o.failed(0), o.failed(DAY + HOUR), o.failed(2 * DAY)];
    const { state, decisions } = deliver([events[0]!, events[2]!, events[1]!]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'reminded', 'repeated']);
    expect(state.open).toMatchObject({ count: 3, lastSeenAt: at(2 * DAY), emailsSent: 2 });
    expect(state.lastEventAt).toBe(at(2 * DAY));
  });

  it('ignores a late failure of an episode the worker has replaced since', () => {
    const o = org();
    const older = o.failed(0, 'tenant_not_found');
    const newer = o.failed(HOUR);
    const { state, decisions } = deliver([newer, older]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'stale']);
    expect(state.open?.code).toBe('client_secret_expired');
  });

  it('an episode whose first hand-off is late opens with the count and start the worker recorded', () => {
    const o = org();
    const first = o.failed(0);
    const second = o.failed(HOUR);
    const { state, decisions } = deliver([second, first]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'repeated']);
    expect(decisions[0]?.applied.email).toMatchObject({ since: at(0), occurrences: 2 });
    expect(decisions[1]?.applied.email).toBeNull();
    expect(state.open).toMatchObject({ firstRunId: first.runId, count: 2, firstSeenAt: at(0) });
  });

  it('a failure after a recovery still on its way is a new episode, even with the same code', () => {
    // The worker: failed, recovered, failed again with the same code: two episodes.
    const o = org();
    const first = o.failed(0);
    const success = o.succeeded(HOUR);
    const again = o.failed(2 * HOUR);
    const { state, decisions } = deliver([first, again, success]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'replaced', 'stale']);
    expect(decisions[1]?.applied.email).toMatchObject({ reminder: 0, occurrences: 1 });
    expect(state.open).toMatchObject({
      firstRunId: again.runId,
      count: 1,
      firstSeenAt: at(2 * HOUR),
    });
  });

  it('a recovery of an episode it never saw (its hand-off late) closes the open one, described as the worker recorded it', () => {
    const o = org();
    const first = o.failed(0);
    const replacing = o.failed(HOUR, 'consent_missing');
    const success = o.succeeded(2 * HOUR);
    const { state, decisions } = deliver([first, success, replacing]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'recovered', 'stale']);
    expect(decisions[1]?.applied.email).toEqual({
      reminder: 0,
      since: at(HOUR),
      occurrences: 1,
      threadAlertId: null,
      failureCode: 'consent_missing',
    });
    expect(state.open).toBeNull();
  });

  it(`remembers the last ${RECENT_ALERTS_KEPT} alerts`, () => {
    const o = org();
    const events = Array.from({ length: RECENT_ALERTS_KEPT + 10 }, (_, i) => o.failed(i * HOUR));
    const { state } = deliver(events);
    expect(state.recent).toHaveLength(RECENT_ALERTS_KEPT);
    expect(state.recent[0]?.alertId).toBe(events[10]?.alertId);
    expect(state.recent.at(-1)?.alertId).toBe(events.at(-1)?.alertId);
  });
});

describe('hand-offs and states from before episode references', () => {
  it('matches by code: the same code folds in, another replaces, a success recovers', () => {
    const { state, decisions } = deliver([
      legacyFailed(0),
      legacyFailed(HOUR),
      legacyFailed(2 * HOUR, 'consent_missing'),
      legacyRecovered(3 * HOUR, 'consent_missing'),
    ]);
    expect(decisions.map((d) => d.outcome)).toEqual([
      'opened',
      'repeated',
      'replaced',
      'recovered',
    ]);
    expect(decisions[1]?.episode).toMatchObject({ firstRunId: null, count: 2 });
    expect(decisions[3]?.applied.email).toMatchObject({ failureCode: 'consent_missing' });
    expect(state.open).toBeNull();
  });

  it('an episode opened without a reference takes the first one a hand-off brings', () => {
    const o = org();
    const { state, decisions } = deliver([legacyFailed(0), o.failed(HOUR), o.failed(2 * HOUR)]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'repeated', 'repeated']);
    expect(state.open?.firstRunId).toBe(`run-${seq - 1}`);
  });

  it('a stored state without episode references still parses', () => {
    const stored = {
      open: {
        code: 'client_secret_expired',
        notificationId: 'failed-run-1',
        openedBy: 'failed-run-1',
        openedAt: at(0),
        firstSeenAt: at(0),
        lastSeenAt: at(0),
        lastRunId: 'run-1',
        count: 1,
        emailsSent: 1,
        nextReminderAt: at(DAY),
      },
      lastEventAt: at(0),
      recent: [],
    };
    expect(episodeStateSchema.parse(stored).open?.firstRunId).toBeNull();
  });
});

describe('reminders from the scan (no run to bring them up)', () => {
  function reminder(offsetMs: number, code = 'client_secret_expired'): SyncEvent {
    seq++;
    return {
      kind: 'reminder',
      alertId: `reminder-${seq}`,
      notificationId: `reminder-${seq}`,
      runId: 'run-last',
      occurredAt: at(offsetMs),
      code,
    };
  }

  it('sends the due reminder on the cadence, moving neither the count nor the last event', () => {
    const opened = org().failed(0);
    const { state, decisions } = deliver([
      opened,
      reminder(2 * HOUR),
      reminder(DAY + HOUR),
      reminder(DAY + 2 * HOUR),
      reminder(3 * DAY + HOUR),
    ]);
    expect(decisions.map((d) => d.outcome)).toEqual([
      'opened',
      'not_due',
      'reminded',
      'not_due',
      'reminded',
    ]);
    expect(decisions[2]?.applied).toMatchObject({
      notificationId: opened.notificationId,
      email: { reminder: 1, since: at(0), occurrences: 1, threadAlertId: opened.alertId },
    });
    expect(state.open).toMatchObject({ count: 1, emailsSent: 3, nextReminderAt: at(7 * DAY) });
    expect(state.lastEventAt).toBe(at(0));
  });

  it('a reminder that is not due stores nothing and delivers nothing', () => {
    const { state } = deliver([org().failed(0)]);
    const d = decideEpisode(state, reminder(HOUR));
    expect(d.outcome).toBe('not_due');
    expect(d.next).toBe(state);
    expect(d.applied).toMatchObject({ notificationId: null, email: null });
  });

  it('owes nothing for a closed episode, another code, or one that sent every email', () => {
    const o = org();
    const closed = deliver([o.failed(0), o.succeeded(HOUR)]).state;
    expect(decideEpisode(closed, reminder(2 * DAY)).outcome).toBe('not_due');
    const open = deliver([org().failed(0)]).state;
    expect(decideEpisode(open, reminder(2 * DAY, 'consent_missing')).outcome).toBe('not_due');
    const spent = deliver(
      [org().failed(0)].concat([1, 3, 7, 14, 21].map((d) => reminder(d * DAY + HOUR))),
    );
    expect(spent.decisions.filter((d) => d.outcome === 'reminded')).toHaveLength(5);
    expect(spent.state.open).toMatchObject({
      emailsSent: MAX_EMAILS_PER_EPISODE,
      nextReminderAt: null,
    });
    expect(decideEpisode(spent.state, reminder(60 * DAY)).outcome).toBe('not_due');
  });

  it('the same reminder again (a retried job) replays what was decided', () => {
    const { state } = deliver([org().failed(0)]);
    const due = reminder(DAY + HOUR);
    const first = decideEpisode(state, due);
    const again = decideEpisode(first.next, due);
    expect(again.outcome).toBe('replay');
    expect(again.applied).toEqual(first.applied);
    expect(again.next).toBe(first.next);
  });
});

describe('the email cap (5 an hour, 20 a day per org)', () => {
  const capped: AlertOptions = { emailCap: DEFAULT_EMAIL_CAP };
  const MIN = 60 * 1000;

  /** Runs alternating between two failure codes, a minute apart: every run a new episode. */
  function alternating(o: ReturnType<typeof org>, runs: number, startMs = 0): SyncEvent[] {
    return Array.from({ length: runs }, (_, i) =>
      o.failed(startMs + i * MIN, i % 2 === 0 ? 'settings_incomplete' : 'groups_not_configured'),
    );
  }

  it('alternating codes: every run alerts in-app, the first 5 email, the rest are held back until the hour frees', () => {
    const o = org();
    const { state, decisions } = deliver(alternating(o, 12), emptyEpisodeState, capped);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', ...Array(11).fill('replaced')]);
    // In-app every time: each episode has its notification.
    expect(decisions.every((d) => d.applied.notificationId !== null)).toBe(true);
    const sent = decisions.filter((d) => d.applied.email && !d.applied.email.suppressedUntil);
    expect(sent).toHaveLength(5);
    const held = decisions.slice(5);
    expect(held.every((d) => d.applied.email?.suppressedUntil === at(HOUR))).toBe(true);
    expect(held.every((d) => d.episode?.emailHeldUntil === at(HOUR))).toBe(true);
    expect(state.emailsSentAt).toHaveLength(5);
    // The sent ones' episodes carry no held-back mark.
    expect(decisions[0]?.episode).not.toHaveProperty('emailHeldUntil');
  });

  it('without a cap (email off for the org) nothing is held back and nothing logged', () => {
    const { state, decisions } = deliver(alternating(org(), 12));
    expect(decisions.every((d) => d.applied.email?.suppressedUntil === undefined)).toBe(true);
    expect(state.emailsSentAt).toBeUndefined();
  });

  it('a replayed alert neither counts twice nor turns a held-back email into a send', () => {
    const o = org();
    const events = alternating(o, 6);
    const { state, decisions } = deliver(events, emptyEpisodeState, capped);
    const heldEvent = events[5] as SyncEvent;
    expect(decisions[5]?.applied.email?.suppressedUntil).toBe(at(HOUR));
    // Replayed once the hour has passed (the cap's log emptied meanwhile): still held back.
    const later = { ...state, emailsSentAt: [] };
    const replay = decideEpisode(later, heldEvent, capped);
    expect(replay.outcome).toBe('replay');
    expect(replay.applied).toEqual(decisions[5]?.applied);
    expect(replay.next).toBe(later);
    // A sent alert replayed: sent, and logged once.
    const sentReplay = decideEpisode(state, events[4] as SyncEvent, capped);
    expect(sentReplay.outcome).toBe('replay');
    expect(sentReplay.applied.email?.suppressedUntil).toBeUndefined();
    expect(sentReplay.next.emailsSentAt).toHaveLength(5);
  });

  it('a recovery emails past the cap and is not counted', () => {
    const o = org();
    const { state } = deliver(alternating(o, 8), emptyEpisodeState, capped);
    const recovered = decideEpisode(state, o.succeeded(10 * MIN) as SyncEvent, capped);
    expect(recovered.outcome).toBe('recovered');
    expect(recovered.applied.email).not.toBeNull();
    expect(recovered.applied.email?.suppressedUntil).toBeUndefined();
    expect(recovered.next.emailsSentAt).toEqual(state.emailsSentAt);
  });

  it('reminders count too: one due while the cap is full is held back and keeps the cadence', () => {
    const o = org();
    // The episode opens at 0; five other emails fill the hour before its first reminder is due.
    const opening = o.failed(0, 'consent_missing');
    const { state } = deliver([opening], emptyEpisodeState, capped);
    const full = {
      ...state,
      emailsSentAt: [
        ...(state.emailsSentAt ?? []),
        ...[1, 2, 3, 4, 5].map((m) => T0 + DAY - m * MIN),
      ],
    };
    const due = decideEpisode(full, o.failed(DAY, 'consent_missing'), capped);
    expect(due.outcome).toBe('reminded');
    expect(due.applied.email).toMatchObject({
      reminder: 1,
      suppressedUntil: at(DAY - 5 * MIN + HOUR),
    });
    expect(due.next.open).toMatchObject({
      emailsSent: 2,
      nextReminderAt: at(3 * DAY),
      emailHeldUntil: at(DAY - 5 * MIN + HOUR),
    });
    // The next reminder, with the cap free again, goes out and clears the mark.
    const next = decideEpisode(due.next, o.failed(3 * DAY, 'consent_missing'), capped);
    expect(next.outcome).toBe('reminded');
    expect(next.applied.email?.suppressedUntil).toBeUndefined();
    expect(next.next.open).not.toHaveProperty('emailHeldUntil');
  });

  it('a repeat of a held-back episode keeps the mark (its notification keeps saying so)', () => {
    const o = org();
    const events = alternating(o, 6);
    const { state } = deliver(events, emptyEpisodeState, capped);
    const repeat = decideEpisode(state, o.failed(7 * MIN, 'groups_not_configured'), capped);
    expect(repeat.outcome).toBe('repeated');
    expect(repeat.applied.email).toBeNull();
    expect(repeat.episode?.emailHeldUntil).toBe(at(HOUR));
  });

  describe('notifications outside the episodes', () => {
    const alert = (type: 'sync_failed' | 'client_secret_expired', n: number) => ({
      alertId: `raised-${type}-${n}`,
      notificationId: `raised-${type}-${n}`,
      type,
      occurredAt: at(n * MIN),
    });

    it('an exempt type stores nothing and always emails', () => {
      const full = { ...emptyEpisodeState, emailsSentAt: [0, 1, 2, 3, 4].map((m) => T0 + m) };
      const d = decideRaisedAlert(full, alert('client_secret_expired', 1), capped);
      expect(d.outcome).toBe('raised');
      expect(d.next).toBe(full);
      expect(d.applied.email.suppressedUntil).toBeUndefined();
    });

    it('a capped type counts, is held back past the cap, and replays as decided', () => {
      let state = emptyEpisodeState;
      const decisions = [0, 1, 2, 3, 4, 5].map((n) => {
        const d = decideRaisedAlert(state, alert('sync_failed', n), capped);
        state = d.next;
        return d;
      });
      expect(decisions.map((d) => d.applied.email.suppressedUntil ?? 'sent')).toEqual([
        'sent',
        'sent',
        'sent',
        'sent',
        'sent',
        at(HOUR),
      ]);
      const replay = decideRaisedAlert(
        { ...state, emailsSentAt: [] },
        alert('sync_failed', 5),
        capped,
      );
      expect(replay.outcome).toBe('replay');
      expect(replay.applied.email.suppressedUntil).toBe(at(HOUR));
      expect(state.emailsSentAt).toHaveLength(5);
    });
  });
});
