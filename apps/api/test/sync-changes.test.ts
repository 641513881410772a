import { encodeCursor, newQueuedRun, type Run, runChangesPageSchema } from '@pinnacle/domain';
import type { StagedUser, Stores } from '@pinnacle/redis-store';
import { describe, expect, it } from 'vitest';
import { test } from './fixtures.js';
import { GROUP_A, signToken, type TestApi } from './helpers.js';

let api: TestApi;
let token: string;
let stores: Stores;
const orgId = 'org-changes';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
function user(n: number, patch: Partial<StagedUser> = {}): StagedUser {
  return {
    id: id(n),
    displayName: `User ${n}`,
    mail: `user${n}@contoso.com`,
    userPrincipalName: `user${n}@contoso.onmicrosoft.com`,
    accountEnabled: true,
    ...patch,
  };
}

/** A finished run record, and its snapshot built the way the worker builds it. */
async function run(
  runId: string,
  users: StagedUser[],
  outcome: 'committed' | 'blocked',
): Promise<void> {
  const queued = newQueuedRun({ id: runId, orgId, trigger: 'manual', createdAt: new Date() });
  await stores.runs.createIfIdle(queued);
  await stores.snapshots.resetStaging(orgId, runId, { groupIds: [GROUP_A] });
  await stores.snapshots.stagePage(orgId, runId, GROUP_A, users);
  const built = await stores.snapshots.buildVersion(orgId, runId, { includeDisabledUsers: false });
  if (outcome === 'committed') {
    await stores.snapshots.promote(orgId, runId, built.baseVersion);
  } else {
    await stores.snapshots.discard(orgId, runId);
  }
  const finished: Run = {
    ...queued,
    status: outcome === 'committed' ? 'succeeded' : 'failed',
    stage: 'commit',
    finishedAt: new Date().toISOString(),
  };
  await stores.runs.save(finished);
}

async function changes(runId: string, query = '') {
  return api.request('GET', `/api/v1/orgs/${orgId}/syncs/${runId}/changes${query}`, { token });
}

test.beforeAll(async ({ api: started, stores: repositories }) => {
  api = started;
  token = await signToken({ org: orgId });
  stores = repositories;
  await run(
    'run-1',
    Array.from({ length: 30 }, (_, n) => user(n)),
    'committed',
  );
  // Renames user 1, drops 20-29, adds 30.
  await run(
    'run-2',
    [
      user(0),
      user(1, { displayName: 'Renamed' }),
      ...Array.from({ length: 18 }, (_, n) => user(n + 2)),
      user(30),
    ],
    'committed',
  );
  // Would drop everyone but user 0.
  await run('run-3', [user(0)], 'blocked');
});

describe('GET /orgs/{orgId}/syncs/{runId}/changes', () => {
  it('pages what a run added, removed and changed', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const res = await changes('run-2', `?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = runChangesPageSchema.parse(res.json);
      expect(page).toMatchObject({
        recorded: true,
        applied: true,
        totals: { added: 1, removed: 10, changed: 1 },
        truncated: false,
      });
      seen.push(...page.items.map((c) => `${c.change} ${c.userId.slice(-2)}`));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([
      'added 30',
      ...Array.from({ length: 10 }, (_, n) => `removed ${n + 20}`),
      'changed 01',
    ]);
    const changed = runChangesPageSchema.parse((await changes('run-2', '?change=changed')).json);
    expect(changed.items).toEqual([
      {
        userId: id(1),
        change: 'changed',
        displayName: 'Renamed',
        mail: 'user1@contoso.com',
        userPrincipalName: 'user1@contoso.onmicrosoft.com',
        accountEnabled: true,
        changedFields: ['displayName'],
        previous: {
          displayName: 'User 1',
          mail: 'user1@contoso.com',
          userPrincipalName: 'user1@contoso.onmicrosoft.com',
          accountEnabled: true,
        },
      },
    ]);
  });

  it('lists who a run stopped by the guard would have removed', async () => {
    const page = runChangesPageSchema.parse(
      (await changes('run-3', '?change=removed&limit=200')).json,
    );
    expect(page).toMatchObject({
      recorded: true,
      applied: false,
      totals: { added: 0, removed: 20, changed: 0 },
    });
    expect(page.items.map((c) => c.userId)).toEqual(
      [...Array.from({ length: 19 }, (_, n) => id(n + 1)), id(30)].sort(),
    );
    expect(page.items[0]).toMatchObject({ displayName: 'Renamed', change: 'removed' });
  });

  it('answers 404 for an unknown run and an empty, unrecorded list for a run without changes', async () => {
    const missing = await changes('run-unknown');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'not_found' });
    await stores.runs.createIfIdle(
      newQueuedRun({ id: 'run-queued', orgId, trigger: 'manual', createdAt: new Date() }),
    );
    const queued = await changes('run-queued');
    expect(queued.status).toBe(200);
    expect(runChangesPageSchema.parse(queued.json)).toMatchObject({
      items: [],
      nextCursor: null,
      recorded: false,
    });
  });

  it('answers 400 naming cursor for a cursor it did not make', async () => {
    const removed = runChangesPageSchema.parse(
      (await changes('run-2', '?change=removed&limit=1')).json,
    );
    for (const query of [
      `?cursor=${encodeCursor('nope')}`,
      `?cursor=${encodeCursor('added:x')}`,
      `?change=added&cursor=${removed.nextCursor}`,
    ]) {
      const res = await changes('run-2', query);
      expect(res.status, query).toBe(400);
      expect(res.json).toMatchObject({ error: 'validation_failed', issues: [{ path: 'cursor' }] });
    }
  });

  it("answers 403 for another org's token", async () => {
    const other = await signToken({ org: 'org-other' });
    const res = await api.request('GET', `/api/v1/orgs/${orgId}/syncs/run-2/changes`, {
      token: other,
    });
    expect(res.status).toBe(403);
    // The run exists only under its own org.
    const star = await signToken({ org: '*' });
    const elsewhere = await api.request('GET', '/api/v1/orgs/org-other/syncs/run-2/changes', {
      token: star,
    });
    expect(elsewhere.status).toBe(404);
  });
});
