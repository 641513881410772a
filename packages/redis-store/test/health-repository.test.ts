import { type TestRedis, useTestRedis } from '@pinnacle/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyOutcome,
  HealthRepository,
  type IntegrationHealth,
  integrationHealthSchema,
  type RunOutcome,
  unknownHealth,
} from '../src/health-repository.js';
import { orgKeys } from '../src/keys.js';
import { dataPrefix } from '../src/stores.js';

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

function applyAll(outcomes: RunOutcome[], from: IntegrationHealth = unknownHealth) {
  return outcomes.reduce(applyOutcome, from);
}

describe('applyOutcome', () => {
  it('a first failure opens an episode', () => {
    const h = applyOutcome(unknownHealth, fail('r1', 1));
    expect(h.status).toBe('failing');
    expect(h.openFailure).toEqual({
      code: 'client_secret_expired',
      category: 'credentials',
      since: at(1),
      lastSeenAt: at(1),
      firstRunId: 'r1',
      lastRunId: 'r1',
      count: 1,
    });
    expect(h.lastRunId).toBe('r1');
    expect(h.lastRunAt).toBe(at(1));
    expect(h.lastSuccessfulRunId).toBeNull();
    expect(h.beforeLastRun).toEqual({ status: 'unknown', openFailureCode: null });
    expect(integrationHealthSchema.parse(h)).toEqual(h);
  });

  it('the same code run after run stays one episode and counts', () => {
    const h = applyAll([fail('r1', 1), fail('r2', 2), fail('r3', 3)]);
    expect(h.openFailure).toEqual({
      code: 'client_secret_expired',
      category: 'credentials',
      since: at(1),
      lastSeenAt: at(3),
      firstRunId: 'r1',
      lastRunId: 'r3',
      count: 3,
    });
    expect(h.beforeLastRun).toEqual({
      status: 'failing',
      openFailureCode: 'client_secret_expired',
    });
  });

  it('a new code opens a new episode', () => {
    const h = applyAll([fail('r1', 1), fail('r2', 2), fail('r3', 3, 'group_not_found')]);
    expect(h.openFailure).toEqual({
      code: 'group_not_found',
      category: 'groups',
      since: at(3),
      lastSeenAt: at(3),
      firstRunId: 'r3',
      lastRunId: 'r3',
      count: 1,
    });
    expect(h.beforeLastRun).toEqual({
      status: 'failing',
      openFailureCode: 'client_secret_expired',
    });
  });

  it('a success closes the episode; the same code afterwards is a new episode', () => {
    const healed = applyAll([fail('r1', 1), fail('r2', 2), ok('r3', 3)]);
    expect(healed.status).toBe('healthy');
    expect(healed.openFailure).toBeNull();
    expect(healed.lastSuccessfulRunId).toBe('r3');
    expect(healed.lastSuccessAt).toBe(at(3));
    expect(healed.beforeLastRun).toEqual({
      status: 'failing',
      openFailureCode: 'client_secret_expired',
    });

    const again = applyOutcome(healed, fail('r4', 4));
    expect(again.openFailure?.count).toBe(1);
    expect(again.openFailure?.since).toBe(at(4));
    expect(again.openFailure?.firstRunId).toBe('r4');
    // The last success is remembered through later failures.
    expect(again.lastSuccessfulRunId).toBe('r3');
    expect(again.beforeLastRun).toEqual({ status: 'healthy', openFailureCode: null });
  });

  it('does not mutate its input', () => {
    const before = applyAll([fail('r1', 1)]);
    const copy = structuredClone(before);
    applyOutcome(before, fail('r2', 2));
    applyOutcome(before, ok('r2', 2));
    expect(before).toEqual(copy);
    expect(unknownHealth.status).toBe('unknown');
    expect(unknownHealth.openFailure).toBeNull();
  });
});

describe('HealthRepository', () => {
  let r: TestRedis;
  let repo: HealthRepository;

  beforeAll(async () => {
    r = await useTestRedis('health-repository');
    repo = new HealthRepository(r.redis, dataPrefix(r.prefix));
  });
  afterAll(() => r.cleanup());

  it('reads unknown health for an org never recorded', async () => {
    expect(await repo.get('org-none')).toEqual(unknownHealth);
  });

  it('records transitions and persists them', async () => {
    const org = 'org-transitions';
    const first = await repo.record(org, fail('r1', 1));
    expect(first.before).toEqual({ status: 'unknown', openFailureCode: null });
    expect(first.next.openFailure?.count).toBe(1);

    const second = await repo.record(org, fail('r2', 2));
    expect(second.before).toEqual({ status: 'failing', openFailureCode: 'client_secret_expired' });
    expect(second.next.openFailure?.count).toBe(2);

    const healed = await repo.record(org, ok('r3', 3));
    expect(healed.before).toEqual({ status: 'failing', openFailureCode: 'client_secret_expired' });
    expect(healed.next.status).toBe('healthy');

    const stored = await repo.get(org);
    expect(stored).toEqual(healed.next);
    // It is really in Redis, under the org's key.
    const raw = await r.redis.get(orgKeys(dataPrefix(r.prefix), org).health);
    expect(raw).not.toBeNull();
    expect(JSON.parse(raw as string)).toEqual(healed.next);
  });

  it('recording the same run twice returns the same transition and counts once', async () => {
    const org = 'org-replay';
    await repo.record(org, fail('r1', 1));
    const first = await repo.record(org, fail('r2', 2));
    const replay = await repo.record(org, fail('r2', 2));
    expect(replay.before).toEqual(first.before);
    expect(replay.before).toEqual({ status: 'failing', openFailureCode: 'client_secret_expired' });
    expect(replay.next).toEqual(first.next);
    expect((await repo.get(org)).openFailure?.count).toBe(2);

    // A replayed success still says "this success ended a failure".
    const recovered = await repo.record(org, ok('r3', 3));
    const replayedRecovery = await repo.record(org, ok('r3', 3));
    expect(replayedRecovery.before).toEqual({
      status: 'failing',
      openFailureCode: 'client_secret_expired',
    });
    expect(replayedRecovery.next).toEqual(recovered.next);
    expect(await repo.get(org)).toEqual(recovered.next);
  });

  it('concurrent records of different runs are all counted', async () => {
    const org = 'org-concurrent';
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => repo.record(org, fail(`c${i}`, i))),
    );
    expect((await repo.get(org)).openFailure?.count).toBe(8);
    // Exactly one of them opened the episode.
    expect(results.filter((x) => x.before.status === 'unknown')).toHaveLength(1);
  });

  it('records from an earlier reading, and re-reads when that reading went stale', async () => {
    const org = 'org-reading';
    const fresh = await repo.read(org);
    const first = await repo.record(org, fail('r1', 1), fresh);
    expect(first.before.status).toBe('unknown');

    // `fresh` is stale now: the compare-and-set fails, the record re-reads
    // and lands on top of r1 instead of overwriting it.
    const second = await repo.record(org, fail('r2', 2), fresh);
    expect(second.before).toEqual({ status: 'failing', openFailureCode: 'client_secret_expired' });
    expect((await repo.get(org)).openFailure?.count).toBe(2);
  });

  it('orgs do not share health', async () => {
    await repo.record('org-x', fail('x1', 1));
    expect(await repo.get('org-y')).toEqual(unknownHealth);
  });
});
