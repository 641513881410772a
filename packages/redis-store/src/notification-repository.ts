import type { Notification } from '@pinnacle/domain';
import { decodeCursor, encodeCursor, notificationSchema } from '@pinnacle/domain';
import { z } from 'zod';
import { orgKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { defineScript } from './redis-script.js';

/** In-app notifications kept per org; the oldest fall off. */
export const NOTIFICATIONS_PER_ORG = 500;
/** Notifications read per round trip while filtering (unread). */
const SCAN_BATCH = 100;

export class NotificationCursorError extends Error {
  readonly code = 'cursor_invalid';
  constructor() {
    super('The cursor is not one this API issued');
    this.name = 'NotificationCursorError';
  }
}

// Sets readAt unless already set. Returns the stored json, or null when
// there is no such notification.
const markRead = defineScript({
  name: 'markNotificationRead',
  keys: ['notification'],
  args: ['readAt'],
  lua: `
local cur = redis.call('GET', notification)
if not cur then return false end
local n = cjson.decode(cur)
if n.readAt ~= cjson.null then return cur end
n.readAt = readAt
local json = cjson.encode(n)
redis.call('SET', notification, json)
return json
`,
  parse: z.string().nullable(),
});

// Counts the org's unread notifications. The inbox is bounded
// (NOTIFICATIONS_PER_ORG), so one pass over it is cheap; the notifier writes
// notifications in scripts of its own, so no separate unread index is kept
// in step with them. notificationPrefix: a notification's key without its ID.
const countUnread = defineScript({
  name: 'countUnreadNotifications',
  keys: ['index'],
  args: ['notificationPrefix'],
  lua: `
local n = 0
for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local cur = redis.call('GET', notificationPrefix .. id)
  if cur and cjson.decode(cur).readAt == cjson.null then n = n + 1 end
end
return n
`,
  parse: z.number().int(),
});

// Marks every unread notification of the org read, in one step, so a
// notification the notifier stores meanwhile is either marked or left
// unread whole. Returns how many were marked.
const markAllRead = defineScript({
  name: 'markAllNotificationsRead',
  keys: ['index'],
  args: ['readAt', 'notificationPrefix'],
  lua: `
local n = 0
for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local key = notificationPrefix .. id
  local cur = redis.call('GET', key)
  if cur then
    local doc = cjson.decode(cur)
    if doc.readAt == cjson.null then
      doc.readAt = readAt
      redis.call('SET', key, cjson.encode(doc))
      n = n + 1
    end
  end
end
return n
`,
  parse: z.number().int(),
});

export interface NotificationListOptions {
  limit: number;
  cursor?: string | undefined;
  /** Only notifications not yet read. */
  unread?: boolean | undefined;
}

/**
 * The in-app inbox of each org, newest first, as the API reads it and marks
 * it read. Bounded per org, so filtering by `unread` may walk the whole index
 * (500 at most) without an extra one. Notifications are written by the
 * notifier only, through `AlertRepository` (one merge rule for every write).
 */
export class NotificationRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private keys(orgId: string) {
    return orgKeys(this.prefix, orgId);
  }

  async get(orgId: string, id: string): Promise<Notification | null> {
    const json = await this.redis.get(this.keys(orgId).notification(id));
    return json ? notificationSchema.parse(JSON.parse(json)) : null;
  }

  /**
   * Marks a notification read; marking it again keeps the first `readAt`.
   * Null when there is no such notification (never existed or trimmed).
   */
  async markRead(orgId: string, id: string, at: Date = new Date()): Promise<Notification | null> {
    const stored = await markRead(this.redis, {
      keys: { notification: this.keys(orgId).notification(id) },
      args: { readAt: at.toISOString() },
    });
    return stored ? notificationSchema.parse(JSON.parse(stored)) : null;
  }

  /** How many of the org's notifications are unread (whatever page or filter is shown). */
  async unreadCount(orgId: string): Promise<number> {
    const k = this.keys(orgId);
    return countUnread(this.redis, {
      keys: { index: k.notifications },
      args: { notificationPrefix: k.notification('') },
    });
  }

  /** Marks every unread notification read at `at`; a read one keeps its `readAt`. */
  async markAllRead(orgId: string, at: Date = new Date()): Promise<number> {
    const k = this.keys(orgId);
    return markAllRead(this.redis, {
      keys: { index: k.notifications },
      args: { readAt: at.toISOString(), notificationPrefix: k.notification('') },
    });
  }

  /**
   * Newest first. The cursor names the last notification returned, so ones
   * added while a client pages do not shift what it sees next. A cursor whose
   * notification was trimmed means everything older is gone too: empty page.
   * Throws NotificationCursorError for a cursor this repository never made.
   */
  async list(
    orgId: string,
    options: NotificationListOptions,
  ): Promise<{ items: Notification[]; nextCursor: string | null }> {
    const k = this.keys(orgId);
    let start = 0;
    if (options.cursor !== undefined) {
      const afterId = decodeCursor(options.cursor);
      if (afterId === null) throw new NotificationCursorError();
      const rank = await this.redis.zrevrank(k.notifications, afterId);
      if (rank === null) return { items: [], nextCursor: null };
      start = rank + 1;
    }
    // One more than a page tells whether another page exists.
    const wanted = options.limit + 1;
    const batch = options.unread ? Math.max(SCAN_BATCH, wanted) : wanted;
    const found: Notification[] = [];
    for (;;) {
      const ids = await this.redis.zrevrange(k.notifications, start, start + batch - 1);
      if (ids.length === 0) break;
      start += ids.length;
      const rows = await this.redis.mget(...ids.map((id) => k.notification(id)));
      for (const row of rows) {
        if (row === null) continue;
        const notification = notificationSchema.parse(JSON.parse(row));
        if (options.unread && notification.readAt !== null) continue;
        found.push(notification);
        if (found.length === wanted) break;
      }
      if (found.length === wanted || ids.length < batch) break;
    }
    const items = found.slice(0, options.limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: found.length > options.limit && last ? encodeCursor(last.id) : null,
    };
  }
}
