import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { orgKeys } from '../src/keys.js';
import { SelectedGroupRepository } from '../src/selected-group-repository.js';
import { dataPrefix } from '../src/stores.js';

let r: RedisFixture;
let prefix: string;
let repo: SelectedGroupRepository;

test.beforeAll(async ({ redis }) => {
  r = redis;
  prefix = dataPrefix(r.prefix);
  repo = new SelectedGroupRepository(r.redis, prefix);
});

const SALES = '0a0a0a0a-0000-4000-8000-00000000000a';
const ENG = '0b0b0b0b-0000-4000-8000-00000000000b';
const NEW = '0c0c0c0c-0000-4000-8000-00000000000c';
const monday = new Date('2026-03-02T08:00:00.000Z');
const tuesday = new Date('2026-03-03T08:00:00.000Z');

describe('SelectedGroupRepository', () => {
  it('lists groups no preflight has checked without name or time, in the given order', async () => {
    expect(await repo.list('org-sg-none', [ENG, SALES])).toEqual([
      { id: ENG, displayName: null, missing: false, lastSeenAt: null },
      { id: SALES, displayName: null, missing: false, lastSeenAt: null },
    ]);
    expect(await repo.list('org-sg-none', [])).toEqual([]);
  });

  it('keeps the names a preflight saw, with when it saw them', async () => {
    await repo.recordCheck('org-sg-1', monday, [
      { id: SALES, displayName: 'Sales (EMEA)', missing: false },
      { id: ENG, displayName: 'Engineering', missing: false },
    ]);
    expect(await repo.list('org-sg-1', [SALES, ENG, NEW])).toEqual([
      { id: SALES, displayName: 'Sales (EMEA)', missing: false, lastSeenAt: monday.toISOString() },
      { id: ENG, displayName: 'Engineering', missing: false, lastSeenAt: monday.toISOString() },
      { id: NEW, displayName: null, missing: false, lastSeenAt: null },
    ]);
  });

  it('marks a group gone missing, keeping the last name and time seen; a rename shows', async () => {
    await repo.recordCheck('org-sg-2', monday, [
      { id: SALES, displayName: 'Sales', missing: false },
      { id: ENG, displayName: 'Engineering', missing: false },
    ]);
    await repo.recordCheck('org-sg-2', tuesday, [
      { id: SALES, displayName: 'Sales (EMEA)', missing: false },
      { id: ENG, displayName: null, missing: true },
      { id: NEW, displayName: null, missing: true },
    ]);
    expect(await repo.list('org-sg-2', [SALES, ENG, NEW])).toEqual([
      { id: SALES, displayName: 'Sales (EMEA)', missing: false, lastSeenAt: tuesday.toISOString() },
      { id: ENG, displayName: 'Engineering', missing: true, lastSeenAt: monday.toISOString() },
      // Never seen: missing, and no name to keep.
      { id: NEW, displayName: null, missing: true, lastSeenAt: null },
    ]);
    // Found again: no longer missing.
    await repo.recordCheck('org-sg-2', tuesday, [
      { id: ENG, displayName: 'Engineering', missing: false },
    ]);
    expect((await repo.list('org-sg-2', [ENG]))[0]).toEqual({
      id: ENG,
      displayName: 'Engineering',
      missing: false,
      lastSeenAt: tuesday.toISOString(),
    });
  });

  it('drops groups no longer selected, matches IDs case-insensitively, under the org tag', async () => {
    await repo.recordCheck('org-sg-3', monday, [
      { id: SALES.toUpperCase(), displayName: 'Sales', missing: false },
      { id: ENG, displayName: 'Engineering', missing: false },
    ]);
    await repo.recordCheck('org-sg-3', tuesday, [
      { id: SALES, displayName: 'Sales', missing: false },
    ]);
    const key = orgKeys(prefix, 'org-sg-3').selectedGroups;
    expect(key).toContain('{o:org-sg-3}');
    expect(await r.redis.hkeys(key)).toEqual([SALES]);
    expect((await repo.list('org-sg-3', [SALES.toUpperCase()]))[0]).toMatchObject({
      id: SALES.toUpperCase(),
      displayName: 'Sales',
    });
  });

  it('reads an unreadable record as unchecked rather than failing', async () => {
    const key = orgKeys(prefix, 'org-sg-4').selectedGroups;
    await r.redis.hset(key, SALES, '{not json', ENG, JSON.stringify({ displayName: 5 }));
    expect(await repo.list('org-sg-4', [SALES, ENG])).toEqual([
      { id: SALES, displayName: null, missing: false, lastSeenAt: null },
      { id: ENG, displayName: null, missing: false, lastSeenAt: null },
    ]);
  });

  it('rejects a malformed sighting before writing anything', async () => {
    await expect(
      repo.recordCheck('org-sg-5', monday, [{ id: '', displayName: 'x', missing: false }]),
    ).rejects.toThrow();
    expect(await r.redis.exists(orgKeys(prefix, 'org-sg-5').selectedGroups)).toBe(0);
  });
});
