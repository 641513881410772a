import type { Notification } from '@pinnacle/domain';
import { decodeCursor, encodeCursor, notificationSchema } from '@pinnacle/domain';
import type { Redis } from 'ioredis';
import { orgKeys } from './keys.js';
import { LuaScript, luaTrimIndex } from './lua-script.js';

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

// Creates or updates one notification atomically, indexes it by creation
// time and trims the org's inbox to the newest `limit`. An update keeps the
// stored createdAt (and its index score, via NX) and a readAt once set.
// KEYS: notification, index. ARGV: new json, score, id, limit, notification
// key prefix (for trimming). Returns the stored json.
const UPSERT = new LuaScript(`
local json = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if cur then
  local old = cjson.decode(cur)
  local new = cjson.decode(json)
  new.createdAt = old.createdAt
  if old.readAt ~= cjson.null then new.readAt = old.readAt end
  json = cjson.encode(new)
end
redis.call('SET', KEYS[1], json)
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[3])
${luaTrimIndex('KEYS[2]', 'ARGV[4]', 'ARGV[5]')}
return json
`);

// Sets readAt unless already set. KEYS: notification. ARGV: readAt.
// Returns the stored json, or false when there is no such notification.
const MARK_READ = new LuaScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return false end
local n = cjson.decode(cur)
if n.readAt ~= cjson.null then return cur end
n.readAt = ARGV[1]
local json = cjson.encode(n)
redis.call('SET', KEYS[1], json)
return json
`);

export interface NotificationListOptions {
  limit: number;
  cursor?: string | undefined;
  /** Only notifications not yet read. */
  unread?: boolean | undefined;
}

/**
 * The in-app inbox of each org, newest first. Bounded per org, so filtering
 * by `unread` may walk the whole index (500 at most) without an extra one.
 */
export class NotificationRepository {
  constructor(
    private readonly redis: Redis,
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
   * Creates the notification or updates the stored one with the same ID (the
   * notifier bumps count, lastSeenAt and delivery of an episode's
   * notification). Idempotent. An update keeps the stored `createdAt`, so the
   * inbox order never shifts, and keeps `readAt` once set: a repeat of the
   * same episode must not resurface what the admin already read, and the
   * merge runs in one script so a concurrent "mark read" is never lost.
   */
  async upsert(orgId: string, notification: Notification): Promise<Notification> {
    const incoming = notificationSchema.parse(notification);
    const k = this.keys(orgId);
    const stored = (await UPSERT.run(
      this.redis,
      [k.notification(incoming.id), k.notifications],
      [
        JSON.stringify(incoming),
        String(Date.parse(incoming.createdAt)),
        incoming.id,
        String(NOTIFICATIONS_PER_ORG),
        k.notification(''),
      ],
    )) as string;
    return notificationSchema.parse(JSON.parse(stored));
  }

  /**
   * Marks a notification read; marking it again keeps the first `readAt`.
   * Null when there is no such notification (never existed or trimmed).
   */
  async markRead(orgId: string, id: string, at: Date = new Date()): Promise<Notification | null> {
    const stored = (await MARK_READ.run(
      this.redis,
      [this.keys(orgId).notification(id)],
      [at.toISOString()],
    )) as string | null;
    return stored ? notificationSchema.parse(JSON.parse(stored)) : null;
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
