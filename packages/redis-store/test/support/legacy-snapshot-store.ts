/*
 * The snapshot store as it was before the compact layout (frozen copy, not
 * shipped): it writes versions in the layout an upgrade must still read and
 * diff against, for the upgrade tests and for the memory bench's baseline.
 */
import { type SnapshotMeta, snapshotMetaSchema } from '@pinnacle/domain';
import { z } from 'zod';
import type { CursorSigner } from '../../src/cursor-signer.js';
import { orgKeys } from '../../src/keys.js';
import { luaBulk } from '../../src/lua-script.js';
import type { RedisClient } from '../../src/redis-client.js';
import { defineScript } from '../../src/redis-script.js';
import {
  SnapshotConflictError,
  SnapshotCursorError,
  type SnapshotDiff,
  type SnapshotUser,
  type StagedUser,
} from '../../src/snapshot-store.js';

/** A stored user row; versions before the one Graph user model kept a missing `accountEnabled` as null. */
type StoredUserRow = Omit<StagedUser, 'accountEnabled'> & { accountEnabled: boolean | null };

/** A version being built expires on its own if its worker dies. */
const BUILDING_TTL_SECONDS = 6 * 3600;
/** A replaced version stays readable this long, so paging readers finish on it. */
const RETIRED_VERSION_TTL_SECONDS = 15 * 60;
const DIFF_CHUNK = 1000;

/*
 * A version is four keys: `ids` (zset, all scores 0: lexical paging),
 * `users` (hash id → user JSON, canonical), `groups` (hash id → sorted,
 * comma-joined selected group IDs) and `disabled` (set). A sync writes its
 * pages straight into its own version, invisible until `promote` points
 * `current` at it. Building, diffing and promoting all run inside Redis, so
 * the worker never holds more than one page, whatever the tenant's size.
 */

// Adds one page of a group's members, with one bulk command per structure
// (a per-user command costs Redis more than the user's data). Idempotent:
// replaying a page (a retried request) changes nothing.
// rows: triples id / json / disabled(0|1).
// Returns -1 and writes nothing when the run's version is already the
// committed one: a stalled worker still fetching after another worker
// finished the same run must not write into, or set a TTL on, the live
// snapshot.
const legacyStagePage = defineScript({
  name: 'legacyStagePage',
  keys: ['idsKey', 'usersKey', 'groupsKey', 'disabledKey', 'currentKey'],
  args: ['ttl', 'groupId', 'runId', '...rows'],
  lua: `
if redis.call('GET', currentKey) == runId then return -1 end
${luaBulk}
local gid = groupId
local ids, members, users, flags = {}, {}, {}, {}
for i = 1, #rows, 3 do
  local id = rows[i]
  if not flags[id] then
    ids[#ids + 1] = id
    members[#members + 1] = 0
    members[#members + 1] = id
  end
  users[#users + 1] = id
  users[#users + 1] = rows[i + 1]
  -- The last time a page shows the user decides, as it does for the fields.
  flags[id] = rows[i + 2]
end
if #ids == 0 then return 0 end
bulk('ZADD', idsKey, members)
bulk('HSET', usersKey, users)
local disabled, enabled = {}, {}
for _, id in ipairs(ids) do
  if flags[id] == '1' then disabled[#disabled + 1] = id else enabled[#enabled + 1] = id end
end
bulk('SADD', disabledKey, disabled)
if redis.call('EXISTS', disabledKey) == 1 then bulk('SREM', disabledKey, enabled) end
-- Each user's selected groups: sorted, comma-joined, each group once.
local changes = {}
for from = 1, #ids, 1000 do
  local slice = {unpack(ids, from, math.min(from + 999, #ids))}
  local current = redis.call('HMGET', groupsKey, unpack(slice))
  for j, id in ipairs(slice) do
    local g = current[j]
    if not g then
      changes[#changes + 1] = id
      changes[#changes + 1] = gid
    elseif not string.find(',' .. g .. ',', ',' .. gid .. ',', 1, true) then
      local list = {}
      for part in string.gmatch(g, '[^,]+') do list[#list + 1] = part end
      list[#list + 1] = gid
      table.sort(list)
      changes[#changes + 1] = id
      changes[#changes + 1] = table.concat(list, ',')
    end
  end
end
bulk('HSET', groupsKey, changes)
for _, key in ipairs({idsKey, usersKey, groupsKey, disabledKey}) do redis.call('EXPIRE', key, ttl) end
return 0
`,
  parse: z.union([z.literal(-1), z.literal(0)]),
});

// Leaves disabled accounts out of the version.
const legacyDropDisabled = defineScript({
  name: 'legacyDropDisabled',
  keys: ['idsKey', 'usersKey', 'groupsKey', 'disabledKey'],
  args: [],
  lua: `
${luaBulk}
local ids = redis.call('SMEMBERS', disabledKey)
bulk('ZREM', idsKey, ids)
bulk('HDEL', usersKey, ids)
bulk('HDEL', groupsKey, ids)
return #ids
`,
  parse: z.number().int(),
});

// Diffs ranks [start, start+count) of the new version against the current
// one (count at most 1000: one bulk read per structure).
// Returns {seen, added, changed, matched}.
const legacyDiffChunk = defineScript({
  name: 'legacyDiffChunk',
  keys: ['newIdsKey', 'newUsersKey', 'newGroupsKey', 'oldUsersKey', 'oldGroupsKey'],
  args: ['start', 'count'],
  lua: `
local ids = redis.call('ZRANGE', newIdsKey, start, tonumber(start) + tonumber(count) - 1)
if #ids == 0 then return {0, 0, 0, 0} end
local found = redis.call('HMGET', oldUsersKey, unpack(ids))
-- The users the current version has too, and their current fields.
local kept, old = {}, {}
for j, id in ipairs(ids) do
  if found[j] then
    kept[#kept + 1] = id
    old[#old + 1] = found[j]
  end
end
local changed = 0
if #kept > 0 then
  local new = redis.call('HMGET', newUsersKey, unpack(kept))
  local oldGroups = redis.call('HMGET', oldGroupsKey, unpack(kept))
  local newGroups = redis.call('HMGET', newGroupsKey, unpack(kept))
  for n = 1, #kept do
    if old[n] ~= new[n] or oldGroups[n] ~= newGroups[n] then changed = changed + 1 end
  end
end
return {#ids, #ids - #kept, changed, #kept}
`,
  parse: z.tuple([z.number(), z.number(), z.number(), z.number()]),
});

// Points `current` at the new version if nobody else committed in between.
// One SET is the swap: readers see the old version or the new one.
// expected: the old version ('' for none).
const legacyPromote = defineScript({
  name: 'legacyPromote',
  keys: [
    'currentKey',
    'newIdsKey',
    'newUsersKey',
    'newGroupsKey',
    'newDisabledKey',
    'newMetaKey',
    'oldIdsKey',
    'oldUsersKey',
    'oldGroupsKey',
    'oldMetaKey',
  ],
  args: ['expected', 'version', 'retiredTtl', 'metaJson'],
  lua: `
local cur = redis.call('GET', currentKey) or ''
if cur ~= expected then return 0 end
redis.call('SET', newMetaKey, metaJson)
for _, key in ipairs({newIdsKey, newUsersKey, newGroupsKey}) do redis.call('PERSIST', key) end
redis.call('DEL', newDisabledKey)
redis.call('SET', currentKey, version)
if cur ~= '' and cur ~= version then
  for _, key in ipairs({oldIdsKey, oldUsersKey, oldGroupsKey, oldMetaKey}) do
    redis.call('EXPIRE', key, retiredTtl)
  end
end
return 1
`,
  parse: z.union([z.literal(0), z.literal(1)]),
});

/** Canonical JSON of a user's fields: equal users compare equal as strings. */
function serializeStagedUser(user: StagedUser): string {
  return JSON.stringify({
    id: user.id,
    displayName: user.displayName,
    mail: user.mail,
    userPrincipalName: user.userPrincipalName,
    accountEnabled: user.accountEnabled,
  });
}

interface CursorState {
  /** The committed version the cursor reads. */
  v: string;
  /** The last user ID returned. */
  a: string;
}

function parseCursorState(payload: string): CursorState | null {
  try {
    const parsed = JSON.parse(payload) as unknown;
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      typeof (parsed as CursorState).v === 'string' &&
      typeof (parsed as CursorState).a === 'string'
    ) {
      return parsed as CursorState;
    }
  } catch {
    // fall through
  }
  return null;
}

/**
 * The committed directory snapshot of each org, and the versions syncs
 * build next to it.
 */
export class LegacySnapshotStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** Authenticates directory cursors (see CursorSigner); the same keys on every api replica. */
    private readonly cursors: CursorSigner,
  ) {}

  private keys(orgId: string) {
    return orgKeys(this.prefix, orgId);
  }

  private versionKeys(orgId: string, version: string) {
    const k = this.keys(orgId);
    return {
      ids: k.snapshotIds(version),
      users: k.snapshotUsers(version),
      groups: k.snapshotGroups(version),
      disabled: k.snapshotDisabled(version),
      meta: k.snapshotMeta(version),
    };
  }

  /** Starts (or restarts, after a crash) a run's version from empty. */
  async resetStaging(orgId: string, runId: string): Promise<void> {
    // A run whose commit already landed (the worker died right after) must
    // never wipe the version that is now live.
    if ((await this.currentVersion(orgId)) === runId) throw new SnapshotConflictError();
    const v = this.versionKeys(orgId, runId);
    await this.redis.del(v.ids, v.users, v.groups, v.disabled, v.meta);
  }

  async stagePage(
    orgId: string,
    runId: string,
    groupId: string,
    users: StagedUser[],
  ): Promise<void> {
    if (users.length === 0) return;
    const v = this.versionKeys(orgId, runId);
    const rows: string[] = [];
    for (const u of users) {
      rows.push(u.id, serializeStagedUser(u), u.accountEnabled === false ? '1' : '0');
    }
    const staged = await legacyStagePage(this.redis, {
      keys: {
        idsKey: v.ids,
        usersKey: v.users,
        groupsKey: v.groups,
        disabledKey: v.disabled,
        currentKey: this.keys(orgId).snapshotCurrent,
      },
      args: { ttl: String(BUILDING_TTL_SECONDS), groupId, runId, rows },
    });
    if (staged === -1) throw new SnapshotConflictError();
  }

  async currentVersion(orgId: string): Promise<string | null> {
    return this.redis.get(this.keys(orgId).snapshotCurrent);
  }

  /** What `promote` recorded about a committed version (its run and the run's counts). */
  async versionMeta(orgId: string, version: string): Promise<SnapshotMeta | null> {
    const json = await this.redis.get(this.keys(orgId).snapshotMeta(version));
    return json ? snapshotMetaSchema.parse(JSON.parse(json)) : null;
  }

  async countUsers(orgId: string, version?: string | null): Promise<number> {
    const v = version === undefined ? await this.currentVersion(orgId) : version;
    if (!v) return 0;
    return this.redis.zcard(this.keys(orgId).snapshotIds(v));
  }

  /**
   * Finishes the run's version (leaving out disabled accounts unless asked)
   * and diffs it against the committed one, chunk by chunk inside Redis. The
   * version is not visible until `promote`.
   */
  async buildVersion(
    orgId: string,
    runId: string,
    options: { includeDisabledUsers: boolean },
  ): Promise<SnapshotDiff & { baseVersion: string | null }> {
    const v = this.versionKeys(orgId, runId);
    if (!options.includeDisabledUsers) {
      await legacyDropDisabled(this.redis, {
        keys: { idsKey: v.ids, usersKey: v.users, groupsKey: v.groups, disabledKey: v.disabled },
      });
    }
    const baseVersion = await this.currentVersion(orgId);
    const old = this.versionKeys(orgId, baseVersion ?? '__none__');
    const previousUsers = await this.countUsers(orgId, baseVersion);
    let added = 0;
    let changed = 0;
    let matched = 0;
    for (let start = 0; ; start += DIFF_CHUNK) {
      const [seen, a, c, m] = await legacyDiffChunk(this.redis, {
        keys: {
          newIdsKey: v.ids,
          newUsersKey: v.users,
          newGroupsKey: v.groups,
          oldUsersKey: old.users,
          oldGroupsKey: old.groups,
        },
        args: { start, count: DIFF_CHUNK },
      });
      added += a;
      changed += c;
      matched += m;
      if (seen < DIFF_CHUNK) break;
    }
    const users = await this.redis.zcard(v.ids);
    return { baseVersion, users, added, changed, removed: previousUsers - matched, previousUsers };
  }

  /** Makes the built version the committed one, atomically, with its meta (the run's counts). */
  async promote(
    orgId: string,
    runId: string,
    baseVersion: string | null,
    meta: Omit<SnapshotMeta, 'runId'> = {},
  ): Promise<void> {
    const k = this.keys(orgId);
    const v = this.versionKeys(orgId, runId);
    const old = this.versionKeys(orgId, baseVersion ?? '__none__');
    const ok = await legacyPromote(this.redis, {
      keys: {
        currentKey: k.snapshotCurrent,
        newIdsKey: v.ids,
        newUsersKey: v.users,
        newGroupsKey: v.groups,
        newDisabledKey: v.disabled,
        newMetaKey: v.meta,
        oldIdsKey: old.ids,
        oldUsersKey: old.users,
        oldGroupsKey: old.groups,
        oldMetaKey: old.meta,
      },
      args: {
        expected: baseVersion ?? '',
        version: runId,
        retiredTtl: RETIRED_VERSION_TTL_SECONDS,
        metaJson: JSON.stringify(snapshotMetaSchema.parse({ ...meta, runId })),
      },
    });
    if (ok !== 1) throw new SnapshotConflictError();
  }

  /** Drops what a run built (a run that stops without committing); never the current version. */
  async discard(orgId: string, runId: string): Promise<void> {
    if ((await this.currentVersion(orgId)) === runId) return;
    const v = this.versionKeys(orgId, runId);
    await this.redis.del(v.ids, v.users, v.groups, v.disabled, v.meta);
  }

  /**
   * One page of the committed snapshot, ordered by user ID. The cursor pins
   * the version, so a reader paging while a sync commits finishes on the
   * snapshot it started on, never a mix.
   */
  async readUsers(
    orgId: string,
    options: { cursor?: string | undefined; limit: number },
  ): Promise<{ items: SnapshotUser[]; nextCursor: string | null; version: string | null }> {
    let version: string | null;
    let after = '';
    if (options.cursor) {
      // Authenticated for this org: a cursor cannot be made up or edited to
      // name another version (a run still staging, or one that failed).
      const payload = this.cursors.verify(orgId, options.cursor);
      const state = payload === null ? null : parseCursorState(payload);
      if (state === null) throw new SnapshotCursorError('The cursor is not one this API issued');
      version = state.v;
      after = state.a;
      // Only a committed version has meta (promote writes it); a retired one
      // keeps it until the version expires.
      const v = this.versionKeys(orgId, version);
      if ((await this.redis.exists(v.ids, v.meta)) !== 2) {
        throw new SnapshotCursorError(
          'The snapshot this cursor belongs to has been replaced; start again',
        );
      }
    } else {
      version = await this.currentVersion(orgId);
      if (!version) return { items: [], nextCursor: null, version: null };
    }
    const v = this.versionKeys(orgId, version);
    const ids = await this.redis.zrangebylex(
      v.ids,
      after ? `(${after}` : '-',
      '+',
      'LIMIT',
      0,
      options.limit + 1,
    );
    const pageIds = ids.slice(0, options.limit);
    const [rows, groups] = pageIds.length
      ? await Promise.all([
          this.redis.hmget(v.users, ...pageIds),
          this.redis.hmget(v.groups, ...pageIds),
        ])
      : [[], []];
    const items: SnapshotUser[] = [];
    rows.forEach((row, i) => {
      if (row === null) return;
      const user = JSON.parse(row) as StoredUserRow;
      items.push({
        ...user,
        accountEnabled: user.accountEnabled ?? true,
        groupIds: (groups[i] ?? '').split(',').filter(Boolean),
      });
    });
    const last = pageIds[pageIds.length - 1];
    const nextCursor =
      ids.length > options.limit && last
        ? this.cursors.sign(orgId, JSON.stringify({ v: version, a: last } satisfies CursorState))
        : null;
    return { items, nextCursor, version };
  }
}
