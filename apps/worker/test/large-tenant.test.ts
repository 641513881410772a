import { seededUser } from '@pinnacle/entra-simulator';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type Harness, newOrgId } from './support/harness.js';
import { addSeededTenant } from './support/tenants.js';

let h: Harness;
test.beforeAll(async ({ harness }) => {
  h = harness;
  h.startWorker();
});

describe('a 10,000-user tenant with nested, overlapping and cyclic groups', () => {
  it('commits every user exactly once with the right group IDs', { timeout: 120_000 }, async () => {
    // a: users 0..5999; b: 4000..6999 + c (nested); c: 6500..9999 and 0..99 + b (a cycle).
    const tenant = addSeededTenant(h.sim, {
      name: 'large',
      userCount: 10_000,
      disabledShare: 0.05,
      groups: [
        { key: 'a', ranges: [[0, 6000]] },
        { key: 'b', ranges: [[4000, 3000]], memberGroups: ['c'] },
        {
          key: 'c',
          ranges: [
            [6500, 3500],
            [0, 100],
          ],
          memberGroups: ['b'],
        },
      ],
    });
    const { seed, domain, disabledShare } = tenant;
    const a = tenant.groupId('a');
    const b = tenant.groupId('b');
    const orgId = newOrgId();
    await h.configure(orgId, tenant.settings(['a', 'b']));

    const run = await h.waitForRun(orgId, await h.syncNow(orgId), 100_000);
    expect(run.status).toBe('succeeded');

    const expected = new Map<string, string[]>();
    for (let i = 0; i < 10_000; i++) {
      const user = seededUser(seed, i, domain, disabledShare);
      if (!user.accountEnabled) continue;
      const groups: string[] = [];
      if (i < 6000) groups.push(a);
      if ((i >= 4000 && i < 7000) || i >= 6500 || i < 100) groups.push(b);
      expected.set(user.id, groups.sort());
    }
    expect(expected.size).toBeGreaterThan(9000);
    expect(expected.size).toBeLessThan(10_000);

    const seen = new Map<string, string[]>();
    let cursor: string | undefined;
    do {
      const page = await h.stores.snapshots.readUsers(orgId, { cursor, limit: 200 });
      for (const u of page.items) {
        expect(seen.has(u.id)).toBe(false);
        seen.set(u.id, u.groupIds);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.size).toBe(expected.size);
    for (const [id, groups] of expected) expect(seen.get(id)).toEqual(groups);
    expect(run.stats).toMatchObject({ users: expected.size, added: expected.size, groups: 2 });
  });
});
