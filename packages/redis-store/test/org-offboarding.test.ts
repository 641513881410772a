import {
  buildFailure,
  emptyEpisodeState,
  integrationSettingsInputSchema,
  newQueuedRun,
  recordRunOutcome,
} from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import type { StoredNotification } from '../src/alert-repository.js';
import { type GlobalKeySpec, globalKeySpace, orgKeys } from '../src/keys.js';
import { SnapshotStore, type StagedUser } from '../src/snapshot-store.js';
import { createStores, dataPrefix, type Stores } from '../src/stores.js';
import { OrgOffboardedError } from '../src/write-fence.js';
import { testCursors } from './support/cursors.js';
import { LegacySnapshotStore } from './support/legacy-snapshot-store.js';

let r: RedisFixture;
let prefix: string;
let stores: Stores;
let snapshots: SnapshotStore;
let legacy: LegacySnapshotStore;

const KEY = Buffer.alloc(32, 7).toString('base64');
const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000);

test.beforeAll(async ({ redis }) => {
  r = redis;
  prefix = dataPrefix(r.prefix);
  stores = createStores(r.redis, r.prefix, KEY);
  // Small buckets, so a few dozen users spread over many keys.
  snapshots = new SnapshotStore(r.redis, prefix, testCursors, { bucketUsers: 4, minStageBits: 2 });
  legacy = new LegacySnapshotStore(r.redis, prefix, testCursors);
});

const user = (n: number, patch: Partial<StagedUser> = {}): StagedUser => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  displayName: `User ${n}`,
  mail: `user${n}@contoso.com`,
  userPrincipalName: `user${n}@contoso.onmicrosoft.com`,
  accountEnabled: n % 7 !== 0,
  ...patch,
});
const users = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => user(from + i));

function settings() {
  return integrationSettingsInputSchema.parse({
    tenantId: '33333333-3333-4333-8333-333333333333',
    clientId: '44444444-4444-4444-8444-444444444444',
    clientSecret: 'Abc8Q~offboarding-secret-0001',
    clientSecretExpiresAt: '2030-06-30T00:00:00Z',
    groupIds: ['11111111-1111-4111-8111-111111111111'],
    schedule: { enabled: true, every: '6h' },
    notifications: { email: { enabled: true, recipients: ['admin@contoso.com'] } },
  });
}

function notification(id: string, runId: string | null): StoredNotification {
  return {
    id,
    type: runId ? 'sync_failed' : 'client_secret_expiring',
    severity: runId ? 'error' : 'warning',
    title: 'Something happened',
    message: 'Something happened to the integration.',
    failureCode: runId ? 'client_secret_expired' : null,
    runId,
    count: 1,
    firstSeenAt: at(1).toISOString(),
    lastSeenAt: at(1).toISOString(),
    createdAt: at(1).toISOString(),
    readAt: null,
    delivery: { inApp: 'delivered', email: 'pending' },
    emailAlertId: `alert-${id}`,
  };
}

/** A finished run of the org, recorded as the worker records one. */
async function finishedRun(orgId: string, runId: string, minute: number, failed = false) {
  const run = newQueuedRun({ id: runId, orgId, trigger: 'manual', createdAt: at(minute) });
  expect((await stores.runs.createIfIdle(run)).created).toBe(true);
  await stores.runs.save({
    ...run,
    status: failed ? 'failed' : 'succeeded',
    finishedAt: at(minute + 1).toISOString(),
    failure: failed ? buildFailure('client_secret_expired', { source: 'entra' }) : null,
  });
}

/**
 * An org with one of everything the service stores: settings and secret, a
 * legacy committed version, a compact version committed over it (its diff
 * against the legacy one, and its recorded changes), a run still staging,
 * a failed run, health, selected groups, an open episode with its
 * notification and reminder, an expiry warning, a read notification.
 */
async function populate(orgId: string): Promise<void> {
  await stores.integrations.put(orgId, settings(), at(0));
  await legacy.resetStaging(orgId, 'legacy-run');
  await legacy.stagePage(orgId, 'legacy-run', 'g1', users(0, 30));
  const old = await legacy.buildVersion(orgId, 'legacy-run', { includeDisabledUsers: true });
  await legacy.promote(orgId, 'legacy-run', old.baseVersion, {});

  await finishedRun(orgId, 'run-ok', 10);
  await snapshots.resetStaging(orgId, 'run-ok', { groupIds: ['g1', 'g2'] });
  await snapshots.stagePage(orgId, 'run-ok', 'g1', users(5, 40));
  await snapshots.stagePage(orgId, 'run-ok', 'g2', users(30, 45));
  const diff = await snapshots.buildVersion(orgId, 'run-ok', { includeDisabledUsers: false });
  await snapshots.promote(orgId, 'run-ok', diff.baseVersion, { users: diff.users });

  await finishedRun(orgId, 'run-failed', 20, true);
  const reading = await stores.health.read(orgId);
  const { next } = recordRunOutcome(reading.health, {
    kind: 'failed',
    runId: 'run-failed',
    at: at(21).toISOString(),
    code: 'client_secret_expired',
    category: 'credentials',
  });
  expect(await stores.health.compareAndSet(orgId, reading, next)).toBe(true);
  // The fleet index follows it, as the worker records it.
  await stores.fleet.recordHealth(orgId, next, 6 * 3600_000, at(21));
  await stores.selectedGroups.recordCheck(orgId, at(20), [
    { id: 'g1', displayName: 'Group one', missing: false },
  ]);
  const episode = { ...emptyEpisodeState };
  expect(
    await stores.alerts.commit(orgId, '', episode, notification('failed-run-failed', 'run-failed')),
  ).toBe(true);
  await stores.alerts.setReminderDue(orgId, at(24 * 60).toISOString());
  await stores.alerts.upsertNotification(orgId, notification('expiring-1', null));
  await stores.notifications.markRead(orgId, 'expiring-1', at(30));
  await stores.expiryWarnings.markSent(orgId, '2030-06-30T00:00:00.000Z', '30d', at(30));

  const staging = newQueuedRun({
    id: 'run-staging',
    orgId,
    trigger: 'schedule',
    createdAt: at(40),
  });
  expect((await stores.runs.createIfIdle(staging)).created).toBe(true);
  await snapshots.resetStaging(orgId, 'run-staging', { groupIds: ['g1'] });
  await snapshots.stagePage(orgId, 'run-staging', 'g1', users(0, 50));
}

/** Every key whose name carries the org ID. */
async function keysNaming(orgId: string): Promise<string[]> {
  return (await r.keys()).filter((key) => key.includes(orgId)).sort();
}

/** What every global index holds about `orgId`. */
async function indexEntries(orgId: string): Promise<string[]> {
  const found: string[] = [];
  const specs: [string, GlobalKeySpec][] = Object.entries(globalKeySpace(prefix));
  for (const [name, spec] of specs) {
    if (spec.kind !== 'org-index') continue;
    const present =
      spec.type === 'set'
        ? await r.redis.sismember(spec.key, orgId)
        : spec.type === 'zset'
          ? (await r.redis.zscore(spec.key, orgId)) !== null
            ? 1
            : 0
          : await r.redis.hexists(spec.key, orgId);
    if (present) found.push(name);
  }
  return found;
}

/** A glob of Redis's MATCH (only `*` is used here) as a RegExp. */
function globRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

describe('OrgOffboarding', () => {
  it('leaves no key of the org, in either snapshot layout, and no index entry; others untouched', async () => {
    await populate('org-gone');
    await populate('org-kept');
    await populate('org-kept-too');
    const keptBefore = await keysNaming('org-kept');
    expect((await keysNaming('org-gone')).length).toBeGreaterThan(10);
    // Both layouts' keys were there (the legacy version retired, still readable).
    const gone = await keysNaming('org-gone');
    expect(gone.some((k) => k.endsWith(':ids'))).toBe(true);
    expect(gone.some((k) => /:snap:run-ok:b:\d+$/.test(k))).toBe(true);
    expect(gone.some((k) => /:snap:run-staging:s:\d+$/.test(k))).toBe(true);
    expect(gone.some((k) => k.endsWith(':changes:added'))).toBe(true);
    expect(await indexEntries('org-gone')).toEqual(
      expect.arrayContaining([
        'orgs',
        'secretExpiry',
        'remindersDue',
        'fleetEntries',
        'fleetAll',
        'fleetStaleAt',
        'fleetStatus:failing',
        'fleetCode:client_secret_expired',
      ]),
    );

    const fenced = await stores.offboarding.fence('org-gone');
    expect(fenced.integration?.orgId).toBe('org-gone');
    expect(fenced.runs).toBe(3);
    const swept = await stores.offboarding.sweep('org-gone');
    expect(swept.keys).toBeGreaterThan(10);

    expect(await keysNaming('org-gone')).toEqual([]);
    expect(await indexEntries('org-gone')).toEqual([]);
    expect(await keysNaming('org-kept')).toEqual(keptBefore);
    expect(await indexEntries('org-kept')).toEqual(await indexEntries('org-kept-too'));
    expect(await stores.integrations.get('org-kept')).not.toBeNull();
    // Again: nothing left to do.
    expect(await stores.offboarding.sweep('org-gone')).toEqual({ keys: 0 });
    expect(await stores.offboarding.fence('org-gone')).toEqual({ integration: null, runs: 0 });
  });

  it('writes every key outside the orgs’ tags to a key globalKeySpace lists', async () => {
    await populate('org-listed');
    const specs: GlobalKeySpec[] = Object.values(globalKeySpace(prefix));
    const outside = (await r.keys()).filter((key) => !key.includes(':{o:'));
    expect(outside.length).toBeGreaterThan(0);
    for (const key of outside) {
      const listed = specs.some((spec) =>
        spec.kind === 'org-index'
          ? spec.key === key
          : spec.kind === 'no-org'
            ? globRegExp(spec.match).test(key)
            : false,
      );
      expect(listed, `${key} is not in globalKeySpace`).toBe(true);
    }
  });

  it('refuses every fenced write once the org is fenced, before and after the sweep', async () => {
    const org = 'org-fenced';
    await stores.integrations.put(org, settings(), at(0));
    const run = newQueuedRun({ id: 'run-1', orgId: org, trigger: 'manual', createdAt: at(1) });
    await stores.runs.createIfIdle(run);
    // A build done before the fence, waiting for its swap.
    await snapshots.resetStaging(org, 'run-1', { groupIds: ['g1'], fence: { runId: 'run-1' } });
    await snapshots.stagePage(org, 'run-1', 'g1', users(0, 10));
    const built = await snapshots.buildVersion(org, 'run-1', {
      includeDisabledUsers: true,
      fence: { runId: 'run-1' },
    });
    // And a second run's staging, waiting for its build.
    await stores.runs.save({ ...run, status: 'succeeded', finishedAt: at(2).toISOString() });
    const second = newQueuedRun({ id: 'run-2', orgId: org, trigger: 'manual', createdAt: at(3) });
    await stores.runs.createIfIdle(second);
    await snapshots.resetStaging(org, 'run-2', { groupIds: ['g1'] });
    await snapshots.stagePage(org, 'run-2', 'g1', users(0, 10));

    // In-flight work writes between the fence and the sweep: all refused.
    await stores.offboarding.fence(org);
    const afterFence = await keysNaming(org);
    expect(afterFence.length).toBeGreaterThan(3);

    const fence = { runId: 'run-1' };
    const health = await stores.health.read(org);
    const refused: [string, () => Promise<unknown>][] = [
      [
        'the health record',
        () =>
          stores.health.compareAndSet(
            org,
            health,
            recordRunOutcome(health.health, {
              kind: 'succeeded',
              runId: 'run-1',
              at: at(5).toISOString(),
            }).next,
            fence,
          ),
      ],
      [
        'the selected groups',
        () =>
          stores.selectedGroups.recordCheck(
            org,
            at(5),
            [{ id: 'g1', displayName: 'G', missing: false }],
            fence,
          ),
      ],
      [
        'a build',
        () => snapshots.buildVersion(org, 'run-2', { includeDisabledUsers: true, fence }),
      ],
      ['the swap', () => snapshots.promote(org, 'run-1', built.baseVersion, {}, { fence })],
      [
        'an episode and its notification',
        () =>
          stores.alerts.commit(
            org,
            '',
            emptyEpisodeState,
            notification('failed-run-1', 'run-1'),
            fence,
          ),
      ],
      [
        'a notification of the integration',
        () => stores.alerts.upsertNotification(org, notification('expired-1', null), 'integration'),
      ],
      ['a reminder entry', () => stores.alerts.setReminderDue(org, at(60).toISOString(), fence)],
      [
        'an expiry warning',
        () =>
          stores.expiryWarnings.markSent(
            org,
            '2030-06-30',
            '7d',
            at(5),
            'client_secret',
            'integration',
          ),
      ],
      [
        "the run's entry in the fleet index",
        () => stores.fleet.recordHealth(org, health.health, null, at(5), fence),
      ],
      [
        'a scheduled run',
        () =>
          stores.runs.createIfIdle(
            newQueuedRun({ id: 'run-3', orgId: org, trigger: 'schedule', createdAt: at(6) }),
            { fence: 'integration' },
          ),
      ],
      // Last: a refused restart still clears what the run staged before.
      ['a staging plan', () => snapshots.resetStaging(org, 'run-1', { fence })],
    ];
    for (const [what, write] of refused) {
      await expect(write(), what).rejects.toBeInstanceOf(OrgOffboardedError);
    }
    // A run's own saves find no record to write over.
    expect(await stores.runs.save({ ...run, status: 'failed' })).toBe(false);
    // Nothing written: no key but those left from before the fence, and the
    // fleet entry the refused write made taken out again.
    for (const key of await keysNaming(org)) expect(afterFence).toContain(key);
    expect(await indexEntries(org)).not.toContain('fleetEntries');
    expect(await stores.snapshots.currentVersion(org)).toBeNull();

    await stores.offboarding.sweep(org);
    expect(await keysNaming(org)).toEqual([]);
    for (const [what, write] of refused) {
      await expect(write(), what).rejects.toBeInstanceOf(Error);
    }
    // A page staged into the deleted plan is refused by the plan's absence.
    await expect(snapshots.stagePage(org, 'run-2', 'g1', users(20, 30))).rejects.toThrow(
      /restarted or has expired/,
    );
    expect(await keysNaming(org)).toEqual([]);
    expect(await indexEntries(org)).toEqual([]);

    // Configured afresh, the org works as new.
    await stores.integrations.put(org, settings(), at(10));
    expect(await indexEntries(org)).toEqual(
      expect.arrayContaining(['orgs', 'secretExpiry', 'fleetEntries', 'fleetStatus:unknown']),
    );
    expect(await indexEntries(org)).not.toContain('remindersDue');
    const fresh = newQueuedRun({ id: 'run-4', orgId: org, trigger: 'schedule', createdAt: at(11) });
    expect((await stores.runs.createIfIdle(fresh, { fence: 'integration' })).created).toBe(true);
  });

  it('refuses an org ID that could be a glob', async () => {
    await expect(stores.offboarding.sweep('org-*')).rejects.toThrow();
    await expect(stores.offboarding.fence('a:b')).rejects.toThrow();
  });
});

describe('the staging ceiling and discard', () => {
  it('stops staging within one page of the ceiling, whatever pages come later', async () => {
    const org = 'org-ceiling';
    await snapshots.resetStaging(org, 'run-1', { groupIds: ['g1', 'g2'] });
    const page = (from: number, group = 'g1') =>
      snapshots.stagePage(org, 'run-1', group, users(from, from + 10), { maxUsers: 25 });
    expect(await page(0)).toEqual({ stagedUsers: 10, overCeiling: false });
    expect(await page(10)).toEqual({ stagedUsers: 20, overCeiling: false });
    // Users already staged (another group) are not counted again.
    expect(await page(10, 'g2')).toEqual({ stagedUsers: 20, overCeiling: false });
    // This page crosses the ceiling: it is written, and says so.
    expect(await page(20)).toEqual({ stagedUsers: 30, overCeiling: true });
    const k = orgKeys(prefix, org);
    const staged = async () => {
      let n = 0;
      for (const key of (await r.keys()).filter((x) => x.includes(':snap:run-1:s:'))) {
        n += await r.redis.hlen(key);
      }
      return n;
    };
    expect(await staged()).toBe(30);
    // Every later page, of any group, writes nothing.
    expect(await page(30, 'g2')).toEqual({ stagedUsers: 30, overCeiling: true });
    expect(await page(40)).toEqual({ stagedUsers: 30, overCeiling: true });
    expect(await staged()).toBe(30);
    expect(await r.redis.hget(k.snapshotStagePlan('run-1'), 'users')).toBe('30');
    // Without a ceiling the same run stages on.
    expect((await snapshots.stagePage(org, 'run-1', 'g1', users(40, 45))).stagedUsers).toBe(35);
  });

  it('discards a stopped run with its recorded changes when asked, never the current version', async () => {
    const org = 'org-discard';
    await snapshots.resetStaging(org, 'run-1', { groupIds: ['g1'] });
    await snapshots.stagePage(org, 'run-1', 'g1', users(0, 20));
    const first = await snapshots.buildVersion(org, 'run-1', { includeDisabledUsers: true });
    await snapshots.promote(org, 'run-1', first.baseVersion, {});
    await snapshots.resetStaging(org, 'run-2', { groupIds: ['g1'] });
    await snapshots.stagePage(org, 'run-2', 'g1', users(5, 30));
    await snapshots.buildVersion(org, 'run-2', { includeDisabledUsers: true });
    const ofRun = async (run: string) =>
      (await keysNaming(org)).filter((key) => key.includes(`:${run}:`));
    expect((await ofRun('run-2')).some((key) => key.includes(':changes'))).toBe(true);
    await snapshots.discard(org, 'run-2');
    expect((await ofRun('run-2')).every((key) => key.includes(':changes'))).toBe(true);
    await snapshots.discard(org, 'run-2', { withChanges: true });
    expect(await ofRun('run-2')).toEqual([]);
    // The committed version stays whatever is asked.
    const committed = await ofRun('run-1');
    await snapshots.discard(org, 'run-1', { withChanges: true });
    expect(await ofRun('run-1')).toEqual(committed);
  });
});
