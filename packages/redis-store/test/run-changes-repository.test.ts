import { encodeCursor, type RunChange } from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import {
  RUN_CHANGES_LIMIT,
  RunChangesCursorError,
  RunChangesRepository,
} from '../src/run-changes-repository.js';
import { SnapshotStore, type StagedUser } from '../src/snapshot-store.js';
import { dataPrefix } from '../src/stores.js';
import { testCursors } from './support/cursors.js';

let r: RedisFixture;
let store: SnapshotStore;
let repo: RunChangesRepository;
const org = 'org-changes';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const user = (n: number, name = `User ${n}`): StagedUser => ({
  id: id(n),
  displayName: name,
  mail: null,
  userPrincipalName: `u${n}@contoso.onmicrosoft.com`,
  accountEnabled: true,
});
const g = '00000000-0000-4000-8000-00000000000a';

test.beforeAll(async ({ redis }) => {
  r = redis;
  const prefix = dataPrefix(r.prefix);
  store = new SnapshotStore(r.redis, prefix, testCursors);
  repo = new RunChangesRepository(r.redis, prefix);
  // run-1 adds users 0-9; run-2 removes 0-2, renames 3-4, adds 10-15.
  await store.resetStaging(org, 'run-1', { groupIds: [g] });
  await store.stagePage(
    org,
    'run-1',
    g,
    Array.from({ length: 10 }, (_, n) => user(n)),
  );
  const d1 = await store.buildVersion(org, 'run-1', { includeDisabledUsers: false });
  await store.promote(org, 'run-1', d1.baseVersion, {});
  await store.resetStaging(org, 'run-2', { groupIds: [g] });
  await store.stagePage(org, 'run-2', g, [
    ...Array.from({ length: 7 }, (_, n) => user(n + 3, n < 2 ? 'Renamed' : undefined)),
    ...Array.from({ length: 6 }, (_, n) => user(n + 10)),
  ]);
  const d2 = await store.buildVersion(org, 'run-2', { includeDisabledUsers: false });
  await store.promote(org, 'run-2', d2.baseVersion, {});
});

async function pageThrough(change: RunChange['change'] | undefined, limit: number) {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await repo.list(org, 'run-2', { change, cursor, limit });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.items.map((c) => `${c.change}:${c.userId.slice(-2)}`));
    if (!page.nextCursor) return seen;
    expect(page.items).toHaveLength(limit);
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

describe('RunChangesRepository', () => {
  it('pages added, removed, then changed users, across kinds, at any page size', async () => {
    const all = [
      ...['10', '11', '12', '13', '14', '15'].map((n) => `added:${n}`),
      ...['00', '01', '02'].map((n) => `removed:${n}`),
      ...['03', '04'].map((n) => `changed:${n}`),
    ];
    for (const limit of [1, 2, 5, 6, 11, 12, 200]) {
      expect(await pageThrough(undefined, limit), `limit ${limit}`).toEqual(all);
    }
    const first = await repo.list(org, 'run-2', { limit: 3 });
    expect(first).toMatchObject({
      recorded: true,
      applied: true,
      totals: { added: 6, removed: 3, changed: 2 },
      limitPerKind: RUN_CHANGES_LIMIT,
      truncated: false,
    });
  });

  it('filters by kind', async () => {
    expect(await pageThrough('removed', 2)).toEqual(['removed:00', 'removed:01', 'removed:02']);
    expect(await pageThrough('changed', 1)).toEqual(['changed:03', 'changed:04']);
    const renamed = await repo.list(org, 'run-2', { change: 'changed', limit: 1 });
    expect(renamed.items[0]).toMatchObject({
      displayName: 'Renamed',
      changedFields: ['displayName'],
      previous: { displayName: 'User 3' },
    });
  });

  it('answers an unrecorded run with nothing, and refuses cursors it did not make', async () => {
    expect(await repo.list(org, 'run-none', { limit: 5 })).toEqual({
      items: [],
      nextCursor: null,
      recorded: false,
      applied: false,
      totals: { added: 0, removed: 0, changed: 0 },
      limitPerKind: RUN_CHANGES_LIMIT,
      truncated: false,
    });
    const removedCursor = (await repo.list(org, 'run-2', { change: 'removed', limit: 1 }))
      .nextCursor as string;
    for (const cursor of [
      'garbage!',
      encodeCursor('nope'),
      encodeCursor('added:'),
      encodeCursor('moved:1'),
      encodeCursor('added:-1'),
      encodeCursor('added:1234567890'),
    ]) {
      await expect(repo.list(org, 'run-2', { cursor, limit: 5 }), cursor).rejects.toBeInstanceOf(
        RunChangesCursorError,
      );
    }
    // A cursor of one kind's list is not one of another's.
    await expect(
      repo.list(org, 'run-2', { change: 'added', cursor: removedCursor, limit: 5 }),
    ).rejects.toBeInstanceOf(RunChangesCursorError);
  });
});
