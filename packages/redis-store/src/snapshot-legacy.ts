import type { OrgKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import {
  bucketOfPrefix,
  encodeEntry,
  keyPrefix,
  type RecordUser,
  SnapshotEncodingError,
  type SnapshotUser,
  servedFields,
} from './snapshot-codec.js';
import { unlinkAll } from './unlink.js';

/*
 * The layout before the compact one, per version: `ids` (zset, all scores 0,
 * lexical paging), `users` (hash id → canonical user JSON), `groups` (hash
 * id → sorted, comma-joined group IDs), `meta`. A committed version in this
 * layout is still served, and diffed against, until the org's next
 * successful sync replaces it; nothing writes it any more.
 */

const CHUNK = 1000;

export function legacyVersionKeys(k: OrgKeys, version: string): string[] {
  return [
    k.snapshotIds(version),
    k.snapshotUsers(version),
    k.snapshotGroups(version),
    k.snapshotDisabled(version),
    k.snapshotMeta(version),
  ];
}

export async function isLegacyVersion(
  redis: RedisClient,
  k: OrgKeys,
  version: string,
): Promise<boolean> {
  return (await redis.exists(k.snapshotIds(version))) === 1;
}

export async function countLegacyUsers(
  redis: RedisClient,
  k: OrgKeys,
  version: string,
): Promise<number> {
  return redis.zcard(k.snapshotIds(version));
}

/** A stored row; versions before the one Graph user model kept a missing `accountEnabled` as null. */
function parseLegacyUser(json: string): RecordUser {
  return JSON.parse(json) as RecordUser;
}

/** One page of a legacy version after user ID `after` ('' for the first). */
export async function readLegacyPage(
  redis: RedisClient,
  k: OrgKeys,
  version: string,
  after: string,
  limit: number,
): Promise<{ items: SnapshotUser[]; last: string | null; more: boolean }> {
  const ids = await redis.zrangebylex(
    k.snapshotIds(version),
    after ? `(${after}` : '-',
    '+',
    'LIMIT',
    0,
    limit + 1,
  );
  const pageIds = ids.slice(0, limit);
  const [rows, groups] = pageIds.length
    ? await Promise.all([
        redis.hmget(k.snapshotUsers(version), ...pageIds),
        redis.hmget(k.snapshotGroups(version), ...pageIds),
      ])
    : [[], []];
  const items: SnapshotUser[] = [];
  rows.forEach((row, i) => {
    if (row === null) return;
    const user = parseLegacyUser(row);
    items.push({
      id: user.id,
      ...servedFields(user),
      groupIds: (groups[i] ?? '').split(',').filter(Boolean),
    });
  });
  return { items, last: pageIds.at(-1) ?? null, more: ids.length > limit };
}

/**
 * Writes a legacy version, in the compact record format, to temporary
 * buckets (`snapshotShadowBucket`), so that a build diffs against it the way
 * it diffs against a compact version. Group indexes are those of the new
 * version's table (`groupTable`), extended past it for groups the new
 * version no longer has: equal group sets then encode equally.
 */
export async function shadowLegacyVersion(
  redis: RedisClient,
  k: OrgKeys,
  version: string,
  options: { groupTable: readonly string[]; bits: number; ttlSeconds: number },
): Promise<{ users: number; keys: string[] }> {
  const { bits } = options;
  const index = new Map(options.groupTable.map((g, i) => [g, i + 1]));
  const groupIndex = (guid: string): number => {
    let i = index.get(guid);
    if (i === undefined) {
      i = index.size + 1;
      if (i > 255) throw new SnapshotEncodingError('A version holds at most 255 groups');
      index.set(guid, i);
    }
    return i;
  };
  const keyOf = (bucket: number) => k.snapshotShadowBucket(version, bucket);
  const keys = Array.from({ length: 2 ** bits }, (_, b) => keyOf(b));
  await unlinkAll(redis, keys);
  // Legacy IDs come in string order; the compact order is the keys' bytes.
  // They agree unless GUID and non-GUID IDs mix: such buckets are re-sorted.
  const lastKey = new Map<number, Buffer>();
  const unsorted = new Set<number>();
  let users = 0;
  for (let start = 0; ; start += CHUNK) {
    const ids = await redis.zrange(k.snapshotIds(version), start, start + CHUNK - 1);
    if (ids.length === 0) break;
    const [rows, groups] = await Promise.all([
      redis.hmget(k.snapshotUsers(version), ...ids),
      redis.hmget(k.snapshotGroups(version), ...ids),
    ]);
    const byBucket = new Map<number, Buffer[]>();
    rows.forEach((row, i) => {
      if (row === null) return;
      const user = parseLegacyUser(row);
      const entry = encodeEntry(user, (groups[i] ?? '').split(',').filter(Boolean).map(groupIndex));
      const k1 = 1 + (entry[0] as number);
      const bucket = bucketOfPrefix(keyPrefix(entry, 1, k1), bits);
      const key = entry.subarray(1, k1);
      const last = lastKey.get(bucket);
      if (last && Buffer.compare(last, key) >= 0) unsorted.add(bucket);
      lastKey.set(bucket, key);
      const list = byBucket.get(bucket);
      if (list) list.push(entry);
      else byBucket.set(bucket, [entry]);
      users++;
    });
    const write = redis.multi();
    for (const [bucket, entries] of byBucket) {
      write.rpush(keyOf(bucket), ...entries).expire(keyOf(bucket), options.ttlSeconds);
    }
    await write.exec();
  }
  for (const bucket of unsorted) {
    const entries = await redis.lrangeBuffer(keyOf(bucket), 0, -1);
    const keyOfEntry = (e: Buffer) => e.subarray(1, 1 + (e[0] as number));
    entries.sort((a, b) => Buffer.compare(keyOfEntry(a), keyOfEntry(b)));
    await redis
      .multi()
      .del(keyOf(bucket))
      .rpush(keyOf(bucket), ...entries)
      .expire(keyOf(bucket), options.ttlSeconds)
      .exec();
  }
  return { users, keys };
}
