import type { Notification } from '@pinnacle/domain';
import { encodeCursor } from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { AlertRepository } from '../src/alert-repository.js';
import {
  NOTIFICATIONS_PER_ORG,
  NotificationCursorError,
  NotificationRepository,
} from '../src/notification-repository.js';
import { dataPrefix } from '../src/stores.js';

let r: RedisFixture;
let repo: NotificationRepository;
/** The notifier's writer: the one way notifications get into the inbox. */
let writer: AlertRepository;

test.beforeAll(async ({ redis }) => {
  r = redis;
  repo = new NotificationRepository(r.redis, dataPrefix(r.prefix));
  writer = new AlertRepository(r.redis, dataPrefix(r.prefix));
});

const base = Date.UTC(2026, 0, 1);
const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();

function notification(id: string, minute: number, patch: Partial<Notification> = {}): Notification {
  return {
    id,
    type: 'sync_failed',
    severity: 'error',
    title: 'Entra ID sync failed',
    message: 'The client secret has expired.',
    failureCode: 'client_secret_expired',
    runId: `run-${id}`,
    count: 1,
    firstSeenAt: at(minute),
    lastSeenAt: at(minute),
    createdAt: at(minute),
    readAt: null,
    delivery: { inApp: 'delivered', email: 'pending' },
    ...patch,
  };
}

async function allIds(orgId: string, unread?: boolean, limit = 3): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await repo.list(orgId, { limit, cursor, unread });
    expect(result.items.length).toBeLessThanOrEqual(limit);
    ids.push(...result.items.map((n) => n.id));
    if (result.nextCursor === null) return ids;
    cursor = result.nextCursor;
  }
  throw new Error('paging did not end');
}

describe('NotificationRepository', () => {
  it('stores a notification and reads it back', async () => {
    const n = notification('n1', 0);
    await writer.upsertNotification('org-store', n);
    expect(await repo.get('org-store', 'n1')).toEqual(n);
    expect(await repo.get('org-store', 'missing')).toBeNull();
    expect(await repo.get('other-org', 'n1')).toBeNull();
  });

  it('an update by ID keeps createdAt and readAt, and is idempotent', async () => {
    const orgId = 'org-upsert';
    await writer.upsertNotification(orgId, notification('ep', 0));
    await repo.markRead(orgId, 'ep', new Date(at(1)));

    const bumped = notification('ep', 5, {
      count: 2,
      firstSeenAt: at(0),
      createdAt: at(5), // a notifier that lost the original must not move it in the inbox
    });
    await writer.upsertNotification(orgId, bumped);
    const once = await repo.get(orgId, 'ep');
    await writer.upsertNotification(orgId, bumped);
    expect(await repo.get(orgId, 'ep')).toEqual(once);
    expect(once).toMatchObject({ count: 2, lastSeenAt: at(5), createdAt: at(0), readAt: at(1) });
    expect((await repo.list(orgId, { limit: 10 })).items.map((n) => n.id)).toEqual(['ep']);
  });

  it('rejects a notification that does not match the schema', async () => {
    const bad = { ...notification('bad', 0), severity: 'fatal' } as unknown as Notification;
    await expect(writer.upsertNotification('org-bad', bad)).rejects.toThrow();
    expect(await repo.get('org-bad', 'bad')).toBeNull();
  });

  it('lists newest first with cursor paging and an unread filter', async () => {
    const orgId = 'org-list';
    for (let i = 0; i < 10; i++) await writer.upsertNotification(orgId, notification(`n${i}`, i));
    for (const i of [1, 4, 5, 8]) await repo.markRead(orgId, `n${i}`);

    expect(await allIds(orgId)).toEqual([
      'n9',
      'n8',
      'n7',
      'n6',
      'n5',
      'n4',
      'n3',
      'n2',
      'n1',
      'n0',
    ]);
    expect(await allIds(orgId, true)).toEqual(['n9', 'n7', 'n6', 'n3', 'n2', 'n0']);
    expect(await allIds(orgId, true, 1)).toEqual(['n9', 'n7', 'n6', 'n3', 'n2', 'n0']);
    expect(await allIds(orgId, false, 10)).toHaveLength(10);

    const exact = await repo.list(orgId, { limit: 10 });
    expect(exact.nextCursor).toBeNull();
    const unreadPage = await repo.list(orgId, { limit: 6, unread: true });
    expect(unreadPage.nextCursor).toBeNull();
    expect(unreadPage.items.every((n) => n.readAt === null)).toBe(true);
  });

  it('keeps paging stable when newer notifications arrive', async () => {
    const orgId = 'org-stable';
    for (let i = 0; i < 4; i++) await writer.upsertNotification(orgId, notification(`s${i}`, i));
    const first = await repo.list(orgId, { limit: 2 });
    expect(first.items.map((n) => n.id)).toEqual(['s3', 's2']);
    await writer.upsertNotification(orgId, notification('s4', 4));
    const second = await repo.list(orgId, { limit: 2, cursor: first.nextCursor ?? undefined });
    expect(second.items.map((n) => n.id)).toEqual(['s1', 's0']);
    expect(second.nextCursor).toBeNull();
  });

  it('refuses a cursor it did not make, and ends on one whose notification is gone', async () => {
    await expect(repo.list('org-list', { limit: 5, cursor: '%%%' })).rejects.toBeInstanceOf(
      NotificationCursorError,
    );
    expect(await repo.list('org-list', { limit: 5, cursor: encodeCursor('nope') })).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('marks read idempotently and returns null for an unknown ID', async () => {
    const orgId = 'org-read';
    await writer.upsertNotification(orgId, notification('r1', 0));
    const read = await repo.markRead(orgId, 'r1', new Date(at(10)));
    expect(read?.readAt).toBe(at(10));
    const again = await repo.markRead(orgId, 'r1', new Date(at(20)));
    expect(again?.readAt).toBe(at(10));
    expect(await repo.markRead(orgId, 'unknown')).toBeNull();
    expect(await repo.get(orgId, 'unknown')).toBeNull();
  });

  it(`keeps only the newest ${NOTIFICATIONS_PER_ORG} per org`, async () => {
    const orgId = 'org-bounded';
    const total = NOTIFICATIONS_PER_ORG + 7;
    for (let i = 0; i < total; i++)
      await writer.upsertNotification(orgId, notification(`b${i}`, i));
    const index = await r.redis.zcard(`${dataPrefix(r.prefix)}:{o:${orgId}}:notifications`);
    expect(index).toBe(NOTIFICATIONS_PER_ORG);
    // The trimmed records are deleted, not just unindexed.
    const records = (await r.keys()).filter((k) => k.includes(`{o:${orgId}}:notification:`));
    expect(records).toHaveLength(NOTIFICATIONS_PER_ORG);
    for (let i = 0; i < 7; i++) expect(await repo.get(orgId, `b${i}`)).toBeNull();
    expect(await repo.get(orgId, 'b7')).not.toBeNull();
    const page = await repo.list(orgId, { limit: 2 });
    expect(page.items.map((n) => n.id)).toEqual([`b${total - 1}`, `b${total - 2}`]);
    expect(await repo.markRead(orgId, 'b0')).toBeNull();
  });

  it('never loses a mark-read to a concurrent notifier update', async () => {
    const orgId = 'org-race';
    await writer.upsertNotification(orgId, notification('race', 0));
    await Promise.all([
      repo.markRead(orgId, 'race', new Date(at(1))),
      ...Array.from({ length: 10 }, (_, i) =>
        writer.upsertNotification(
          orgId,
          notification('race', i + 1, { count: i + 2, firstSeenAt: at(0) }),
        ),
      ),
    ]);
    const stored = await repo.get(orgId, 'race');
    expect(stored?.readAt).toBe(at(1));
  });

  it('counts the unread across the whole inbox, whatever the page', async () => {
    const orgId = 'org-unread-count';
    expect(await repo.unreadCount(orgId)).toBe(0);
    for (let i = 0; i < 7; i++) await writer.upsertNotification(orgId, notification(`u${i}`, i));
    await repo.markRead(orgId, 'u2', new Date(at(10)));
    expect(await repo.unreadCount(orgId)).toBe(6);
    // Another org's inbox is its own.
    expect(await repo.unreadCount('org-unread-other')).toBe(0);
  });

  it('marks all read at once, keeping each earlier readAt', async () => {
    const orgId = 'org-read-all';
    for (let i = 0; i < 5; i++) await writer.upsertNotification(orgId, notification(`r${i}`, i));
    await repo.markRead(orgId, 'r1', new Date(at(10)));
    expect(await repo.markAllRead(orgId, new Date(at(20)))).toBe(4);
    expect(await repo.unreadCount(orgId)).toBe(0);
    expect((await repo.get(orgId, 'r1'))?.readAt).toBe(at(10));
    expect((await repo.get(orgId, 'r3'))?.readAt).toBe(at(20));
    // Every field but readAt is as stored.
    const { readAt: _r, ...rest } = (await repo.get(orgId, 'r3'))!;
    const { readAt: _o, ...original } = notification('r3', 3);
    expect(rest).toEqual(original);
    // Idempotent; an unknown org marks nothing.
    expect(await repo.markAllRead(orgId, new Date(at(30)))).toBe(0);
    expect(await repo.markAllRead('org-read-all-none')).toBe(0);
    // A notification stored later is unread again.
    await writer.upsertNotification(orgId, notification('r9', 9));
    expect(await repo.unreadCount(orgId)).toBe(1);
  });
});
