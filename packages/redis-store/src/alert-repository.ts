import {
  deliveryStateSchema,
  type EpisodeState,
  emptyEpisodeState,
  episodeStateSchema,
  notificationSchema,
} from '@pinnacle/domain';
import { z } from 'zod';
import { fenceKey, globalKeys, orgKeys, type WriteFence } from './keys.js';
import { luaTrimIndex } from './lua-script.js';
import { NOTIFICATIONS_PER_ORG } from './notification-repository.js';
import type { RedisClient } from './redis-client.js';
import { defineScript } from './redis-script.js';
import { assertNotFenced, FENCED, fenceArgs, luaFence, OrgOffboardedError } from './write-fence.js';
import { withScores } from './zset.js';

/**
 * The in-app notification as the notifier stores it: the API's record plus
 * the delivery bookkeeping of its emails (stripped by `notificationSchema`
 * when the API reads it).
 */
export const storedNotificationSchema = notificationSchema.extend({
  /** The alert whose email `delivery.email` describes (an episode's latest email). */
  emailAlertId: z.string().nullable().optional(),
  /** Alerts whose email the SMTP server accepted, comma-separated: never sent twice. */
  emailsDelivered: z.string().optional(),
});
export type StoredNotification = z.infer<typeof storedNotificationSchema>;

/** How an email job ended. `suppressed` is no email job's outcome: the alert's own commit decides it. */
export const finalEmailStateSchema = deliveryStateSchema.exclude(['pending', 'suppressed']);
export type FinalEmailState = z.infer<typeof finalEmailStateSchema>;

// The one write of an in-app notification, with the episode state when the
// alert has one (compare-and-set; ARGV[1] '*' skips it), so neither exists
// without the other. The merge over a stored notification of the same ID:
// createdAt stays (the inbox order never shifts), a readAt once set stays (a
// repeat never resurfaces what the admin read, and a concurrent "mark read"
// is never lost), the delivered-email list stays, and so does the email
// state unless this write starts a new email (another emailAlertId). The
// notification is indexed by creation time and the inbox trimmed to `limit`.
// expected: the state read ('*': not checked); replacement: the new state
// ('' = none); json: the notification ('' = none); notificationPrefix: a
// notification's key without its ID. Returns 1, 0 when the state changed
// meanwhile, or FENCED.
const commitAlert = defineScript({
  name: 'commitAlert',
  keys: ['episodes', 'notification', 'index', 'fence'],
  args: [
    'expected',
    'replacement',
    'json',
    'score',
    'notificationId',
    'limit',
    'notificationPrefix',
    'fenced',
  ],
  lua: `
${luaFence('fence', 'fenced')}
if expected ~= '*' then
  local cur = redis.call('GET', episodes) or ''
  if cur ~= expected then return 0 end
  if replacement ~= '' then redis.call('SET', episodes, replacement) end
end
if json == '' then return 1 end
local cur = redis.call('GET', notification)
if cur then
  local old = cjson.decode(cur)
  local new = cjson.decode(json)
  new.createdAt = old.createdAt
  if old.readAt ~= cjson.null then new.readAt = old.readAt end
  local mail = new.emailAlertId
  if mail == nil or mail == cjson.null or mail == old.emailAlertId then
    new.emailAlertId = old.emailAlertId
    new.delivery.email = old.delivery.email
  end
  new.emailsDelivered = old.emailsDelivered
  json = cjson.encode(new)
end
redis.call('SET', notification, json)
redis.call('ZADD', index, 'NX', score, notificationId)
${luaTrimIndex('index', 'limit', 'notificationPrefix')}
return 1
`,
  parse: z.union([z.literal(0), z.literal(1), z.literal(FENCED)]),
});

// Records how an alert's email went. The state only moves for the email the
// notification currently tracks, and never away from 'delivered'; a
// delivered alert joins the list that stops it being sent again.
// delivered: '1' when the SMTP server accepted it. Returns the stored json,
// or null when there is no such notification.
const recordEmail = defineScript({
  name: 'recordAlertEmail',
  keys: ['notification'],
  args: ['alertId', 'state', 'delivered'],
  lua: `
local cur = redis.call('GET', notification)
if not cur then return false end
local n = cjson.decode(cur)
local changed = false
if delivered == '1' then
  local list = n.emailsDelivered or ''
  if not string.find(',' .. list .. ',', ',' .. alertId .. ',', 1, true) then
    if list == '' then n.emailsDelivered = alertId else n.emailsDelivered = list .. ',' .. alertId end
    changed = true
  end
end
if n.emailAlertId == alertId and n.delivery.email ~= state and n.delivery.email ~= 'delivered' then
  n.delivery.email = state
  changed = true
end
if not changed then return cur end
local json = cjson.encode(n)
redis.call('SET', notification, json)
return json
`,
  parse: z.string().nullable(),
});

/**
 * The notifier's writes: each org's failure episodes, the in-app
 * notifications its alerts raise, and the delivery state of their emails.
 * All keys of one org share its hash tag, so each step is one atomic script.
 */
export class AlertRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private keys(orgId: string) {
    return orgKeys(this.prefix, orgId);
  }

  /** The org's episode state and its raw form (the compare-and-set token). */
  async readState(orgId: string): Promise<{ raw: string; state: EpisodeState }> {
    const raw = (await this.redis.get(this.keys(orgId).episodes)) ?? '';
    return { raw, state: raw ? episodeStateSchema.parse(JSON.parse(raw)) : emptyEpisodeState };
  }

  /**
   * Stores `next` and the notification together, only if the state is still
   * `expectedRaw` (false otherwise: read again and decide again). With a
   * fence (the alert's run, or the integration), throws OrgOffboardedError
   * once that is gone, writing nothing.
   */
  async commit(
    orgId: string,
    expectedRaw: string,
    next: EpisodeState,
    notification: StoredNotification | null,
    fence?: WriteFence,
  ): Promise<boolean> {
    const state = JSON.stringify(episodeStateSchema.parse(next));
    return (await this.write(orgId, expectedRaw, state, notification, fence)) === 1;
  }

  /** Creates or updates an alert's notification that belongs to no episode. Idempotent. */
  async upsertNotification(
    orgId: string,
    notification: StoredNotification,
    fence?: WriteFence,
  ): Promise<void> {
    await this.write(orgId, '*', '', notification, fence);
  }

  /**
   * Indexes when the org's open episode owes its next reminder (null: it
   * owes none), for the reminder scan. Kept apart from the episode (another
   * slot), so the scan re-checks the episode itself before acting. With a
   * fence, the entry is written and then taken out again (OrgOffboardedError)
   * if the fence is gone by then: offboarding fences first and empties the
   * index after, so either way round the entry does not outlive the org.
   */
  async setReminderDue(orgId: string, at: string | null, fence?: WriteFence): Promise<void> {
    const key = globalKeys(this.prefix).remindersDue;
    if (at === null) {
      await this.redis.zrem(key, orgId);
      return;
    }
    await this.redis.zadd(key, Date.parse(at), orgId);
    if (fence && (await this.redis.exists(fenceKey(this.keys(orgId), fence))) === 0) {
      await this.redis.zrem(key, orgId);
      throw new OrgOffboardedError(orgId);
    }
  }

  /** Orgs whose indexed reminder is due at `now` or earlier, soonest first, a page at a time. */
  async remindersDue(
    now: Date,
    page: { offset: number; limit: number },
  ): Promise<{ orgId: string; dueAt: string }[]> {
    const rows = await this.redis.zrangebyscore(
      globalKeys(this.prefix).remindersDue,
      '-inf',
      now.getTime(),
      'WITHSCORES',
      'LIMIT',
      page.offset,
      page.limit,
    );
    return withScores(rows).map(({ member, score }) => ({
      orgId: member,
      dueAt: new Date(score).toISOString(),
    }));
  }

  async getNotification(orgId: string, id: string): Promise<StoredNotification | null> {
    const json = await this.redis.get(this.keys(orgId).notification(id));
    return json ? storedNotificationSchema.parse(JSON.parse(json)) : null;
  }

  /** True once the SMTP server accepted this alert's email. */
  async emailDelivered(orgId: string, notificationId: string, alertId: string): Promise<boolean> {
    const n = await this.getNotification(orgId, notificationId);
    return (n?.emailsDelivered ?? '').split(',').includes(alertId);
  }

  /**
   * Records the outcome of an alert's email on its notification. Null when
   * the notification is gone (trimmed from the inbox).
   */
  async recordEmail(
    orgId: string,
    notificationId: string,
    alertId: string,
    state: FinalEmailState,
  ): Promise<StoredNotification | null> {
    const json = await recordEmail(this.redis, {
      keys: { notification: this.keys(orgId).notification(notificationId) },
      args: {
        alertId,
        state: finalEmailStateSchema.parse(state),
        delivered: state === 'delivered' ? '1' : '0',
      },
    });
    return json ? storedNotificationSchema.parse(JSON.parse(json)) : null;
  }

  private async write(
    orgId: string,
    expectedRaw: string,
    state: string,
    notification: StoredNotification | null,
    fence: WriteFence | undefined,
  ): Promise<number> {
    const k = this.keys(orgId);
    const n = notification ? storedNotificationSchema.parse(notification) : null;
    const id = n?.id ?? '';
    const f = fenceArgs(k, fence, k.episodes);
    const result = await commitAlert(this.redis, {
      keys: {
        episodes: k.episodes,
        notification: k.notification(id),
        index: k.notifications,
        fence: f.key,
      },
      args: {
        expected: expectedRaw,
        replacement: state,
        json: n ? JSON.stringify(n) : '',
        score: n ? String(Date.parse(n.createdAt)) : '0',
        notificationId: id,
        limit: String(NOTIFICATIONS_PER_ORG),
        notificationPrefix: k.notification(''),
        fenced: f.flag,
      },
    });
    assertNotFenced(result, orgId);
    return result;
  }
}
