import { describe, expect, it } from 'vitest';
import {
  episodeRef,
  type HealthTransition,
  type IntegrationHealth,
  integrationHealthSchema,
  type RunOutcome,
  recordRunOutcome,
  unknownHealth,
} from '../src/index.js';

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000).toISOString();
const ok = (runId: string, minute: number): RunOutcome => ({
  kind: 'succeeded',
  runId,
  at: at(minute),
});
const fail = (runId: string, minute: number, code = 'client_secret_expired'): RunOutcome => ({
  kind: 'failed',
  runId,
  at: at(minute),
  code,
  category: code === 'group_not_found' ? 'groups' : 'credentials',
});

/** Records outcomes in order, as the worker does; the health and every transition. */
function recordAll(outcomes: RunOutcome[], from: IntegrationHealth = unknownHealth) {
  let health = from;
  const transitions: HealthTransition[] = [];
  for (const outcome of outcomes) {
    const recorded = recordRunOutcome(health, outcome);
    health = recorded.next;
    transitions.push(recorded.transition);
  }
  return { health, transitions };
}

const secretExpired = (
  first: string,
  since: number,
  last: string,
  seen: number,
  count: number,
) => ({
  code: 'client_secret_expired',
  category: 'credentials',
  since: at(since),
  lastSeenAt: at(seen),
  firstRunId: first,
  lastRunId: last,
  count,
});

describe('recordRunOutcome', () => {
  it('a first failure opens an episode', () => {
    const { next, transition, replay } = recordRunOutcome(unknownHealth, fail('r1', 1));
    expect(replay).toBe(false);
    expect(next.status).toBe('failing');
    expect(next.openFailure).toEqual(secretExpired('r1', 1, 'r1', 1, 1));
    expect(transition).toEqual({ kind: 'opened', episode: next.openFailure });
    expect(next.lastRunId).toBe('r1');
    expect(next.lastRunAt).toBe(at(1));
    expect(next.lastSuccessfulRunId).toBeNull();
    expect(next.beforeLastRun).toEqual({
      status: 'unknown',
      openFailureCode: null,
      openFailure: null,
    });
    expect(integrationHealthSchema.parse(next)).toEqual(next);
  });

  it('the same code run after run stays one episode and counts', () => {
    const { health, transitions } = recordAll([fail('r1', 1), fail('r2', 2), fail('r3', 3)]);
    expect(transitions.map((t) => t.kind)).toEqual(['opened', 'repeated', 'repeated']);
    expect(health.openFailure).toEqual(secretExpired('r1', 1, 'r3', 3, 3));
    expect(health.beforeLastRun).toEqual({
      status: 'failing',
      openFailureCode: 'client_secret_expired',
      openFailure: secretExpired('r1', 1, 'r2', 2, 2),
    });
  });

  it('a new code replaces the episode', () => {
    const { health, transitions } = recordAll([
      fail('r1', 1),
      fail('r2', 2),
      fail('r3', 3, 'group_not_found'),
    ]);
    expect(transitions.map((t) => t.kind)).toEqual(['opened', 'repeated', 'replaced']);
    expect(health.openFailure).toEqual({
      code: 'group_not_found',
      category: 'groups',
      since: at(3),
      lastSeenAt: at(3),
      firstRunId: 'r3',
      lastRunId: 'r3',
      count: 1,
    });
  });

  it('a success recovers the episode, naming it; the same code afterwards opens a new one', () => {
    const { health: healed, transitions } = recordAll([fail('r1', 1), fail('r2', 2), ok('r3', 3)]);
    expect(transitions.at(-1)).toEqual({
      kind: 'recovered',
      previousFailureCode: 'client_secret_expired',
      closed: secretExpired('r1', 1, 'r2', 2, 2),
    });
    expect(healed.status).toBe('healthy');
    expect(healed.openFailure).toBeNull();
    expect(healed.lastSuccessfulRunId).toBe('r3');
    expect(healed.lastSuccessAt).toBe(at(3));

    const again = recordRunOutcome(healed, fail('r4', 4));
    expect(again.transition.kind).toBe('opened');
    expect(again.next.openFailure).toEqual(secretExpired('r4', 4, 'r4', 4, 1));
    // The last success is remembered through later failures.
    expect(again.next.lastSuccessfulRunId).toBe('r3');
  });

  it('a success with nothing open is just healthy', () => {
    const { health, transitions } = recordAll([ok('r1', 1), ok('r2', 2)]);
    expect(transitions).toEqual([{ kind: 'healthy' }, { kind: 'healthy' }]);
    expect(health.status).toBe('healthy');
  });

  it('recording the last run again changes nothing and learns the same transition', () => {
    const runs = [fail('r1', 1), fail('r2', 2), fail('r3', 3, 'group_not_found'), ok('r4', 4)];
    let health = unknownHealth;
    for (const outcome of runs) {
      const first = recordRunOutcome(health, outcome);
      const again = recordRunOutcome(first.next, outcome);
      expect(again.replay).toBe(true);
      expect(again.next).toBe(first.next);
      expect(again.transition).toEqual(first.transition);
      health = first.next;
    }
    expect(health.status).toBe('healthy');
  });

  it('replays a recovery from a record that kept only the code of the closed episode', () => {
    // As a worker before episodes were kept whole wrote it.
    const stored = integrationHealthSchema.parse({
      status: 'healthy',
      openFailure: null,
      lastRunId: 'r3',
      lastRunAt: at(3),
      lastSuccessfulRunId: 'r3',
      lastSuccessAt: at(3),
      beforeLastRun: { status: 'failing', openFailureCode: 'consent_missing' },
    });
    const replay = recordRunOutcome(stored, ok('r3', 3));
    expect(replay.replay).toBe(true);
    expect(replay.transition).toEqual({
      kind: 'recovered',
      previousFailureCode: 'consent_missing',
      closed: null,
    });
    // And a record without beforeLastRun at all parses as before.
    const older = integrationHealthSchema.parse({ ...stored, beforeLastRun: undefined });
    expect(older.beforeLastRun).toBeNull();
    expect(recordRunOutcome(older, ok('r3', 3)).replay).toBe(false);
  });

  it('does not mutate its input', () => {
    const before = recordAll([fail('r1', 1)]).health;
    const copy = structuredClone(before);
    recordRunOutcome(before, fail('r2', 2));
    recordRunOutcome(before, ok('r2', 2));
    expect(before).toEqual(copy);
    expect(unknownHealth.status).toBe('unknown');
    expect(unknownHealth.openFailure).toBeNull();
  });

  it('names an episode for a hand-off by its first run, start and count', () => {
    const { health } = recordAll([fail('r1', 1), fail('r2', 2)]);
    expect(episodeRef(health.openFailure!)).toEqual({ firstRunId: 'r1', since: at(1), count: 2 });
  });
});
