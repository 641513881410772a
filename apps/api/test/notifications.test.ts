import { type Notification, notificationSchema } from '@pinnacle/domain';
import { AlertRepository, dataPrefix } from '@pinnacle/redis-store';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signToken, startTestApi, type TestApi } from './helpers.js';

let r: RedisFixture;
let api: TestApi;
let token: string;
/** The notifier's writer: the one way notifications get into the inbox. */
let repo: AlertRepository;
const now = new Date();

const listSchema = z.object({
  items: z.array(notificationSchema),
  nextCursor: z.string().nullable(),
  unreadCount: z.number().int(),
});
const orgId = 'org-inbox';

function notification(id: string, minutesAgo: number): Notification {
  const at = new Date(now.getTime() - minutesAgo * 60_000).toISOString();
  return {
    id,
    type: 'sync_failed',
    severity: 'error',
    title: 'Entra ID sync failed: client secret expired',
    message: 'Authentication with Microsoft Entra ID could not be completed.',
    failureCode: 'client_secret_expired',
    runId: `run-${id}`,
    count: 1,
    firstSeenAt: at,
    lastSeenAt: at,
    createdAt: at,
    readAt: null,
    delivery: { inApp: 'delivered', email: 'disabled' },
  };
}

test.beforeAll(async ({ redis }) => {
  r = redis;
  api = await startTestApi(r, { clock: () => new Date(now) });
  token = await signToken({ org: orgId });
  repo = new AlertRepository(r.redis, dataPrefix(r.prefix));
  for (let i = 0; i < 6; i++) await repo.upsertNotification(orgId, notification(`n${i}`, 60 - i));
  await repo.upsertNotification('org-other', notification('secret-other', 1));
});
afterAll(async () => {
  await api?.close();
});

async function list(query = '') {
  const res = await api.request('GET', `/api/v1/orgs/${orgId}/notifications${query}`, { token });
  expect(res.status).toBe(200);
  return listSchema.parse(res.json);
}

async function all(query: string): Promise<string[]> {
  const ids: string[] = [];
  let page = await list(query);
  ids.push(...page.items.map((n) => n.id));
  for (let i = 0; page.nextCursor && i < 10; i++) {
    page = await list(`${query}&cursor=${page.nextCursor}`);
    ids.push(...page.items.map((n) => n.id));
  }
  return ids;
}

describe('notifications', () => {
  it('lists the inbox newest first, paged', async () => {
    expect(await all('?limit=4')).toEqual(['n5', 'n4', 'n3', 'n2', 'n1', 'n0']);
    const first = await list('?limit=4');
    expect(first.items).toHaveLength(4);
    expect(first.nextCursor).not.toBeNull();
    // The unread count is the whole inbox's, on every page.
    expect(first.unreadCount).toBe(6);
    expect((await list(`?limit=4&cursor=${first.nextCursor}`)).unreadCount).toBe(6);
  });

  it('marks read idempotently and filters unread', async () => {
    const res = await api.request('POST', `/api/v1/orgs/${orgId}/notifications/n4/read`, { token });
    expect(res.status).toBe(200);
    const read = notificationSchema.parse(res.json);
    expect(read).toMatchObject({ id: 'n4', readAt: now.toISOString() });

    const again = await api.request('POST', `/api/v1/orgs/${orgId}/notifications/n4/read`, {
      token,
      body: {},
    });
    expect(again.status).toBe(200);
    expect(notificationSchema.parse(again.json).readAt).toBe(read.readAt);

    await api.request('POST', `/api/v1/orgs/${orgId}/notifications/n1/read`, { token });
    expect(await all('?unread=true&limit=2')).toEqual(['n5', 'n3', 'n2', 'n0']);
    expect(await all('?unread=false&limit=10')).toEqual(['n5', 'n4', 'n3', 'n2', 'n1', 'n0']);
    expect((await repo.getNotification(orgId, 'n4'))?.readAt).toBe(now.toISOString());
    expect((await list('?unread=true')).unreadCount).toBe(4);
  });

  it("answers 404 for an unknown or another org's notification", async () => {
    for (const id of ['nope', 'secret-other']) {
      const res = await api.request('POST', `/api/v1/orgs/${orgId}/notifications/${id}/read`, {
        token,
      });
      expect(res.status, id).toBe(404);
      expect(res.json).toEqual({ error: 'not_found' });
    }
    expect((await repo.getNotification('org-other', 'secret-other'))?.readAt).toBeNull();
    expect(await repo.getNotification(orgId, 'nope')).toBeNull();
  });

  it('answers 400 naming cursor for a cursor it did not issue', async () => {
    // Non-canonical base64url and bytes that are not UTF-8: never made by encodeCursor.
    for (const cursor of ['AAB', '_w']) {
      const res = await api.request('GET', `/api/v1/orgs/${orgId}/notifications?cursor=${cursor}`, {
        token,
      });
      expect(res.status, cursor).toBe(400);
      expect(res.json).toEqual({
        error: 'validation_failed',
        issues: [{ path: 'cursor', message: 'must be a cursor returned as nextCursor' }],
      });
    }
  });

  it('marks all read at once, for this org only', async () => {
    const other = await signToken({ org: 'org-other' });
    const res = await api.request('POST', `/api/v1/orgs/${orgId}/notifications/read-all`, {
      token,
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ markedRead: 4 });
    const page = await list('?limit=10');
    expect(page.unreadCount).toBe(0);
    expect(page.items.every((n) => n.readAt !== null)).toBe(true);
    // Idempotent, with an empty JSON body too.
    const again = await api.request('POST', `/api/v1/orgs/${orgId}/notifications/read-all`, {
      token,
      body: {},
    });
    expect(again.json).toEqual({ markedRead: 0 });
    // Another org's inbox is untouched, and its token cannot mark this one.
    expect((await repo.getNotification('org-other', 'secret-other'))?.readAt).toBeNull();
    const forbidden = await api.request('POST', `/api/v1/orgs/${orgId}/notifications/read-all`, {
      token: other,
    });
    expect(forbidden.status).toBe(403);
  });
});
