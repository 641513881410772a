import { directoryUserSchema, encodeCursor } from '@pinnacle/domain';
import type { StagedUser, Stores } from '@pinnacle/redis-store';
import type { RedisFixture } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { test } from './fixtures.js';
import { GROUP_A, GROUP_B, signToken, type TestApi } from './helpers.js';

let r: RedisFixture;
let api: TestApi;
let token: string;
let stores: Stores;

const pageSchema = z.object({
  items: z.array(directoryUserSchema),
  nextCursor: z.string().nullable(),
});
const orgId = 'org-dir';

function user(n: number): StagedUser {
  const suffix = String(n).padStart(12, '0');
  return {
    id: `00000000-0000-4000-8000-${suffix}`,
    displayName: `User ${n}`,
    mail: n % 3 === 0 ? null : `user${n}@contoso.com`,
    userPrincipalName: `user${n}@contoso.onmicrosoft.com`,
    accountEnabled: true,
  };
}

/** Commits a snapshot the way the worker does: stage pages, build, promote. */
async function commit(runId: string, groups: Record<string, StagedUser[]>): Promise<void> {
  await stores.snapshots.resetStaging(orgId, runId);
  for (const [groupId, users] of Object.entries(groups)) {
    await stores.snapshots.stagePage(orgId, runId, groupId, users);
  }
  const built = await stores.snapshots.buildVersion(orgId, runId, { includeDisabledUsers: true });
  await stores.snapshots.promote(orgId, runId, built.baseVersion);
}

async function page(query: string) {
  return api.request('GET', `/api/v1/orgs/${orgId}/directory/users${query}`, { token });
}

test.beforeAll(async ({ redis, api: started, stores: repositories }) => {
  r = redis;
  api = started;
  token = await signToken({ org: orgId });
  stores = repositories;
});

describe('directory users', () => {
  it('answers an empty list before any snapshot is committed', async () => {
    const res = await page('');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ items: [], nextCursor: null });
  });

  it('pages through the committed snapshot by user ID', async () => {
    const all = Array.from({ length: 25 }, (_, i) => user(i + 1));
    // Users 1-15 in group A, 11-25 in group B: 11-15 are in both.
    await commit('run-1', { [GROUP_A]: all.slice(0, 15), [GROUP_B]: all.slice(10) });

    const seen: z.infer<typeof directoryUserSchema>[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await page(cursor ? `?limit=10&cursor=${cursor}` : '?limit=10');
      expect(res.status).toBe(200);
      const body = pageSchema.parse(res.json);
      expect(body.items.length).toBeLessThanOrEqual(10);
      seen.push(...body.items);
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((u) => u.id)).toEqual(all.map((u) => u.id));
    expect(seen[0]).toEqual({ ...user(1), groupIds: [GROUP_A] });
    expect(seen[2]?.mail).toBeNull();
    expect(seen[12]?.groupIds).toEqual([GROUP_A, GROUP_B].sort());
    expect(seen[24]?.groupIds).toEqual([GROUP_B]);
  });

  it('finishes a paging reader on the snapshot it started on', async () => {
    const first = pageSchema.parse((await page('?limit=5')).json);
    await commit('run-2', { [GROUP_A]: [user(100)] });
    const rest = pageSchema.parse((await page(`?limit=50&cursor=${first.nextCursor}`)).json);
    expect(rest.items).toHaveLength(20);
    expect(rest.items.some((u) => u.id === user(100).id)).toBe(false);
    const fresh = pageSchema.parse((await page('')).json);
    expect(fresh.items.map((u) => u.id)).toEqual([user(100).id]);
  });

  it('answers 400 naming cursor for an expired or foreign cursor', async () => {
    const first = pageSchema.parse((await page('?limit=1')).json);
    await commit('run-3', { [GROUP_B]: [user(200), user(201)] });
    // The replaced version lives on for a grace period; its expiry is what removes it.
    const retired = (await r.keys()).filter((k) => k.includes(`{o:${orgId}}:snap:run-2:`));
    expect(retired.length).toBeGreaterThan(0);
    await r.redis.unlink(...retired);
    const expired = await page(`?limit=1&cursor=${first.nextCursor}`);
    expect(expired.status).toBe(400);
    expect(expired.json).toMatchObject({
      error: 'validation_failed',
      issues: [{ path: 'cursor' }],
    });

    for (const cursor of [encodeCursor('not-a-cursor'), 'AAAA', encodeCursor('{"v":1}')]) {
      const res = await page(`?cursor=${cursor}`);
      expect(res.status, cursor).toBe(400);
      expect(res.json).toMatchObject({ error: 'validation_failed', issues: [{ path: 'cursor' }] });
    }
  });
});
