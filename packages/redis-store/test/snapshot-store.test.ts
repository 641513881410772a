import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { CursorSigner } from '../src/cursor-signer.js';
import { orgKeys } from '../src/keys.js';
import type { RedisClient } from '../src/redis-client.js';
import { SecretKeyring } from '../src/secret-keyring.js';
import {
  SnapshotConflictError,
  SnapshotCursorError,
  SnapshotStore,
  type SnapshotUser,
  type StagedUser,
} from '../src/snapshot-store.js';
import { DIRECTORY_CURSOR_PURPOSE, dataPrefix } from '../src/stores.js';

let r: RedisFixture;
let prefix: string;
let store: SnapshotStore;
let otherConnection: RedisClient;
const KEY = Buffer.alloc(32, 3).toString('base64');
const cursors = new CursorSigner(new SecretKeyring(KEY), DIRECTORY_CURSOR_PURPOSE);

test.beforeAll(async ({ redis }) => {
  r = redis;
  prefix = dataPrefix(r.prefix);
  store = new SnapshotStore(r.redis, prefix, cursors);
  otherConnection = r.connect();
});

const keys = (orgId: string) => orgKeys(prefix, orgId);
const everyone = { includeDisabledUsers: true };
const enabledOnly = { includeDisabledUsers: false };

/** Every key a version has now (staging, built or committed). */
async function versionKeys(orgId: string, version: string): Promise<string[]> {
  const marker = `{o:${orgId}}:snap:${version}:`;
  return (await r.keys()).filter((key) => key.includes(marker)).sort();
}

/** Everything a version holds, for before/after comparisons. */
async function versionContents(orgId: string, version: string) {
  const out: Record<string, unknown> = {};
  for (const key of await versionKeys(orgId, version)) {
    const type = await r.redis.type(key);
    if (type === 'hash') {
      // Fields are binary: read them as buffers, not as object keys.
      const flat = (await r.redis.callBuffer('HGETALL', key)) as Buffer[];
      const pairs: string[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        pairs.push(`${flat[i]?.toString('hex')}=${flat[i + 1]?.toString('hex')}`);
      }
      out[key] = pairs.sort();
    } else if (type === 'list') {
      out[key] = (await r.redis.lrangeBuffer(key, 0, -1)).map((b) => b.toString('hex'));
    } else {
      out[key] = await r.redis.get(key);
    }
  }
  return out;
}

/** Zero-padded so the lexical order is the numeric order. */
const uid = (n: number) => `u${String(n).padStart(6, '0')}`;

function user(id: string, patch: Partial<StagedUser> = {}): StagedUser {
  return {
    id,
    displayName: `User ${id}`,
    mail: `${id}@contoso.com`,
    userPrincipalName: `${id}@contoso.onmicrosoft.com`,
    accountEnabled: true,
    ...patch,
  };
}

/** Stages, builds and promotes one run; returns the diff. */
async function commit(
  orgId: string,
  runId: string,
  pages: { groupId: string; users: StagedUser[] }[],
  options: { includeDisabledUsers: boolean } = everyone,
) {
  await store.resetStaging(orgId, runId);
  for (const p of pages) await store.stagePage(orgId, runId, p.groupId, p.users);
  const diff = await store.buildVersion(orgId, runId, options);
  await store.promote(orgId, runId, diff.baseVersion, { users: diff.users });
  return diff;
}

/** Every user of the current snapshot, paging with `limit`; checks each page's size. */
async function readAll(orgId: string, limit: number, firstCursor?: string) {
  const items: SnapshotUser[] = [];
  const versions = new Set<string | null>();
  let cursor = firstCursor;
  for (let page = 0; page < 100_000; page++) {
    const result = await store.readUsers(orgId, { cursor, limit });
    expect(result.items.length).toBeLessThanOrEqual(limit);
    versions.add(result.version);
    items.push(...result.items);
    if (result.nextCursor === null) return { items, versions };
    // A cursor is only handed out when there is more to read.
    expect(result.items).toHaveLength(limit);
    cursor = result.nextCursor;
  }
  throw new Error('paging did not end');
}

describe('SnapshotStore staging and build', () => {
  it('merges overlapping groups: each user once, with the union of group IDs, sorted', async () => {
    const org = 'org-merge';
    await store.resetStaging(org, 'run-1');
    // Groups staged out of order, so the sort is visible.
    await store.stagePage(org, 'run-1', 'g-c', [user('a'), user('b')]);
    await store.stagePage(org, 'run-1', 'g-a', [user('b'), user('c')]);
    await store.stagePage(org, 'run-1', 'g-b', [user('a'), user('b')]);
    await store.stagePage(org, 'run-1', 'g-b', [user('d')]); // a second page of g-b
    const diff = await store.buildVersion(org, 'run-1', everyone);
    expect(diff).toEqual({
      baseVersion: null,
      users: 4,
      added: 4,
      changed: 0,
      removed: 0,
      previousUsers: 0,
    });
    await store.promote(org, 'run-1', diff.baseVersion);
    const { items } = await readAll(org, 10);
    expect(items.map((u) => [u.id, u.groupIds])).toEqual([
      ['a', ['g-b', 'g-c']],
      ['b', ['g-a', 'g-b', 'g-c']],
      ['c', ['g-a']],
      ['d', ['g-b']],
    ]);
    expect(items[0]).toEqual({ ...user('a'), groupIds: ['g-b', 'g-c'] });
  });

  it('replaying a page changes nothing', async () => {
    const org = 'org-replay';
    const page = [user('a'), user('b', { mail: null })];
    await store.resetStaging(org, 'run-1');
    await store.stagePage(org, 'run-1', 'g-1', page);
    await store.stagePage(org, 'run-1', 'g-2', [user('a')]);
    await store.stagePage(org, 'run-1', 'g-2', [user('c', { accountEnabled: false })]);
    const stagedOnce = await versionContents(org, 'run-1');
    expect(await r.redis.hmget(keys(org).snapshotStagePlan('run-1'), 'users', 'disabled')).toEqual([
      '3',
      '1',
    ]);
    // Retried requests: the pages again, in another order.
    await store.stagePage(org, 'run-1', 'g-2', [user('a')]);
    await store.stagePage(org, 'run-1', 'g-1', page);
    await store.stagePage(org, 'run-1', 'g-2', [user('c', { accountEnabled: false })]);
    await store.stagePage(org, 'run-1', 'g-1', page);
    expect(await versionContents(org, 'run-1')).toEqual(stagedOnce);

    const diff = await store.buildVersion(org, 'run-1', enabledOnly);
    expect(diff.users).toBe(2);
    await store.promote(org, 'run-1', null);
    const { items } = await readAll(org, 10);
    expect(items).toEqual([
      { ...user('a'), groupIds: ['g-1', 'g-2'] },
      { ...user('b', { mail: null }), groupIds: ['g-1'] },
    ]);
  });

  it('serves a user stored with accountEnabled null (by an older version) as enabled', async () => {
    const org = 'org-null-enabled';
    // Versions before the one Graph user model kept a missing accountEnabled as null.
    const older = { ...user('b'), accountEnabled: null } as unknown as StagedUser;
    await store.resetStaging(org, 'run-1');
    await store.stagePage(org, 'run-1', 'g-1', [user('a'), older]);
    const diff = await store.buildVersion(org, 'run-1', enabledOnly);
    // Null (unknown) is not "disabled": kept, and served as enabled.
    expect(diff.users).toBe(2);
    await store.promote(org, 'run-1', null);
    const { items } = await readAll(org, 10);
    expect(items.map((u) => [u.id, u.accountEnabled])).toEqual([
      ['a', true],
      ['b', true],
    ]);
  });

  it('a group ID that is a prefix of another is not mistaken for it', async () => {
    const org = 'org-prefix-groups';
    await store.resetStaging(org, 'run-1');
    await store.stagePage(org, 'run-1', 'g-10', [user('a')]);
    await store.stagePage(org, 'run-1', 'g-1', [user('a')]);
    await store.stagePage(org, 'run-1', 'g-0', [user('a')]);
    await store.stagePage(org, 'run-1', 'g-1', [user('a')]);
    const diff = await store.buildVersion(org, 'run-1', everyone);
    await store.promote(org, 'run-1', diff.baseVersion);
    const { items } = await readAll(org, 10);
    expect(items.map((u) => u.groupIds)).toEqual([['g-0', 'g-1', 'g-10']]);
  });

  it('an empty page is a no-op', async () => {
    const org = 'org-empty-page';
    await store.stagePage(org, 'run-1', 'g-1', []);
    expect(await versionKeys(org, 'run-1')).toEqual([]);
  });

  it('a version being built expires on its own (a dead worker leaves no garbage forever)', async () => {
    const org = 'org-staging-ttl';
    await store.resetStaging(org, 'run-1');
    await store.stagePage(org, 'run-1', 'g-1', [user('a'), user('b', { accountEnabled: false })]);
    const expectExpiring = async () => {
      const keyList = await versionKeys(org, 'run-1');
      expect(keyList.length).toBeGreaterThan(1);
      for (const key of keyList) {
        const ttl = await r.redis.ttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(6 * 3600);
      }
    };
    await expectExpiring();
    await store.buildVersion(org, 'run-1', everyone);
    // Built but not yet promoted: still expiring.
    await expectExpiring();
  });

  it('the last page that saw a user decides whether it is disabled', async () => {
    // Graph data can change while a sync pages through several groups: the
    // stored fields are the last ones seen, so the disabled flag must be too.
    const org = 'org-flip-disabled';
    await store.resetStaging(org, 'run-1');
    await store.stagePage(org, 'run-1', 'g-1', [
      user('re-enabled', { accountEnabled: false }),
      user('now-disabled'),
    ]);
    await store.stagePage(org, 'run-1', 'g-2', [
      user('re-enabled'),
      user('now-disabled', { accountEnabled: false }),
    ]);
    const diff = await store.buildVersion(org, 'run-1', enabledOnly);
    expect(diff.users).toBe(1);
    await store.promote(org, 'run-1', diff.baseVersion);
    expect((await readAll(org, 10)).items).toEqual([
      { ...user('re-enabled'), groupIds: ['g-1', 'g-2'] },
    ]);
  });

  it('a run whose version is already committed cannot stage into it', async () => {
    // A stalled worker still fetching after another worker finished the same
    // run must not write into (or set a TTL on) the live snapshot.
    const org = 'org-stage-live';
    // The stalled worker: another process, which staged the run first.
    const stalled = new SnapshotStore(otherConnection, prefix, cursors);
    await stalled.resetStaging(org, 'run-1');
    await stalled.stagePage(org, 'run-1', 'g', [user('a')]);
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a'), user('b')] }]);
    const before = await versionContents(org, 'run-1');
    const zombiePage = [user('a'), user('zombie', { accountEnabled: false })];
    for (const worker of [stalled, store]) {
      await expect(worker.stagePage(org, 'run-1', 'g-other', zombiePage)).rejects.toBeInstanceOf(
        SnapshotConflictError,
      );
    }
    expect(await versionContents(org, 'run-1')).toEqual(before);
    for (const key of await versionKeys(org, 'run-1')) expect(await r.redis.ttl(key)).toBe(-1);
    expect((await readAll(org, 10)).items.map((u) => [u.id, u.groupIds])).toEqual([
      ['a', ['g']],
      ['b', ['g']],
    ]);
  });

  it('diffs two successive commits, with disabled users filtered out', async () => {
    const org = 'org-diff';
    const first = await commit(
      org,
      'run-1',
      [
        {
          groupId: 'g-1',
          users: [
            user('u1'),
            user('u2'),
            user('u3'),
            user('u4'),
            user('u7'),
            user('u5', { accountEnabled: false }),
          ],
        },
      ],
      enabledOnly,
    );
    expect(first).toEqual({
      baseVersion: null,
      users: 5,
      added: 5,
      changed: 0,
      removed: 0,
      previousUsers: 0,
    });
    expect(await store.countUsers(org)).toBe(5);

    const second = await commit(
      org,
      'run-2',
      [
        {
          groupId: 'g-1',
          users: [
            user('u1'), // unchanged
            user('u2', { displayName: 'Renamed' }), // changed
            user('u3'),
            user('u5', { accountEnabled: false }), // still disabled: still out
            user('u7', { accountEnabled: false }), // newly disabled: removed
            user('u6'), // new
            // u4 left the group: removed
          ],
        },
        { groupId: 'g-2', users: [user('u3')] }, // u3 changed: one more group
      ],
      enabledOnly,
    );
    expect(second).toEqual({
      baseVersion: 'run-1',
      users: 4,
      added: 1,
      changed: 2,
      removed: 2,
      previousUsers: 5,
    });
    const { items } = await readAll(org, 2);
    expect(items.map((u) => u.id)).toEqual(['u1', 'u2', 'u3', 'u6']);
    expect(items.find((u) => u.id === 'u3')?.groupIds).toEqual(['g-1', 'g-2']);
    expect(items.find((u) => u.id === 'u2')?.displayName).toBe('Renamed');

    // The same staging again: nothing changed.
    const third = await commit(
      org,
      'run-3',
      [
        {
          groupId: 'g-2',
          users: [user('u3')],
        },
        {
          groupId: 'g-1',
          users: [user('u6'), user('u3'), user('u2', { displayName: 'Renamed' }), user('u1')],
        },
      ],
      enabledOnly,
    );
    expect(third).toEqual({
      baseVersion: 'run-2',
      users: 4,
      added: 0,
      changed: 0,
      removed: 0,
      previousUsers: 4,
    });

    // Including disabled users brings them back as additions.
    const fourth = await commit(org, 'run-4', [
      { groupId: 'g-1', users: [user('u1'), user('u5', { accountEnabled: false })] },
    ]);
    expect(fourth).toEqual({
      baseVersion: 'run-3',
      users: 2,
      added: 1,
      changed: 0,
      removed: 3,
      previousUsers: 4,
    });
  });

  it('the built version is invisible until promote', async () => {
    const org = 'org-invisible';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a')] }]);
    await store.resetStaging(org, 'run-2');
    await store.stagePage(org, 'run-2', 'g', [user('a'), user('b')]);
    const diff = await store.buildVersion(org, 'run-2', everyone);
    expect(diff.users).toBe(2);
    expect(await store.currentVersion(org)).toBe('run-1');
    expect((await readAll(org, 10)).items.map((u) => u.id)).toEqual(['a']);
    expect(await store.countUsers(org)).toBe(1);
    expect(await store.countUsers(org, 'run-2')).toBe(2);
  });
});

describe('SnapshotStore promote', () => {
  it('swaps the current pointer and records the meta', async () => {
    const org = 'org-promote';
    expect(await store.currentVersion(org)).toBeNull();
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a')] }]);
    expect(await store.currentVersion(org)).toBe('run-1');
    expect(await store.versionMeta(org, 'run-1')).toEqual({ runId: 'run-1', users: 1 });
    await commit(org, 'run-2', [{ groupId: 'g', users: [user('b')] }]);
    expect(await store.currentVersion(org)).toBe('run-2');
    expect(await store.versionMeta(org, 'run-2')).toEqual({ runId: 'run-2', users: 1 });
    expect((await readAll(org, 10)).items.map((u) => u.id)).toEqual(['b']);
  });

  it('readers on another connection see the old or the new snapshot, never a mix', async () => {
    const org = 'org-atomic';
    const reader = new SnapshotStore(otherConnection, prefix, cursors);
    const oldIds = Array.from({ length: 300 }, (_, i) => uid(i));
    const newIds = Array.from({ length: 300 }, (_, i) => uid(i + 150));
    await commit(org, 'run-1', [{ groupId: 'g', users: oldIds.map((id) => user(id)) }]);
    await store.resetStaging(org, 'run-2');
    await store.stagePage(
      org,
      'run-2',
      'g',
      newIds.map((id) => user(id, { displayName: 'new' })),
    );
    const diff = await store.buildVersion(org, 'run-2', everyone);

    const seen: string[] = [];
    let promoted = false;
    const reads = (async () => {
      // Keep reading until a read has started after the promote finished.
      for (let i = 0; i < 10_000; i++) {
        const startedAfterPromote = promoted;
        const page = await reader.readUsers(org, { limit: 1000 });
        const ids = page.items.map((u) => u.id);
        const names = new Set(page.items.map((u) => u.displayName === 'new'));
        expect(names.size).toBe(1);
        if (page.version === 'run-1') {
          expect(ids).toEqual(oldIds);
          expect(names.has(false)).toBe(true);
        } else {
          expect(page.version).toBe('run-2');
          expect(ids).toEqual(newIds);
          expect(names.has(true)).toBe(true);
        }
        seen.push(page.version as string);
        if (startedAfterPromote) return;
      }
    })();
    await store.promote(org, 'run-2', diff.baseVersion);
    promoted = true;
    await reads;
    expect(seen.at(-1)).toBe('run-2');
    // Once the new version was seen, the old one never came back.
    expect(seen.slice(seen.indexOf('run-2'))).not.toContain('run-1');
  });

  it('refuses a stale base version and keeps the winner', async () => {
    const org = 'org-stale';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a')] }]);
    for (const run of ['run-2', 'run-3']) {
      await store.resetStaging(org, run);
      await store.stagePage(org, run, 'g', [user(run)]);
    }
    const d2 = await store.buildVersion(org, 'run-2', everyone);
    const d3 = await store.buildVersion(org, 'run-3', everyone);
    expect(d2.baseVersion).toBe('run-1');
    expect(d3.baseVersion).toBe('run-1');
    await store.promote(org, 'run-2', d2.baseVersion);
    await expect(store.promote(org, 'run-3', d3.baseVersion, {})).rejects.toBeInstanceOf(
      SnapshotConflictError,
    );
    // A missing base when one exists is stale too.
    await expect(store.promote(org, 'run-3', null, {})).rejects.toBeInstanceOf(
      SnapshotConflictError,
    );
    expect(await store.currentVersion(org)).toBe('run-2');
    expect((await readAll(org, 10)).items.map((u) => u.id)).toEqual(['run-2']);
    // The winner's version is not set to expire by the loser's attempt.
    for (const key of await versionKeys(org, 'run-2')) expect(await r.redis.ttl(key)).toBe(-1);
    expect(await store.versionMeta(org, 'run-3')).toBeNull();
    // The loser rebuilds on the new base and then commits.
    const again = await store.buildVersion(org, 'run-3', everyone);
    expect(again).toMatchObject({ baseVersion: 'run-2', added: 1, removed: 1 });
    await store.promote(org, 'run-3', again.baseVersion);
    expect(await store.currentVersion(org)).toBe('run-3');
  });

  it('of two concurrent promotes on the same base, exactly one wins', async () => {
    const org = 'org-race';
    const runs = ['run-a', 'run-b', 'run-c', 'run-d'];
    const diffs: Awaited<ReturnType<SnapshotStore['buildVersion']>>[] = [];
    for (const run of runs) {
      await store.resetStaging(org, run);
      await store.stagePage(org, run, 'g', [user(run)]);
      diffs.push(await store.buildVersion(org, run, everyone));
    }
    const results = await Promise.allSettled(
      runs.map((run, i) => store.promote(org, run, diffs[i]?.baseVersion ?? null, {})),
    );
    const winners = runs.filter((_, i) => results[i]?.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(SnapshotConflictError);
    }
    expect(await store.currentVersion(org)).toBe(winners[0]);
  });

  it('retires the old version with a TTL and leaves no staging leftovers', async () => {
    const org = 'org-retire';
    const k = keys(org);
    const committed = (v: string) => [
      k.snapshotLayout(v),
      k.snapshotMeta(v),
      k.snapshotBucket(v, 0),
    ];
    const disabledToo = [user('a'), user('b'), user('c', { accountEnabled: false })];
    await commit(org, 'run-1', [{ groupId: 'g', users: disabledToo }], enabledOnly);
    expect(await versionKeys(org, 'run-1')).toEqual(committed('run-1').sort());
    for (const key of committed('run-1')) {
      expect(await r.redis.ttl(key), key).toBe(-1); // current: kept for good
    }
    await commit(org, 'run-2', [{ groupId: 'g', users: disabledToo }], enabledOnly);
    for (const key of committed('run-1')) {
      const ttl = await r.redis.ttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(15 * 60);
    }
    for (const key of committed('run-2')) {
      expect(await r.redis.ttl(key), key).toBe(-1);
    }
    // Every key of the org is accounted for: current pointer, two versions,
    // the runs' recorded changes (run-2 changed nothing), no leftovers.
    const orgKeysNow = (await r.keys()).filter((key) => key.includes(`{o:${org}}`)).sort();
    expect(orgKeysNow).toEqual(
      [
        k.snapshotCurrent,
        ...committed('run-1'),
        ...committed('run-2'),
        k.runChanges('run-1'),
        k.runChangeList('run-1', 'added'),
        k.runChanges('run-2'),
      ].sort(),
    );
  });
});

describe('SnapshotStore resetStaging and discard', () => {
  it('resetStaging starts a run from empty', async () => {
    const org = 'org-reset';
    await store.resetStaging(org, 'run-1');
    await store.stagePage(org, 'run-1', 'g-old', [
      user('a', { accountEnabled: false }),
      user('stale'),
    ]);
    await store.buildVersion(org, 'run-1', everyone);
    // The worker restarts the run: everything staged or built before is gone.
    await store.resetStaging(org, 'run-1');
    // Only the new, empty plan.
    expect(await versionKeys(org, 'run-1')).toEqual([keys(org).snapshotStagePlan('run-1')]);
    await store.stagePage(org, 'run-1', 'g-new', [user('a')]);
    const diff = await store.buildVersion(org, 'run-1', everyone);
    expect(diff.users).toBe(1);
    await store.promote(org, 'run-1', diff.baseVersion);
    expect((await readAll(org, 10)).items).toEqual([{ ...user('a'), groupIds: ['g-new'] }]);
  });

  it('resetStaging refuses when the run is already the committed version', async () => {
    const org = 'org-reset-live';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a')] }]);
    await expect(store.resetStaging(org, 'run-1')).rejects.toBeInstanceOf(SnapshotConflictError);
    expect(await store.currentVersion(org)).toBe('run-1');
    expect((await readAll(org, 10)).items.map((u) => u.id)).toEqual(['a']);
  });

  it('discard drops what an uncommitted run staged and built', async () => {
    const org = 'org-discard';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a')] }]);
    await store.resetStaging(org, 'run-2');
    await store.stagePage(org, 'run-2', 'g', [user('b'), user('c', { accountEnabled: false })]);
    await store.buildVersion(org, 'run-2', everyone);
    await store.discard(org, 'run-2');
    expect(await versionKeys(org, 'run-2')).toEqual([]);
    expect(await store.currentVersion(org)).toBe('run-1');
    expect((await readAll(org, 10)).items.map((u) => u.id)).toEqual(['a']);
  });

  it('discard never removes the committed version', async () => {
    const org = 'org-discard-live';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a'), user('b')] }]);
    const before = await versionContents(org, 'run-1');
    await store.discard(org, 'run-1');
    expect(await versionContents(org, 'run-1')).toEqual(before);
    expect(await store.currentVersion(org)).toBe('run-1');
    expect((await readAll(org, 1)).items.map((u) => u.id)).toEqual(['a', 'b']);
    expect(await store.versionMeta(org, 'run-1')).not.toBeNull();
    expect(await store.countUsers(org)).toBe(2);
  });
});

describe('SnapshotStore readUsers', () => {
  it('reads nothing (and no cursor) when nothing was committed', async () => {
    expect(await store.readUsers('org-nothing', { limit: 10 })).toEqual({
      items: [],
      nextCursor: null,
      version: null,
    });
    expect(await store.countUsers('org-nothing')).toBe(0);
  });

  it('pages every user exactly once, in ID order, respecting the limit', async () => {
    const org = 'org-paging';
    // Staged in a scrambled order across groups.
    const ids = Array.from({ length: 25 }, (_, i) => uid((i * 7) % 25));
    await commit(org, 'run-1', [
      { groupId: 'g-1', users: ids.slice(0, 15).map((id) => user(id)) },
      { groupId: 'g-2', users: ids.slice(10).map((id) => user(id)) },
    ]);
    const sorted = [...ids].sort();
    for (const limit of [1, 5, 7, 24, 25, 26, 100]) {
      const { items, versions } = await readAll(org, limit);
      expect(items.map((u) => u.id)).toEqual(sorted);
      expect(versions).toEqual(new Set(['run-1']));
    }
    const first = await store.readUsers(org, { limit: 7 });
    expect(first.items.map((u) => u.id)).toEqual(sorted.slice(0, 7));
    expect(first.nextCursor).not.toBeNull();
    // Exactly one page: no cursor to an empty page.
    expect((await store.readUsers(org, { limit: 25 })).nextCursor).toBeNull();
  });

  it('a reader holding a cursor across a commit finishes on the old version', async () => {
    const org = 'org-cursor-commit';
    const oldIds = Array.from({ length: 20 }, (_, i) => uid(i * 2)); // even
    const newIds = Array.from({ length: 20 }, (_, i) => uid(i * 2 + 1)); // odd
    await commit(org, 'run-1', [
      { groupId: 'g', users: oldIds.map((id) => user(id, { displayName: 'old' })) },
    ]);
    const page1 = await store.readUsers(org, { limit: 6 });
    expect(page1.version).toBe('run-1');
    const page2 = await store.readUsers(org, { limit: 6, cursor: page1.nextCursor as string });

    // A sync commits a version with different users and different names.
    await commit(org, 'run-2', [
      {
        groupId: 'g',
        users: [...newIds, ...oldIds.slice(0, 5)].map((id) => user(id, { displayName: 'new' })),
      },
    ]);

    const rest = await readAll(org, 6, page2.nextCursor as string);
    const all = [...page1.items, ...page2.items, ...rest.items];
    expect(rest.versions).toEqual(new Set(['run-1']));
    expect(all.map((u) => u.id)).toEqual(oldIds);
    expect(all.every((u) => u.displayName === 'old')).toBe(true);

    // A fresh read starts on the new version.
    const fresh = await readAll(org, 6);
    expect(fresh.versions).toEqual(new Set(['run-2']));
    expect(fresh.items.map((u) => u.id)).toEqual([...newIds, ...oldIds.slice(0, 5)].sort());
    expect(fresh.items.every((u) => u.displayName === 'new')).toBe(true);
  });

  it('a cursor whose version has expired says to start again', async () => {
    const org = 'org-cursor-expired';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a'), user('b')] }]);
    const page = await store.readUsers(org, { limit: 1 });
    await commit(org, 'run-2', [{ groupId: 'g', users: [user('a'), user('b')] }]);
    // Let the retired version really expire (as it does 15 minutes after the swap).
    const retired = await versionKeys(org, 'run-1');
    expect(retired.length).toBeGreaterThan(0);
    for (const key of retired) await r.redis.pexpire(key, 1);
    for (let i = 0; i < 1000 && (await r.redis.exists(...retired)) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await expect(
      store.readUsers(org, { limit: 1, cursor: page.nextCursor as string }),
    ).rejects.toThrow(SnapshotCursorError);
  });

  it('refuses cursors it did not issue', async () => {
    const org = 'org-bad-cursor';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a'), user('b')] }]);
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
    const bad = [
      'garbage!!',
      'x',
      b64('not json'),
      b64('null'),
      b64('42'),
      b64('"run-1"'),
      b64('{}'),
      b64(JSON.stringify({ v: 'run-1' })),
      b64(JSON.stringify({ v: 1, a: 'a' })),
      b64(JSON.stringify({ v: 'run-1', a: 3 })),
      b64(JSON.stringify({ v: 'no-such-version', a: 'a' })),
    ];
    for (const cursor of bad) {
      const error = await store.readUsers(org, { limit: 1, cursor }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, cursor).toBeInstanceOf(SnapshotCursorError);
      expect((error as SnapshotCursorError).code).toBe('cursor_invalid');
    }
  });

  it('refuses a cursor altered in any byte', async () => {
    const org = 'org-tampered-cursor';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a'), user('b'), user('c')] }]);
    const { nextCursor } = await store.readUsers(org, { limit: 1 });
    const raw = Buffer.from(nextCursor as string, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const copy = Buffer.from(raw);
      copy[i] = (copy[i] as number) ^ 0x01;
      await expect(
        store.readUsers(org, { limit: 1, cursor: copy.toString('base64url') }),
        `byte ${i}`,
      ).rejects.toBeInstanceOf(SnapshotCursorError);
    }
    // Nor a cursor cut short, or lengthened.
    for (const cursor of [raw.subarray(0, -1), Buffer.concat([raw, Buffer.from([0])])]) {
      await expect(
        store.readUsers(org, { limit: 1, cursor: cursor.toString('base64url') }),
      ).rejects.toBeInstanceOf(SnapshotCursorError);
    }
    // The untouched cursor still reads on.
    const next = await store.readUsers(org, { limit: 1, cursor: nextCursor as string });
    expect(next.items.map((u) => u.id)).toEqual(['b']);
  });

  it('never reads a version that is staged or stopped, even under a genuine signature', async () => {
    const org = 'org-staged-cursor';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a'), user('b')] }]);
    // A run staging its version (never committed) and one that stopped midway.
    await store.resetStaging(org, 'run-staging');
    await store.stagePage(org, 'run-staging', 'g', [user('secret-1'), user('secret-2')]);
    await store.resetStaging(org, 'run-stopped');
    await store.stagePage(org, 'run-stopped', 'g', [user('secret-3')]);
    await store.buildVersion(org, 'run-stopped', everyone);
    for (const version of ['run-staging', 'run-stopped']) {
      // What the old, unsigned format would have let anyone write.
      const unsigned = Buffer.from(JSON.stringify({ v: version, a: '' })).toString('base64url');
      await expect(store.readUsers(org, { limit: 10, cursor: unsigned })).rejects.toBeInstanceOf(
        SnapshotCursorError,
      );
      // Even a cursor signed with the service's own key (a leak, a bug) cannot name one.
      const signed = cursors.sign(org, JSON.stringify({ v: version, a: '' }));
      await expect(store.readUsers(org, { limit: 10, cursor: signed })).rejects.toBeInstanceOf(
        SnapshotCursorError,
      );
    }
  });

  it('keeps reading cursors issued before a key rotation while the previous key is configured', async () => {
    const org = 'org-cursor-rotation';
    await commit(org, 'run-1', [{ groupId: 'g', users: [user('a'), user('b')] }]);
    const { nextCursor } = await store.readUsers(org, { limit: 1 });
    const newKey = Buffer.alloc(32, 4).toString('base64');
    const rotated = new SnapshotStore(
      r.redis,
      prefix,
      new CursorSigner(
        new SecretKeyring({ current: newKey, previous: [KEY] }),
        DIRECTORY_CURSOR_PURPOSE,
      ),
    );
    const page = await rotated.readUsers(org, { limit: 1, cursor: nextCursor as string });
    expect(page.items.map((u) => u.id)).toEqual(['b']);
    const dropped = new SnapshotStore(
      r.redis,
      prefix,
      new CursorSigner(new SecretKeyring(newKey), DIRECTORY_CURSOR_PURPOSE),
    );
    await expect(
      dropped.readUsers(org, { limit: 1, cursor: nextCursor as string }),
    ).rejects.toBeInstanceOf(SnapshotCursorError);
  });

  it("another org's cursor does not read that org's snapshot", async () => {
    await commit('org-cursor-a', 'run-a', [{ groupId: 'g', users: [user('a'), user('b')] }]);
    await commit('org-cursor-b', 'run-b', [{ groupId: 'g', users: [user('x'), user('y')] }]);
    const page = await store.readUsers('org-cursor-a', { limit: 1 });
    await expect(
      store.readUsers('org-cursor-b', { limit: 1, cursor: page.nextCursor as string }),
    ).rejects.toBeInstanceOf(SnapshotCursorError);
  });
});

describe('SnapshotStore at scale', () => {
  it('stages a page larger than one bulk slice, and a user twice in one page (the last wins)', async () => {
    const org = 'org-big-page';
    const page = Array.from({ length: 2_500 }, (_, n) => user(uid(n)));
    // u000007 again at the end of the page: disabled and renamed.
    page.push(user(uid(7), { accountEnabled: false, displayName: 'Last seen' }));
    await store.resetStaging(org, 'run-1');
    await store.stagePage(org, 'run-1', 'g-2', page);
    await store.stagePage(org, 'run-1', 'g-1', page.slice(1_000, 2_200));
    const diff = await store.buildVersion(org, 'run-1', enabledOnly);
    expect(diff.users).toBe(2_499);
    await store.promote(org, 'run-1', diff.baseVersion);
    const { items } = await readAll(org, 500);
    expect(items.map((u) => u.id)).toEqual(
      Array.from({ length: 2_500 }, (_, n) => uid(n)).filter((id) => id !== uid(7)),
    );
    expect(items.find((u) => u.id === uid(999))?.groupIds).toEqual(['g-2']);
    expect(items.find((u) => u.id === uid(1_000))?.groupIds).toEqual(['g-1', 'g-2']);
    expect(items.find((u) => u.id === uid(2_199))?.groupIds).toEqual(['g-1', 'g-2']);
    expect(items.find((u) => u.id === uid(2_200))?.groupIds).toEqual(['g-2']);
  });

  it('builds and diffs ~20,000 staged users in chunks', async () => {
    const org = 'org-large';
    const N = 20_000;
    const pageSize = 999;
    const stageAll = async (
      runId: string,
      groups: { groupId: string; from: number; to: number }[],
      patch: (n: number) => Partial<StagedUser> = () => ({}),
    ) => {
      await store.resetStaging(org, runId);
      for (const g of groups) {
        for (let start = g.from; start < g.to; start += pageSize) {
          const page: StagedUser[] = [];
          for (let n = start; n < Math.min(start + pageSize, g.to); n++)
            page.push(user(uid(n), patch(n)));
          await store.stagePage(org, runId, g.groupId, page);
        }
      }
    };

    // Two groups overlapping on 5,000 users.
    await stageAll('run-1', [
      { groupId: 'g-1', from: 0, to: 12_500 },
      { groupId: 'g-2', from: 7_500, to: N },
    ]);
    const first = await store.buildVersion(org, 'run-1', everyone);
    expect(first).toEqual({
      baseVersion: null,
      users: N,
      added: N,
      changed: 0,
      removed: 0,
      previousUsers: 0,
    });
    await store.promote(org, 'run-1', null);
    expect(await store.countUsers(org)).toBe(N);

    const { items } = await readAll(org, 1000);
    expect(items).toHaveLength(N);
    expect(new Set(items.map((u) => u.id)).size).toBe(N);
    expect(items.map((u) => u.id)).toEqual(Array.from({ length: N }, (_, n) => uid(n)));
    expect(items[0]?.groupIds).toEqual(['g-1']);
    expect(items[10_000]?.groupIds).toEqual(['g-1', 'g-2']);
    expect(items[N - 1]?.groupIds).toEqual(['g-2']);

    // Second run: 500 users gone (0-499), 300 new (N..N+299), every 10th renamed,
    // and the 1,000 users 1,000-1,999 disabled (filtered out).
    await stageAll(
      'run-2',
      [
        { groupId: 'g-1', from: 500, to: 12_500 },
        { groupId: 'g-2', from: 7_500, to: N + 300 },
      ],
      (n) => ({
        ...(n % 10 === 0 ? { displayName: `Renamed ${n}` } : {}),
        ...(n >= 1000 && n < 2000 ? { accountEnabled: false } : {}),
      }),
    );
    const second = await store.buildVersion(org, 'run-2', enabledOnly);
    const renamedSurvivors = Array.from({ length: N }, (_, n) => n).filter(
      (n) => n >= 500 && !(n >= 1000 && n < 2000) && n % 10 === 0,
    ).length;
    expect(second).toEqual({
      baseVersion: 'run-1',
      users: N - 500 - 1000 + 300,
      added: 300,
      changed: renamedSurvivors,
      removed: 1500,
      previousUsers: N,
    });
    await store.promote(org, 'run-2', second.baseVersion);
    expect(await store.countUsers(org)).toBe(N - 1200);
  });
});
