import { type RunChange, runChangesPageSchema } from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { orgKeys } from '../src/keys.js';
import { RUN_CHANGES_LIMIT, RunChangesRepository } from '../src/run-changes-repository.js';
import {
  SnapshotConflictError,
  SnapshotStore,
  type SnapshotUser,
  type StagedUser,
} from '../src/snapshot-store.js';
import { dataPrefix } from '../src/stores.js';
import { testCursors } from './support/cursors.js';
import { LegacySnapshotStore } from './support/legacy-snapshot-store.js';

/*
 * The compact layout against a model: random directories committed one
 * after another, with the bucket count, the staging bucket count and the
 * group table changing between versions, must read back exactly and diff
 * exactly as the model says.
 */

let r: RedisFixture;
let prefix: string;
/** Tiny buckets, so a few hundred users span many and every alignment occurs. */
let store: SnapshotStore;
let changes: RunChangesRepository;

test.beforeAll(async ({ redis }) => {
  r = redis;
  prefix = dataPrefix(r.prefix);
  store = new SnapshotStore(r.redis, prefix, testCursors, {
    bucketUsers: 4,
    minStageBits: 2,
    batchUsers: 40,
  });
  changes = new RunChangesRepository(r.redis, prefix);
});

type ModelUser = SnapshotUser;
type Model = Map<string, ModelUser>;

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const guid = () => {
    const hex = Array.from({ length: 32 }, () => '0123456789abcdef'[int(16)]).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
  };
  return { next, int, guid };
}

const GROUPS = Array.from({ length: 6 }, (_, i) => `0000000${i}-0000-4000-8000-000000000000`);

function randomUser(rand: ReturnType<typeof prng>, id: string, groups: string[]): ModelUser {
  const name = ['Ana', 'Bo', 'Chen', 'Zoë Ångström', 'Δημήτρης', '李雷'][rand.int(6)];
  const upn = `${id.slice(0, 8)}@contoso.onmicrosoft.com`;
  const mailKind = rand.int(3);
  return {
    id,
    displayName: rand.int(10) === 0 ? null : `${name} ${rand.int(1000)}`,
    userPrincipalName: upn,
    mail: mailKind === 0 ? null : mailKind === 1 ? upn : `${id.slice(0, 6)}@contoso.com`,
    accountEnabled: rand.int(12) !== 0,
    groupIds: pickGroups(rand, groups),
  };
}

function pickGroups(rand: ReturnType<typeof prng>, groups: string[]): string[] {
  const picked = groups.filter(() => rand.int(3) === 0);
  return (picked.length > 0 ? picked : [groups[rand.int(groups.length)] as string]).sort();
}

/** The next version of a directory: some users gone, some new, some edited or moved. */
function evolve(
  rand: ReturnType<typeof prng>,
  model: Model,
  target: number,
  groups: string[],
): Model {
  const next: Model = new Map();
  for (const [id, u] of model) {
    const roll = rand.int(10);
    if (roll === 0) continue; // left
    if (roll === 1) next.set(id, { ...u, displayName: `${u.displayName ?? 'x'}!` });
    else if (roll === 2) next.set(id, { ...u, groupIds: pickGroups(rand, groups) });
    else if (roll === 3) next.set(id, { ...u, accountEnabled: !u.accountEnabled });
    else if (roll === 4) next.set(id, { ...u, mail: u.mail === null ? u.userPrincipalName : null });
    else {
      const kept = u.groupIds.filter((g) => groups.includes(g));
      next.set(id, { ...u, groupIds: kept.length > 0 ? kept : pickGroups(rand, groups) });
    }
  }
  while (next.size < target) {
    const id = rand.guid();
    next.set(id, randomUser(rand, id, groups));
  }
  return next;
}

function visible(model: Model, includeDisabled: boolean): Model {
  return new Map([...model].filter(([, u]) => includeDisabled || u.accountEnabled !== false));
}

function fieldsOf(u: ModelUser) {
  return JSON.stringify([u.displayName, u.mail, u.userPrincipalName, u.accountEnabled]);
}

function modelDiff(before: Model, after: Model) {
  const added = [...after.keys()].filter((id) => !before.has(id)).sort();
  const removed = [...before.keys()].filter((id) => !after.has(id)).sort();
  const changed = [...after.keys()]
    .filter((id) => {
      const a = before.get(id);
      const b = after.get(id) as ModelUser;
      return a && (fieldsOf(a) !== fieldsOf(b) || a.groupIds.join() !== b.groupIds.join());
    })
    .sort();
  return { added, removed, changed };
}

/** Stages the model the way a sync does: group by group, in pages, in no particular order. */
async function stage(
  s: SnapshotStore | LegacySnapshotStore,
  org: string,
  run: string,
  model: Model,
  rand: ReturnType<typeof prng>,
  groupIds?: string[],
) {
  if (s instanceof SnapshotStore) await s.resetStaging(org, run, groupIds ? { groupIds } : {});
  else await s.resetStaging(org, run);
  const groups = [...new Set([...model.values()].flatMap((u) => u.groupIds))];
  groups.sort(() => rand.next() - 0.5);
  for (const g of groups) {
    const members = [...model.values()].filter((u) => u.groupIds.includes(g));
    members.sort(() => rand.next() - 0.5);
    for (let i = 0; i < members.length; i += 37) {
      const page: StagedUser[] = members.slice(i, i + 37).map(({ groupIds: _, ...u }) => u);
      await s.stagePage(org, run, g, page);
    }
  }
}

async function readAll(s: SnapshotStore, org: string, limit: number): Promise<SnapshotUser[]> {
  const items: SnapshotUser[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = await s.readUsers(org, { limit, cursor });
    items.push(...page.items);
    if (!page.nextCursor) return items;
    expect(page.items).toHaveLength(limit);
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

async function allChanges(org: string, run: string, change?: RunChange['change']) {
  const items: RunChange[] = [];
  let cursor: string | undefined;
  let first: Awaited<ReturnType<RunChangesRepository['list']>> | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = runChangesPageSchema.parse(
      await changes.list(org, run, { change, cursor, limit: 50 }),
    );
    first ??= page;
    items.push(...page.items);
    if (!page.nextCursor) return { items, page: first };
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

function sortedUsers(model: Model): ModelUser[] {
  return [...model.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

describe('the compact layout against a model', () => {
  it('reads back and diffs exactly while bucket counts and group tables change', async () => {
    const org = 'org-model';
    const rand = prng(20_240_601);
    // Sizes that move the bucket count up and down (staging buckets follow
    // the previous size), and group selections that add and drop groups.
    const steps: { size: number; groups: string[]; includeDisabled: boolean }[] = [
      { size: 30, groups: GROUPS.slice(0, 3), includeDisabled: false },
      { size: 300, groups: GROUPS.slice(0, 3), includeDisabled: false },
      { size: 320, groups: GROUPS.slice(1, 5), includeDisabled: true },
      { size: 5, groups: GROUPS.slice(1, 5), includeDisabled: true },
      { size: 150, groups: GROUPS.slice(2, 6), includeDisabled: false },
      { size: 150, groups: GROUPS.slice(2, 6), includeDisabled: false },
    ];
    let staged: Model = new Map();
    let committed: Model = new Map();
    for (const [n, step] of steps.entries()) {
      const run = `run-${n}`;
      staged = evolve(rand, staged, step.size, step.groups);
      // Shrinking: drop users at random down to the size.
      const leaving = [...staged.keys()].sort(() => rand.next() - 0.5);
      while (staged.size > step.size) staged.delete(leaving.pop() as string);
      // Half the runs name their groups up front (the worker does), half do not.
      await stage(store, org, run, staged, rand, n % 2 === 0 ? step.groups : undefined);
      const next = visible(staged, step.includeDisabled);
      const diff = await store.buildVersion(org, run, {
        includeDisabledUsers: step.includeDisabled,
      });
      const expected = modelDiff(committed, next);
      expect(diff, run).toEqual({
        baseVersion: n === 0 ? null : `run-${n - 1}`,
        users: next.size,
        added: expected.added.length,
        removed: expected.removed.length,
        changed: expected.changed.length,
        previousUsers: committed.size,
      });
      await store.promote(org, run, diff.baseVersion);
      committed = next;
      for (const limit of [1, 7, 200]) {
        expect(await readAll(store, org, limit), `${run} limit ${limit}`).toEqual(
          sortedUsers(committed),
        );
      }
      const recorded = await allChanges(org, run);
      expect(recorded.page.totals).toEqual({
        added: expected.added.length,
        removed: expected.removed.length,
        changed: expected.changed.length,
      });
      expect(recorded.page.applied).toBe(true);
      expect(recorded.page.truncated).toBe(false);
      const ids = (kind: RunChange['change']) =>
        recorded.items.filter((c) => c.change === kind).map((c) => c.userId);
      expect(ids('added')).toEqual(expected.added);
      expect(ids('removed')).toEqual(expected.removed);
      expect(ids('changed')).toEqual(expected.changed);
      // The order: added, removed, changed.
      expect(recorded.items.map((c) => c.change)).toEqual([
        ...expected.added.map(() => 'added'),
        ...expected.removed.map(() => 'removed'),
        ...expected.changed.map(() => 'changed'),
      ]);
    }
  });

  it('records what changed about a user, and who left with their last fields', async () => {
    const org = 'org-change-fields';
    const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const base = (n: number): StagedUser => ({
      id: id(n),
      displayName: `User ${n}`,
      mail: `u${n}@contoso.com`,
      userPrincipalName: `u${n}@contoso.onmicrosoft.com`,
      accountEnabled: true,
    });
    const [g1, g2] = GROUPS as [string, string];
    await store.resetStaging(org, 'run-1', { groupIds: [g1, g2] });
    await store.stagePage(org, 'run-1', g1, [base(1), base(2), base(3), base(4)]);
    await store.stagePage(org, 'run-1', g2, [base(4)]);
    let diff = await store.buildVersion(org, 'run-1', { includeDisabledUsers: true });
    await store.promote(org, 'run-1', diff.baseVersion, {});

    await store.resetStaging(org, 'run-2', { groupIds: [g1, g2] });
    await store.stagePage(org, 'run-2', g1, [
      { ...base(1), displayName: 'Renamed', mail: null },
      { ...base(2), accountEnabled: false },
      base(4),
      base(5),
    ]);
    diff = await store.buildVersion(org, 'run-2', { includeDisabledUsers: true });
    expect(diff).toMatchObject({ added: 1, removed: 1, changed: 3 });
    const { items } = await allChanges(org, 'run-2');
    expect(items).toEqual([
      { userId: id(5), change: 'added', ...fields(base(5)), changedFields: [], previous: null },
      { userId: id(3), change: 'removed', ...fields(base(3)), changedFields: [], previous: null },
      {
        userId: id(1),
        change: 'changed',
        ...fields({ ...base(1), displayName: 'Renamed', mail: null }),
        changedFields: ['displayName', 'mail'],
        previous: fields(base(1)),
      },
      {
        userId: id(2),
        change: 'changed',
        ...fields({ ...base(2), accountEnabled: false }),
        changedFields: ['accountEnabled'],
        previous: fields(base(2)),
      },
      {
        userId: id(4),
        change: 'changed',
        ...fields(base(4)),
        changedFields: ['groupIds'],
        previous: fields(base(4)),
      },
    ]);
    // Built, not promoted: what the run would do.
    expect((await allChanges(org, 'run-2')).page.applied).toBe(false);
    expect((await allChanges(org, 'run-2', 'removed')).items.map((c) => c.userId)).toEqual([id(3)]);
    // A run stopped at commit drops its version but keeps its changes.
    await store.discard(org, 'run-2');
    const kept = await allChanges(org, 'run-2');
    expect(kept.items).toEqual(items);
    expect(kept.page).toMatchObject({ recorded: true, applied: false });
  });
});

function fields(u: StagedUser) {
  return {
    displayName: u.displayName,
    mail: u.mail,
    userPrincipalName: u.userPrincipalName,
    accountEnabled: u.accountEnabled,
  };
}

describe('group tables of more than 127 groups', () => {
  it('keep indexes past 127 intact through staging, remapping and translation', async () => {
    const org = 'org-many-groups';
    const groups = Array.from({ length: 200 }, (_, i) => `group-${String(i).padStart(3, '0')}`);
    const user = (n: number): StagedUser => ({
      id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      displayName: `User ${n}`,
      mail: null,
      userPrincipalName: `u${n}@x.test`,
      accountEnabled: true,
    });
    // Every group has members: user n is in groups 5n to 5n+4, and one more.
    const memberships = (n: number) => [
      ...new Set([0, 1, 2, 3, 4, 137].map((d) => groups[(5 * n + d) % 200] as string)),
    ];
    const stageAll = async (run: string, selected: string[]) => {
      // No group list up front, and groups staged last first: the staged
      // indexes are the reverse of the table's, so the build remaps them.
      await store.resetStaging(org, run);
      for (const g of [...selected].reverse()) {
        const members = Array.from({ length: 40 }, (_, n) => n).filter((n) =>
          memberships(n).includes(g),
        );
        if (members.length > 0) await store.stagePage(org, run, g, members.map(user));
      }
    };
    await stageAll('run-1', groups);
    let diff = await store.buildVersion(org, 'run-1', { includeDisabledUsers: true });
    await store.promote(org, 'run-1', diff.baseVersion);
    const read = await readAll(store, org, 7);
    expect(read.map((u) => u.groupIds)).toEqual(
      Array.from({ length: 40 }, (_, n) => memberships(n).sort()),
    );
    // Dropping the first ten groups shifts every index of the next table.
    const dropped = new Set(groups.slice(0, 10));
    await stageAll('run-2', groups.slice(10));
    diff = await store.buildVersion(org, 'run-2', { includeDisabledUsers: true });
    const losing = Array.from({ length: 40 }, (_, n) => n).filter((n) =>
      memberships(n).some((g) => dropped.has(g)),
    );
    const wholly = losing.filter((n) => memberships(n).every((g) => dropped.has(g)));
    expect(diff).toMatchObject({
      users: 40 - wholly.length,
      added: 0,
      removed: wholly.length,
      changed: losing.length - wholly.length,
    });
    await store.promote(org, 'run-2', diff.baseVersion);
    expect((await readAll(store, org, 9)).map((u) => u.groupIds)).toEqual(
      Array.from({ length: 40 }, (_, n) =>
        memberships(n)
          .filter((g) => !dropped.has(g))
          .sort(),
      ).filter((list) => list.length > 0),
    );
  });
});

describe('recorded changes', () => {
  it('keeps the first RUN_CHANGES_LIMIT of a kind, counts them all, and says so', async () => {
    const org = 'org-many-changes';
    const rand = prng(7);
    const model: Model = new Map();
    while (model.size < RUN_CHANGES_LIMIT + 50) {
      const id = rand.guid();
      model.set(id, { ...randomUser(rand, id, [GROUPS[0] as string]), accountEnabled: true });
    }
    await stage(store, org, 'run-1', model, rand);
    const diff = await store.buildVersion(org, 'run-1', { includeDisabledUsers: true });
    expect(diff.added).toBe(RUN_CHANGES_LIMIT + 50);
    const { items, page } = await allChanges(org, 'run-1');
    expect(page).toMatchObject({
      recorded: true,
      truncated: true,
      limitPerKind: RUN_CHANGES_LIMIT,
      totals: { added: RUN_CHANGES_LIMIT + 50, removed: 0, changed: 0 },
    });
    expect(items.map((c) => c.userId)).toEqual(
      [...model.keys()].sort().slice(0, RUN_CHANGES_LIMIT),
    );
    // Asking only for a kind that is complete: not truncated.
    expect((await changes.list(org, 'run-1', { change: 'removed', limit: 10 })).truncated).toBe(
      false,
    );
  });

  it('re-records on a rebuild against a newer base, and marks them applied on promote', async () => {
    const org = 'org-rebuild-changes';
    const u = (id: string): StagedUser => ({
      id,
      displayName: id,
      mail: null,
      userPrincipalName: `${id}@x.test`,
      accountEnabled: true,
    });
    const g = GROUPS[0] as string;
    await store.resetStaging(org, 'run-1');
    await store.stagePage(org, 'run-1', g, [u('a')]);
    const d1 = await store.buildVersion(org, 'run-1', { includeDisabledUsers: true });
    await store.resetStaging(org, 'run-2');
    await store.stagePage(org, 'run-2', g, [u('a'), u('b')]);
    const d2 = await store.buildVersion(org, 'run-2', { includeDisabledUsers: true });
    expect((await allChanges(org, 'run-2')).items.map((c) => c.userId)).toEqual(['a', 'b']);
    await store.promote(org, 'run-1', d1.baseVersion, {});
    await expect(store.promote(org, 'run-2', d2.baseVersion, {})).rejects.toBeInstanceOf(
      SnapshotConflictError,
    );
    const again = await store.buildVersion(org, 'run-2', { includeDisabledUsers: true });
    expect(again).toMatchObject({ baseVersion: 'run-1', added: 1, removed: 0, changed: 0 });
    expect((await allChanges(org, 'run-2')).items.map((c) => [c.change, c.userId])).toEqual([
      ['added', 'b'],
    ]);
    await store.promote(org, 'run-2', again.baseVersion, {});
    expect((await allChanges(org, 'run-2')).page.applied).toBe(true);
    // A restarted run starts its record from nothing.
    await store.resetStaging(org, 'run-3');
    expect(await changes.list(org, 'run-3', { limit: 10 })).toMatchObject({
      recorded: false,
      items: [],
    });
  });
});

describe('user IDs that are not lower-case GUIDs', () => {
  it('are stored as given, ordered bytewise, and diffed like any other', async () => {
    const org = 'org-mixed-ids';
    const ids = [
      '00000000-0000-4000-8000-000000000001',
      'FFFFFFFF-0000-4000-8000-000000000002', // upper case: kept as text
      'plain-id',
      'é-unicode',
      '7',
      'ffffffff-ffff-4fff-bfff-ffffffffffff',
    ];
    const user = (id: string, name = 'n'): StagedUser => ({
      id,
      displayName: name,
      mail: null,
      userPrincipalName: `${encodeURIComponent(id)}@x.test`,
      accountEnabled: true,
    });
    const g = GROUPS[0] as string;
    await store.resetStaging(org, 'run-1');
    await store.stagePage(
      org,
      'run-1',
      g,
      ids.map((id) => user(id)),
    );
    let diff = await store.buildVersion(org, 'run-1', { includeDisabledUsers: true });
    await store.promote(org, 'run-1', diff.baseVersion, {});
    const read = await readAll(store, org, 2);
    expect(read.map((u) => u.id).sort()).toEqual([...ids].sort());
    // One stable order, the same on every read.
    expect((await readAll(store, org, 5)).map((u) => u.id)).toEqual(read.map((u) => u.id));

    await store.resetStaging(org, 'run-2');
    await store.stagePage(org, 'run-2', g, [
      user(ids[0] as string),
      user(ids[1] as string, 'renamed'),
      user(ids[3] as string),
      user('new'),
    ]);
    diff = await store.buildVersion(org, 'run-2', { includeDisabledUsers: true });
    expect(diff).toMatchObject({ added: 1, removed: 3, changed: 1, users: 4 });
  });
});

describe('upgrading from the layout before the compact one', () => {
  const org = 'org-upgrade';
  const rand = prng(99);
  const groups = GROUPS.slice(0, 3);
  let legacyModel: Model;

  it('reads a version written by the old code, and its old cursors', async () => {
    const legacy = new LegacySnapshotStore(r.redis, prefix, testCursors);
    legacyModel = new Map();
    while (legacyModel.size < 700) {
      const id = rand.guid();
      legacyModel.set(id, { ...randomUser(rand, id, groups), accountEnabled: true });
    }
    await stage(legacy, org, 'old-run', legacyModel, rand);
    const built = await legacy.buildVersion(org, 'old-run', { includeDisabledUsers: true });
    await legacy.promote(org, 'old-run', built.baseVersion);
    // A reader that started on the old code holds its cursor across the upgrade.
    const oldPage = await legacy.readUsers(org, { limit: 100 });

    const upgraded = new SnapshotStore(r.redis, prefix, testCursors);
    expect(await upgraded.countUsers(org)).toBe(700);
    expect(await readAll(upgraded, org, 64)).toEqual(sortedUsers(legacyModel));
    const rest = await upgraded.readUsers(org, {
      limit: 1000,
      cursor: oldPage.nextCursor as string,
    });
    expect([...oldPage.items, ...rest.items]).toEqual(sortedUsers(legacyModel));
    expect(rest.nextCursor).toBeNull();
  });

  it("diffs the org's next sync against it, then replaces it", async () => {
    const upgraded = new SnapshotStore(r.redis, prefix, testCursors, { bucketUsers: 16 });
    const k = orgKeys(prefix, org);
    const reader = await upgraded.readUsers(org, { limit: 10 });
    // The new selection drops a group and adds one.
    const next = evolve(rand, legacyModel, 650, GROUPS.slice(1, 4));
    await stage(upgraded, org, 'new-run', next, rand, GROUPS.slice(1, 4));
    const diff = await upgraded.buildVersion(org, 'new-run', { includeDisabledUsers: false });
    const visibleNext = visible(next, false);
    const expected = modelDiff(legacyModel, visibleNext);
    expect(diff).toEqual({
      baseVersion: 'old-run',
      users: visibleNext.size,
      added: expected.added.length,
      removed: expected.removed.length,
      changed: expected.changed.length,
      previousUsers: 700,
    });
    const recorded = await allChanges(org, 'new-run', 'changed');
    expect(recorded.items.map((c) => c.userId)).toEqual(expected.changed);
    // The conversion of the old version for the diff leaves nothing behind.
    expect((await r.keys()).filter((key) => key.includes(':snap:old-run:x:'))).toEqual([]);

    await upgraded.promote(org, 'new-run', diff.baseVersion);
    expect(await readAll(upgraded, org, 100)).toEqual(sortedUsers(visibleNext));
    // The old version retires like any replaced one: readers finish on it...
    const rest = await upgraded.readUsers(org, {
      limit: 1000,
      cursor: reader.nextCursor as string,
    });
    expect([...reader.items, ...rest.items]).toEqual(sortedUsers(legacyModel));
    // ...until it expires.
    for (const key of [k.snapshotIds('old-run'), k.snapshotUsers('old-run')]) {
      const ttl = await r.redis.ttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(15 * 60);
    }
  });

  it('converts a legacy version whose IDs sort differently as text and as bytes', async () => {
    const mixedOrg = 'org-upgrade-mixed';
    const legacy = new LegacySnapshotStore(r.redis, prefix, testCursors);
    // As text 'a1' sorts after the GUID 'a0…'; as bytes the GUID (0xa0…) sorts after 'a1'.
    const user = (id: string): StagedUser => ({
      id,
      displayName: id,
      mail: null,
      userPrincipalName: `${id}@x.test`,
      accountEnabled: true,
    });
    const ids = ['a0000000-0000-4000-8000-000000000000', 'a1', 'a0', 'b', '0'];
    await legacy.resetStaging(mixedOrg, 'old');
    await legacy.stagePage(mixedOrg, 'old', 'g', ids.map(user));
    const built = await legacy.buildVersion(mixedOrg, 'old', { includeDisabledUsers: true });
    await legacy.promote(mixedOrg, 'old', built.baseVersion, {});
    await store.resetStaging(mixedOrg, 'new');
    await store.stagePage(mixedOrg, 'new', 'g', [...ids, 'c'].map(user));
    const diff = await store.buildVersion(mixedOrg, 'new', { includeDisabledUsers: true });
    expect(diff).toMatchObject({ added: 1, removed: 0, changed: 0, users: 6 });
  });
});

describe('staging that cannot be trusted', () => {
  const u = (id: string): StagedUser => ({
    id,
    displayName: id,
    mail: null,
    userPrincipalName: `${id}@x.test`,
    accountEnabled: true,
  });

  it('refuses a page for a plan restarted elsewhere', async () => {
    const org = 'org-restarted-plan';
    const stalled = new SnapshotStore(r.connect(), prefix, testCursors);
    await stalled.resetStaging(org, 'run-1');
    await stalled.stagePage(org, 'run-1', 'g', [u('a')]);
    // Another worker restarts the run with another staging size.
    await store.resetStaging(org, 'run-1', { expectedUsers: 10_000 });
    await expect(stalled.stagePage(org, 'run-1', 'g', [u('b')])).rejects.toBeInstanceOf(
      SnapshotConflictError,
    );
    // Only what the current plan's worker staged is built.
    await store.stagePage(org, 'run-1', 'g', [u('c')]);
    const diff = await store.buildVersion(org, 'run-1', { includeDisabledUsers: true });
    expect(diff.users).toBe(1);
  });

  it('refuses to build from staging that expired or a build that died half-way', async () => {
    const org = 'org-broken-staging';
    const k = orgKeys(prefix, org);
    await store.resetStaging(org, 'run-1');
    await store.stagePage(org, 'run-1', 'g', [u('a'), u('b')]);
    await r.redis.hset(k.snapshotStagePlan('run-1'), 'building', 1);
    await expect(
      store.buildVersion(org, 'run-1', { includeDisabledUsers: true }),
    ).rejects.toBeInstanceOf(SnapshotConflictError);
    await r.redis.del(k.snapshotStagePlan('run-1'));
    await expect(
      store.buildVersion(org, 'run-1', { includeDisabledUsers: true }),
    ).rejects.toBeInstanceOf(SnapshotConflictError);
    await expect(store.stagePage(org, 'run-1', 'g', [u('c')])).rejects.toBeInstanceOf(
      SnapshotConflictError,
    );
    await expect(store.promote(org, 'run-1', null, {})).rejects.toBeInstanceOf(
      SnapshotConflictError,
    );
    expect(await store.currentVersion(org)).toBeNull();
  });
});
