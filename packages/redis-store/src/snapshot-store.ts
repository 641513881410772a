import type { Redis } from 'ioredis';
import { orgKeys } from './keys.js';

/** A user as staged from Graph (before group IDs are attached). */
export interface StagedUser {
  id: string;
  displayName: string | null;
  mail: string | null;
  userPrincipalName: string | null;
  accountEnabled: boolean | null;
}

/** A committed directory user: the shape the API serves. */
export interface SnapshotUser extends StagedUser {
  groupIds: string[];
}

export interface SnapshotDiff {
  users: number;
  added: number;
  changed: number;
  removed: number;
  /** Users in the committed snapshot before this one. */
  previousUsers: number;
}

export class SnapshotCursorError extends Error {
  readonly code = 'cursor_invalid';
  constructor(reason: string) {
    super(reason);
    this.name = 'SnapshotCursorError';
  }
}

export class SnapshotConflictError extends Error {
  readonly code = 'snapshot_conflict';
  constructor() {
    super('The committed snapshot changed while this run was building its own');
    this.name = 'SnapshotConflictError';
  }
}

/** Staging and half-built versions expire on their own if a worker dies. */
const STAGING_TTL_SECONDS = 6 * 3600;
/** A replaced version stays readable this long, so paging readers finish on it. */
const RETIRED_VERSION_TTL_SECONDS = 15 * 60;
const BUILD_CHUNK = 1000;

// Adds one page of a group's members to staging. Idempotent: replaying a
// page (a retried request) changes nothing. KEYS: users, groups. ARGV: ttl,
// groupId, then id/json pairs.
const STAGE_PAGE = `
local ttl = tonumber(ARGV[1])
local gid = ARGV[2]
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  redis.call('HSET', KEYS[1], id, ARGV[i + 1])
  local g = redis.call('HGET', KEYS[2], id)
  if not g then
    redis.call('HSET', KEYS[2], id, gid)
  elseif not string.find(',' .. g .. ',', ',' .. gid .. ',', 1, true) then
    redis.call('HSET', KEYS[2], id, g .. ',' .. gid)
  end
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return #ARGV / 2 - 1
`;

// Writes one chunk of the new version and diffs it against the current one.
// ZADD's answer makes a user seen twice (HSCAN may repeat) count once.
// KEYS: newUsers, newIds, currentUsers (may not exist). ARGV: ttl, id/json pairs.
const BUILD_CHUNK_SCRIPT = `
local added, changed, matched = 0, 0, 0
for i = 2, #ARGV, 2 do
  local id, json = ARGV[i], ARGV[i + 1]
  if redis.call('ZADD', KEYS[2], 0, id) == 1 then
    redis.call('HSET', KEYS[1], id, json)
    local old = redis.call('HGET', KEYS[3], id)
    if not old then added = added + 1
    else
      matched = matched + 1
      if old ~= json then changed = changed + 1 end
    end
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return {added, changed, matched}
`;

// Swaps the current pointer to the new version if nobody else committed in
// between. One SET is the swap: readers see the old version or the new one.
// KEYS: current, newUsers, newIds, newMeta, oldUsers, oldIds, oldMeta,
// stagingUsers, stagingGroups. ARGV: expected old version ('' for none),
// new version, retired ttl, meta json.
const PROMOTE = `
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[4], ARGV[4])
redis.call('PERSIST', KEYS[2])
redis.call('PERSIST', KEYS[3])
redis.call('SET', KEYS[1], ARGV[2])
if cur ~= '' and cur ~= ARGV[2] then
  redis.call('EXPIRE', KEYS[5], ARGV[3])
  redis.call('EXPIRE', KEYS[6], ARGV[3])
  redis.call('EXPIRE', KEYS[7], ARGV[3])
end
redis.call('DEL', KEYS[8], KEYS[9])
return 1
`;

/** Canonical JSON: a fixed key order and sorted group IDs, so equal users compare equal as strings. */
export function serializeSnapshotUser(user: SnapshotUser): string {
  return JSON.stringify({
    id: user.id,
    displayName: user.displayName,
    mail: user.mail,
    userPrincipalName: user.userPrincipalName,
    accountEnabled: user.accountEnabled,
    groupIds: [...user.groupIds].sort(),
  });
}

interface CursorState {
  v: string;
  a: string;
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): CursorState {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
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
  throw new SnapshotCursorError('The cursor is not one this API issued');
}

/**
 * The committed directory snapshot of each org, and the staging area a sync
 * streams Graph pages into. Nothing here holds a whole tenant in memory: the
 * build walks staging in chunks.
 */
export class SnapshotStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(orgId: string) {
    return orgKeys(this.prefix, orgId);
  }

  /** Starts (or restarts, after a crash) a run's staging from empty. */
  async resetStaging(orgId: string, runId: string): Promise<void> {
    const k = this.keys(orgId);
    // A run whose commit already landed (the worker died right after) must
    // never wipe the version that is now live.
    if ((await this.currentVersion(orgId)) === runId) {
      throw new SnapshotConflictError();
    }
    await this.redis.del(
      k.stagingUsers(runId),
      k.stagingGroups(runId),
      k.snapshotUsers(runId),
      k.snapshotIds(runId),
      k.snapshotMeta(runId),
    );
  }

  async stagePage(
    orgId: string,
    runId: string,
    groupId: string,
    users: StagedUser[],
  ): Promise<void> {
    if (users.length === 0) return;
    const k = this.keys(orgId);
    const args: string[] = [String(STAGING_TTL_SECONDS), groupId];
    for (const u of users) {
      args.push(
        u.id,
        JSON.stringify({
          id: u.id,
          displayName: u.displayName,
          mail: u.mail,
          userPrincipalName: u.userPrincipalName,
          accountEnabled: u.accountEnabled,
        }),
      );
    }
    await this.redis.eval(STAGE_PAGE, 2, k.stagingUsers(runId), k.stagingGroups(runId), ...args);
  }

  async currentVersion(orgId: string): Promise<string | null> {
    return this.redis.get(this.keys(orgId).snapshotCurrent);
  }

  /** What `promote` recorded about a committed version (its run's stats). */
  async versionMeta(orgId: string, version: string): Promise<Record<string, unknown> | null> {
    const json = await this.redis.get(this.keys(orgId).snapshotMeta(version));
    return json ? (JSON.parse(json) as Record<string, unknown>) : null;
  }

  async countUsers(orgId: string, version?: string | null): Promise<number> {
    const v = version === undefined ? await this.currentVersion(orgId) : version;
    if (!v) return 0;
    return this.redis.zcard(this.keys(orgId).snapshotIds(v));
  }

  /**
   * Builds the new version from staging (filtering with `include`) and diffs
   * it against the committed one. The new version is not visible until
   * `promote`.
   */
  async buildVersion(
    orgId: string,
    runId: string,
    include: (user: SnapshotUser) => boolean,
  ): Promise<SnapshotDiff & { baseVersion: string | null }> {
    const k = this.keys(orgId);
    const baseVersion = await this.currentVersion(orgId);
    const previousUsers = await this.countUsers(orgId, baseVersion);
    const currentUsersKey = k.snapshotUsers(baseVersion ?? '__none__');
    await this.redis.del(k.snapshotUsers(runId), k.snapshotIds(runId));
    let added = 0;
    let changed = 0;
    let matched = 0;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(
        k.stagingUsers(runId),
        cursor,
        'COUNT',
        BUILD_CHUNK,
      );
      cursor = next;
      if (flat.length === 0) continue;
      const ids: string[] = [];
      for (let i = 0; i < flat.length; i += 2) ids.push(flat[i] as string);
      const groups = await this.redis.hmget(k.stagingGroups(runId), ...ids);
      const args: string[] = [String(STAGING_TTL_SECONDS)];
      for (let i = 0; i < ids.length; i++) {
        const staged = JSON.parse(flat[i * 2 + 1] as string) as StagedUser;
        const user: SnapshotUser = {
          ...staged,
          groupIds: (groups[i] ?? '').split(',').filter(Boolean),
        };
        if (!include(user)) continue;
        args.push(user.id, serializeSnapshotUser(user));
      }
      if (args.length === 1) continue;
      const [a, c, m] = (await this.redis.eval(
        BUILD_CHUNK_SCRIPT,
        3,
        k.snapshotUsers(runId),
        k.snapshotIds(runId),
        currentUsersKey,
        ...args,
      )) as [number, number, number];
      added += a;
      changed += c;
      matched += m;
    } while (cursor !== '0');
    const users = await this.redis.zcard(k.snapshotIds(runId));
    return { baseVersion, users, added, changed, removed: previousUsers - matched, previousUsers };
  }

  /** Makes the built version the committed one, atomically. */
  async promote(
    orgId: string,
    runId: string,
    baseVersion: string | null,
    meta: Record<string, unknown>,
  ): Promise<void> {
    const k = this.keys(orgId);
    const old = baseVersion ?? '__none__';
    const ok = await this.redis.eval(
      PROMOTE,
      9,
      k.snapshotCurrent,
      k.snapshotUsers(runId),
      k.snapshotIds(runId),
      k.snapshotMeta(runId),
      k.snapshotUsers(old),
      k.snapshotIds(old),
      k.snapshotMeta(old),
      k.stagingUsers(runId),
      k.stagingGroups(runId),
      baseVersion ?? '',
      runId,
      String(RETIRED_VERSION_TTL_SECONDS),
      JSON.stringify(meta),
    );
    if (ok !== 1) throw new SnapshotConflictError();
  }

  /** Drops what a run staged or built (a run that stops without committing). */
  async discard(orgId: string, runId: string): Promise<void> {
    const k = this.keys(orgId);
    const current = await this.currentVersion(orgId);
    const doomed = [k.stagingUsers(runId), k.stagingGroups(runId)];
    if (current !== runId)
      doomed.push(k.snapshotUsers(runId), k.snapshotIds(runId), k.snapshotMeta(runId));
    await this.redis.del(...doomed);
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
    const k = this.keys(orgId);
    let version: string | null;
    let after = '';
    if (options.cursor) {
      const state = decodeCursor(options.cursor);
      version = state.v;
      after = state.a;
      if ((await this.redis.exists(k.snapshotIds(version))) === 0) {
        throw new SnapshotCursorError(
          'The snapshot this cursor belongs to has been replaced; start again',
        );
      }
    } else {
      version = await this.currentVersion(orgId);
      if (!version) return { items: [], nextCursor: null, version: null };
    }
    const ids = await this.redis.zrangebylex(
      k.snapshotIds(version),
      after ? `(${after}` : '-',
      '+',
      'LIMIT',
      0,
      options.limit + 1,
    );
    const pageIds = ids.slice(0, options.limit);
    const rows = pageIds.length ? await this.redis.hmget(k.snapshotUsers(version), ...pageIds) : [];
    const items = rows
      .filter((r): r is string => r !== null)
      .map((r) => JSON.parse(r) as SnapshotUser);
    const last = pageIds[pageIds.length - 1];
    const nextCursor =
      ids.length > options.limit && last ? encodeCursor({ v: version, a: last }) : null;
    return { items, nextCursor, version };
  }
}
