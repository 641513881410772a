import { type EpisodeState, emptyEpisodeState, RECENT_ALERTS_KEPT } from '@pinnacle/redis-store';
import { describe, expect, it } from 'vitest';
import {
  decideEpisode,
  type EpisodeDecision,
  MAX_EMAILS_PER_EPISODE,
  nextReminderAt,
  reminderOffsetDays,
  type SyncEvent,
} from '../src/episodes/episode-machine.js';

const T0 = Date.UTC(2026, 2, 1, 6, 0, 0);
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0 + ms).toISOString();

let seq = 0;
function failed(offsetMs: number, code = 'client_secret_expired'): SyncEvent {
  seq++;
  return {
    kind: 'failed',
    alertId: `failed-run-${seq}`,
    notificationId: `failed-run-${seq}`,
    runId: `run-${seq}`,
    occurredAt: at(offsetMs),
    code,
  };
}
function recovered(offsetMs: number, previousFailureCode = 'client_secret_expired'): SyncEvent {
  seq++;
  return {
    kind: 'recovered',
    alertId: `recovered-run-${seq}`,
    notificationId: `recovered-run-${seq}`,
    runId: `run-${seq}`,
    occurredAt: at(offsetMs),
    previousFailureCode,
  };
}

/** Applies events in order, as the notifier stores them. */
function run(events: SyncEvent[], start: EpisodeState = emptyEpisodeState) {
  let state = start;
  const decisions: EpisodeDecision[] = [];
  for (const event of events) {
    const decision = decideEpisode(state, event);
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
    const event = failed(0);
    const { state, decisions } = run([event]);
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
      notificationId: event.notificationId,
      openedBy: event.alertId,
      count: 1,
      emailsSent: 1,
      nextReminderAt: at(DAY),
    });
    expect(state.lastEventAt).toBe(at(0));
  });

  it('folds the same code at later runs into the episode without an email', () => {
    const first = failed(0);
    const { state, decisions } = run([first, ...[1, 2, 3, 4].map((h) => failed(h * HOUR))]);
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
      count: 5,
      firstSeenAt: at(0),
      lastSeenAt: at(4 * HOUR),
      lastRunId: `run-${seq}`,
      emailsSent: 1,
    });
  });

  it('reminds after 1, 3, 7, 14 and 21 days, then never again (6 emails at most)', () => {
    // A run every 6 hours for 60 days.
    const events = Array.from({ length: 60 * 4 }, (_, i) => failed(i * 6 * HOUR));
    const { state, decisions } = run(events);
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
    const { state, decisions } = run([failed(0), failed(10 * DAY), failed(10 * DAY + HOUR)]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'reminded', 'repeated']);
    expect(state.open?.nextReminderAt).toBe(at(14 * DAY));
  });

  it('closes the episode and alerts at once on a different code', () => {
    const first = failed(0);
    const other = failed(2 * HOUR, 'consent_missing');
    const { state, decisions } = run([first, failed(HOUR), other]);
    const d = decisions[2];
    expect(d?.outcome).toBe('replaced');
    expect(d?.applied.notificationId).toBe(other.notificationId);
    expect(d?.applied.email).toMatchObject({ reminder: 0, failureCode: 'consent_missing' });
    expect(state.open).toMatchObject({
      code: 'consent_missing',
      count: 1,
      openedBy: other.alertId,
      emailsSent: 1,
    });
  });
});

describe('decideEpisode: successes', () => {
  it('closes the open episode with a recovery alert', () => {
    const first = failed(0);
    const success = recovered(3 * HOUR);
    const { state, decisions } = run([first, failed(HOUR), failed(2 * HOUR), success]);
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

  it('says nothing for a success with no open episode', () => {
    const { state, decisions } = run([recovered(0)]);
    expect(decisions[0]?.outcome).toBe('no_open_episode');
    expect(decisions[0]?.applied.notificationId).toBeNull();
    expect(decisions[0]?.applied.email).toBeNull();
    expect(state.open).toBeNull();
  });

  it('opens a new episode (and emails) for a failure after recovery', () => {
    const { decisions } = run([failed(0), recovered(HOUR), failed(2 * HOUR)]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'recovered', 'opened']);
    expect(decisions[2]?.applied.email?.reminder).toBe(0);
  });
});

describe('decideEpisode: retries and late events', () => {
  it('replays an alert it applied before: same delivery, nothing counted twice', () => {
    const first = failed(0);
    const second = failed(HOUR);
    const { state } = run([first, second]);
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
    const late = failed(HOUR);
    const { state, decisions } = run([failed(0), recovered(2 * HOUR), late]);
    expect(decisions[2]?.outcome).toBe('stale');
    expect(decisions[2]?.applied.notificationId).toBeNull();
    expect(state.open).toBeNull();
  });

  it('counts a late repeat of the open code, without moving last seen back or reminding', () => {
    const { state, decisions } = run([failed(0), failed(2 * DAY), failed(DAY + HOUR)]);
    expect(decisions.map((d) => d.outcome)).toEqual(['opened', 'reminded', 'repeated']);
    expect(state.open).toMatchObject({ count: 3, lastSeenAt: at(2 * DAY), emailsSent: 2 });
    expect(state.lastEventAt).toBe(at(2 * DAY));
  });

  it('ignores a late failure of another code', () => {
    const { state, decisions } = run([failed(HOUR), failed(0, 'tenant_not_found')]);
    expect(decisions[1]?.outcome).toBe('stale');
    expect(state.open?.code).toBe('client_secret_expired');
  });

  it(`remembers the last ${RECENT_ALERTS_KEPT} alerts`, () => {
    const events = Array.from({ length: RECENT_ALERTS_KEPT + 10 }, (_, i) => failed(i * HOUR));
    const { state } = run(events);
    expect(state.recent).toHaveLength(RECENT_ALERTS_KEPT);
    expect(state.recent[0]?.alertId).toBe(events[10]?.alertId);
    expect(state.recent.at(-1)?.alertId).toBe(events.at(-1)?.alertId);
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
    const opened = failed(0);
    const { state, decisions } = run([
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
    const { state } = run([failed(0)]);
    const d = decideEpisode(state, reminder(HOUR));
    expect(d.outcome).toBe('not_due');
    expect(d.next).toBe(state);
    expect(d.applied).toMatchObject({ notificationId: null, email: null });
  });

  it('owes nothing for a closed episode, another code, or one that sent every email', () => {
    const closed = run([failed(0), recovered(HOUR)]).state;
    expect(decideEpisode(closed, reminder(2 * DAY)).outcome).toBe('not_due');
    const open = run([failed(0)]).state;
    expect(decideEpisode(open, reminder(2 * DAY, 'consent_missing')).outcome).toBe('not_due');
    const spent = run([failed(0)].concat([1, 3, 7, 14, 21].map((d) => reminder(d * DAY + HOUR))));
    expect(spent.decisions.filter((d) => d.outcome === 'reminded')).toHaveLength(5);
    expect(spent.state.open).toMatchObject({
      emailsSent: MAX_EMAILS_PER_EPISODE,
      nextReminderAt: null,
    });
    expect(decideEpisode(spent.state, reminder(60 * DAY)).outcome).toBe('not_due');
  });

  it('the same reminder again (a retried job) replays what was decided', () => {
    const { state } = run([failed(0)]);
    const due = reminder(DAY + HOUR);
    const first = decideEpisode(state, due);
    const again = decideEpisode(first.next, due);
    expect(again.outcome).toBe('replay');
    expect(again.applied).toEqual(first.applied);
    expect(again.next).toBe(first.next);
  });
});
