import {
  type IntegrationHealth,
  type RunOutcome,
  recordRunOutcome,
  unknownHealth,
} from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { HealthRepository } from '../src/health-repository.js';
import { orgKeys } from '../src/keys.js';
import { dataPrefix } from '../src/stores.js';

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000).toISOString();
const fail = (runId: string, minute: number): RunOutcome => ({
  kind: 'failed',
  runId,
  at: at(minute),
  code: 'client_secret_expired',
  category: 'credentials',
});

let r: RedisFixture;
let repo: HealthRepository;

test.beforeAll(async ({ redis }) => {
  r = redis;
  repo = new HealthRepository(r.redis, dataPrefix(r.prefix));
});

/** Read, decide, compare-and-set, again until it lands: how the worker records a run. */
async function record(orgId: string, outcome: RunOutcome): Promise<IntegrationHealth> {
  for (;;) {
    const reading = await repo.read(orgId);
    const { next, replay } = recordRunOutcome(reading.health, outcome);
    if (replay || (await repo.compareAndSet(orgId, reading, next))) return next;
  }
}

describe('HealthRepository', () => {
  it('reads unknown health for an org never recorded', async () => {
    expect(await repo.read('org-none')).toEqual({ raw: '', health: unknownHealth });
  });

  it('stores a record over the reading it was decided from, under the org key', async () => {
    const org = 'org-store';
    const empty = await repo.read(org);
    const next = recordRunOutcome(empty.health, fail('r1', 1)).next;
    expect(await repo.compareAndSet(org, empty, next)).toBe(true);
    expect(await repo.get(org)).toEqual(next);
    const raw = await r.redis.get(orgKeys(dataPrefix(r.prefix), org).health);
    expect(JSON.parse(raw as string)).toEqual(next);
  });

  it('refuses a write over a reading gone stale, and writes nothing', async () => {
    const org = 'org-stale';
    const fresh = await repo.read(org);
    expect(
      await repo.compareAndSet(org, fresh, recordRunOutcome(fresh.health, fail('r1', 1)).next),
    ).toBe(true);
    // `fresh` still says "nothing recorded": a writer holding it loses.
    const lost = recordRunOutcome(fresh.health, fail('r2', 2)).next;
    expect(await repo.compareAndSet(org, fresh, lost)).toBe(false);
    expect((await repo.get(org)).lastRunId).toBe('r1');
  });

  it('refuses a record that does not match the schema', async () => {
    const org = 'org-bad';
    const bad = { ...unknownHealth, status: 'sick' } as unknown as IntegrationHealth;
    await expect(repo.compareAndSet(org, await repo.read(org), bad)).rejects.toThrow();
    expect(await repo.get(org)).toEqual(unknownHealth);
  });

  it('counts every one of many concurrent runs exactly once', async () => {
    const org = 'org-concurrent';
    await Promise.all(Array.from({ length: 8 }, (_, i) => record(org, fail(`c${i}`, i))));
    expect((await repo.get(org)).openFailure?.count).toBe(8);
  });

  it('orgs do not share health', async () => {
    await record('org-x', fail('x1', 1));
    expect(await repo.get('org-y')).toEqual(unknownHealth);
  });
});
