import { randomBytes } from 'node:crypto';
import {
  type IntegrationHealth,
  integrationSettingsInputSchema,
  unknownHealth,
} from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { FleetIndex } from '../src/fleet-index.js';
import { fleetKeys } from '../src/keys.js';
import { createStores, dataPrefix, type Stores } from '../src/stores.js';

let r: RedisFixture;
let prefix: string;
let fleet: FleetIndex;
let stores: Stores;

test.beforeAll(async ({ redis }) => {
  r = redis;
  prefix = dataPrefix(r.prefix);
  fleet = new FleetIndex(r.redis, prefix);
  stores = createStores(r.redis, r.prefix, randomBytes(32).toString('base64'));
});

const HOUR = 3_600_000;
const t0 = new Date('2026-03-02T08:00:00.000Z');
const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);
const iso = (hours: number) => at(hours).toISOString();

function failing(
  code: string,
  since: number,
  lastRun: number,
  lastSuccess: number | null,
): IntegrationHealth {
  return {
    ...unknownHealth,
    status: 'failing',
    openFailure: {
      code,
      category: 'credentials',
      since: iso(since),
      lastSeenAt: iso(lastRun),
      firstRunId: 'r1',
      lastRunId: 'r2',
      count: 2,
    },
    lastRunId: 'r2',
    lastRunAt: iso(lastRun),
    lastSuccessAt: lastSuccess === null ? null : iso(lastSuccess),
  };
}
function healthy(lastRun: number): IntegrationHealth {
  return {
    ...unknownHealth,
    status: 'healthy',
    lastRunId: 'r3',
    lastRunAt: iso(lastRun),
    lastSuccessAt: iso(lastRun),
  };
}

/** Redis Cluster's hash tag of a key: the text between the first { and the next }. */
function hashTag(key: string): string | null {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : null;
}

describe('FleetIndex', () => {
  it('enters an org when its settings are saved: never synced, stale three intervals later', async () => {
    await stores.integrations.put(
      'org-new',
      integrationSettingsInputSchema.parse({
        groupIds: [],
        schedule: { enabled: true, every: '6h' },
      }),
      t0,
    );
    const record = await fleet.get('org-new');
    expect(record).toMatchObject({
      status: 'unknown',
      failureCode: null,
      lastSuccessAt: null,
      scheduleIntervalMs: 6 * HOUR,
    });
    expect(record?.staleAt).toBe((record?.registeredAt ?? 0) + 18 * HOUR);
  });

  it('records what a finished run decided, ignoring an older run that reports late', async () => {
    await fleet.recordSchedule('org-a', 6 * HOUR, at(0));
    await fleet.recordHealth('org-a', failing('client_secret_expired', 1, 2, 0), undefined, at(2));
    // A retried attempt of an earlier run hands its (older) health in late.
    await fleet.recordHealth('org-a', healthy(1), undefined, at(3));
    expect(await fleet.get('org-a')).toMatchObject({
      status: 'failing',
      failureCode: 'client_secret_expired',
      failingSince: at(1).getTime(),
      lastRunAt: at(2).getTime(),
      lastSuccessAt: at(0).getTime(),
      staleAt: at(18).getTime(),
    });
    // Recovery: out of the failing and code indexes, staleness from the new success.
    await fleet.recordHealth('org-a', healthy(4), undefined, at(4));
    expect(await fleet.get('org-a')).toMatchObject({
      status: 'healthy',
      failureCode: null,
      staleAt: at(22).getTime(),
    });
    const codes = await r.redis.zrange(fleetKeys(prefix).code('client_secret_expired'), 0, -1);
    expect(codes).not.toContain('org-a');
  });

  it('pages by org ID, filtered by status or code, and counts the whole fleet', async () => {
    const index = new FleetIndex(r.redis, `${prefix}-paging`);
    for (const [orgId, health] of [
      ['p-1', failing('consent_missing', 1, 2, null)],
      ['p-2', failing('client_secret_expired', 1, 2, null)],
      ['p-3', healthy(2)],
      ['p-4', failing('consent_missing', 1, 3, 0)],
      ['p-5', unknownHealth],
    ] as const) {
      await index.recordSchedule(orgId, orgId === 'p-3' ? null : 6 * HOUR, at(0));
      if (health !== unknownHealth) await index.recordHealth(orgId, health, undefined, at(3));
    }
    const first = await index.page({}, { limit: 2 });
    expect(first.entries.map((e) => e.orgId)).toEqual(['p-1', 'p-2']);
    expect(first.more).toBe(true);
    const rest = await index.page({}, { limit: 10, after: 'p-2' });
    expect(rest.entries.map((e) => e.orgId)).toEqual(['p-3', 'p-4', 'p-5']);
    expect(rest.more).toBe(false);
    expect(
      (await index.page({ status: 'failing' }, { limit: 10 })).entries.map((e) => e.orgId),
    ).toEqual(['p-1', 'p-2', 'p-4']);
    expect(
      (await index.page({ code: 'consent_missing' }, { limit: 10 })).entries.map((e) => e.orgId),
    ).toEqual(['p-1', 'p-4']);
    expect(
      (await index.page({ code: 'consent_missing', status: 'healthy' }, { limit: 10 })).entries,
    ).toEqual([]);
    // Stale at +20 h: p-1, p-2, p-5 never succeeded (registered at 0, 6 h schedule); p-4's
    // success at 0 is 20 h old; p-3 has no schedule.
    expect(await index.counts(at(20))).toEqual({
      total: 5,
      byStatus: { unknown: 1, healthy: 1, failing: 3 },
      byFailureCode: { consent_missing: 2, client_secret_expired: 1 },
      stale: 4,
    });
    expect(await index.staleCount(at(17))).toBe(0);
    await index.remove('p-4');
    expect((await index.counts(at(20))).total).toBe(4);
    expect(
      (await index.page({ code: 'consent_missing' }, { limit: 10 })).entries.map((e) => e.orgId),
    ).toEqual(['p-1']);
  });

  it("carries each org's secret expiry from the settings' expiry index", async () => {
    await stores.integrations.put(
      'org-secret',
      integrationSettingsInputSchema.parse({
        clientSecret: 'Sec8Q~value-of-the-secret-000',
        clientSecretExpiresAt: '2026-03-07T08:00:00.000Z',
        groupIds: [],
      }),
      t0,
    );
    const page = await fleet.page({}, { limit: 200 });
    const entry = page.entries.find((e) => e.orgId === 'org-secret');
    expect(entry?.secretExpiresAt).toBe(Date.parse('2026-03-07T08:00:00.000Z'));
  });

  it('keeps every fleet key under the one {fleet} hash tag (one Cluster slot)', async () => {
    const k = fleetKeys(prefix);
    const keys = [k.entries, k.all, k.staleAt, k.status('failing'), k.code('consent_missing')];
    expect(new Set(keys.map(hashTag))).toEqual(new Set(['fleet']));
    const stored = (await r.keys()).filter((key) => key.includes(':{fleet}:'));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.every((key) => hashTag(key) === 'fleet')).toBe(true);
  });
});
