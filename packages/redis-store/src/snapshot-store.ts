import { type GraphUser, type SnapshotMeta, snapshotMetaSchema } from '@pinnacle/domain';
import { z } from 'zod';
import type { CursorSigner } from './cursor-signer.js';
import { orgKeys, type WriteFence } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { RUN_CHANGES_LIMIT } from './run-changes-repository.js';
import {
  bucketOfPrefix,
  decodeEntry,
  encodeStagePage,
  SnapshotEncodingError,
  type SnapshotUser,
} from './snapshot-codec.js';
import {
  countLegacyUsers,
  isLegacyVersion,
  legacyVersionKeys,
  readLegacyPage,
  shadowLegacyVersion,
} from './snapshot-legacy.js';
import {
  snapshotBuildBatch,
  snapshotFinishBuild,
  snapshotMarkBuilding,
  snapshotPromote,
  snapshotStagePage,
  snapshotStartPlan,
} from './snapshot-scripts.js';
import { unlinkAll } from './unlink.js';
import { assertNotFenced, fenceArgs } from './write-fence.js';

/** A user as read from Graph, before its groups are attached: the domain's one user model. */
export type StagedUser = GraphUser;

export type { SnapshotUser } from './snapshot-codec.js';

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

/** What one staged page left in the run's version. */
export interface StagedPage {
  /** Users the version holds (every group's, each user once, disabled ones too). */
  stagedUsers: number;
  /**
   * The version holds more than the ceiling asked for: this page may have
   * crossed it, and no later page of the run writes anything.
   */
  overCeiling: boolean;
}

export class SnapshotConflictError extends Error {
  readonly code = 'snapshot_conflict';
  constructor(reason = 'The committed snapshot changed while this run was building its own') {
    super(reason);
    this.name = 'SnapshotConflictError';
  }
}

/** A version being built expires on its own if its worker dies. */
const BUILDING_TTL_SECONDS = 6 * 3600;
/** A replaced version stays readable this long, so paging readers finish on it. */
const RETIRED_VERSION_TTL_SECONDS = 15 * 60;
const MAX_BUCKET_BITS = 14;

/** How versions are cut into buckets. The defaults are the product's; tests shrink them. */
export interface SnapshotLayoutOptions {
  /** A version of n users has 2^bits buckets of this many to twice as many users. Default 256. */
  bucketUsers?: number;
  /** Staging buckets, at least 2^this, so a first sync of any size stays in small pieces. Default 8. */
  minStageBits?: number;
  /** Users one build script call handles, about: Redis serves others in between. Default 2048. */
  batchUsers?: number;
}

/** Bucket bits for a version of `users` users. */
export function bucketBits(users: number, bucketUsers = 256): number {
  if (!(users >= bucketUsers * 2)) return 0;
  return Math.min(MAX_BUCKET_BITS, Math.floor(Math.log2(users / bucketUsers)));
}

/*
 * The compact layout. A version is `2^bits` buckets, each a Redis list of
 * packed user records (snapshot-codec.ts) sorted by user ID, a user's bucket
 * chosen by the first bits of its ID: read in order, the buckets are one list
 * sorted by ID. Lists are listpacks of 8 KB nodes whatever a record's length
 * (unlike small hashes and sorted sets, which leave their compact encoding
 * at 64-byte values or 128 entries), so a user costs its packed bytes and a
 * few bytes more. `layout` (JSON) names the bucket count, the group table
 * (records name groups by index) and the user count; `meta` is written by
 * `promote` and marks the version committed.
 *
 * A run stages into hashes of the same key order (`s:<bucket>`: key → the
 * user's record, its groups merged page by page in Redis, so the worker
 * holds one page);
 * building sorts each staging bucket into the version's buckets and diffs
 * them against the committed version in the same pass, a batch of buckets
 * per script call. Versions from before the compact layout are still read
 * (snapshot-legacy.ts) and diffed against.
 */

const layoutSchema = z.object({
  format: z.literal(2),
  bits: z.number().int().min(0).max(MAX_BUCKET_BITS),
  groups: z.array(z.string()),
  users: z.number().int().min(0),
});
type Layout = z.infer<typeof layoutSchema>;

/** A directory cursor's state: the committed version it reads, and where it is in it. */
const cursorStateSchema = z.union([
  // Compact layout: bucket and offset in it.
  z.strictObject({ v: z.string().min(1), b: z.number().int().min(0), i: z.number().int().min(0) }),
  // Legacy layout: the last user ID returned.
  z.strictObject({ v: z.string().min(1), a: z.string().min(1) }),
]);
type CursorState = z.infer<typeof cursorStateSchema>;

function parseCursorState(payload: string): CursorState | null {
  try {
    const parsed = cursorStateSchema.safeParse(JSON.parse(payload));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  return null;
}

function parseLayout(json: string | null): Layout | null {
  if (json === null) return null;
  return layoutSchema.parse(JSON.parse(json));
}

/** Byte i (1-based) is map[i]: a group-index translation a script applies (bytes, not text). */
function indexMap(map: readonly number[]): Buffer {
  return Buffer.from(map);
}

/**
 * The committed directory snapshot of each org, and the versions syncs
 * build next to it.
 */
export class SnapshotStore {
  /** Bucket bits of the runs this process stages, so a page needs no read first. */
  private readonly stagingBits = new Map<string, number>();
  private readonly layoutOptions: Required<SnapshotLayoutOptions>;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** Authenticates directory cursors (see CursorSigner); the same keys on every api replica. */
    private readonly cursors: CursorSigner,
    options: SnapshotLayoutOptions = {},
  ) {
    this.layoutOptions = { bucketUsers: 256, minStageBits: 8, batchUsers: 2048, ...options };
  }

  private encodeCursor(orgId: string, state: CursorState): string {
    return this.cursors.sign(orgId, JSON.stringify(state));
  }

  /**
   * Authenticated for this org: a cursor cannot be made up or edited to name
   * another version (a run still staging, or one that failed) or position.
   */
  private decodeCursor(orgId: string, cursor: string): CursorState {
    const payload = this.cursors.verify(orgId, cursor);
    const state = payload === null ? null : parseCursorState(payload);
    if (state === null) throw new SnapshotCursorError('The cursor is not one this API issued');
    return state;
  }

  private bitsFor(users: number): number {
    return bucketBits(users, this.layoutOptions.bucketUsers);
  }

  private keys(orgId: string) {
    return orgKeys(this.prefix, orgId);
  }

  private buckets(orgId: string, version: string, bits: number): string[] {
    const k = this.keys(orgId);
    return Array.from({ length: 2 ** bits }, (_, b) => k.snapshotBucket(version, b));
  }

  private stageBuckets(orgId: string, version: string, bits: number): string[] {
    const k = this.keys(orgId);
    return Array.from({ length: 2 ** bits }, (_, b) => k.snapshotStageBucket(version, b));
  }

  private changeKeys(orgId: string, runId: string) {
    const k = this.keys(orgId);
    return {
      summary: k.runChanges(runId),
      lists: [
        k.runChangeList(runId, 'added'),
        k.runChangeList(runId, 'removed'),
        k.runChangeList(runId, 'changed'),
      ] as const,
    };
  }

  private async layout(orgId: string, version: string): Promise<Layout | null> {
    return parseLayout(await this.redis.get(this.keys(orgId).snapshotLayout(version)));
  }

  /** Every key a version (built, staging or legacy) may have. */
  private async versionKeyList(orgId: string, version: string): Promise<string[]> {
    const k = this.keys(orgId);
    const [planBits, layoutJson] = await Promise.all([
      this.redis.hget(k.snapshotStagePlan(version), 'bits'),
      this.redis.get(k.snapshotLayout(version)),
    ]);
    const keys = [k.snapshotStagePlan(version), k.snapshotLayout(version)];
    keys.push(...legacyVersionKeys(k, version));
    if (planBits !== null) keys.push(...this.stageBuckets(orgId, version, Number(planBits)));
    const layout = parseLayout(layoutJson);
    if (layout) keys.push(...this.buckets(orgId, version, layout.bits));
    return keys;
  }

  /**
   * Starts (or restarts, after a crash) a run's version from empty.
   * `groupIds` (the selected groups) fixes the version's group table in
   * order; `expectedUsers` sizes its staging (default: the committed
   * version's size). The run's recorded changes are cleared too. With a
   * fence (the run), throws OrgOffboardedError once that is gone.
   */
  async resetStaging(
    orgId: string,
    runId: string,
    options: { groupIds?: readonly string[]; expectedUsers?: number; fence?: WriteFence } = {},
  ): Promise<void> {
    // A run whose commit already landed (the worker died right after) must
    // never wipe the version that is now live.
    const current = await this.currentVersion(orgId);
    if (current === runId) throw new SnapshotConflictError();
    const k = this.keys(orgId);
    const changes = this.changeKeys(orgId, runId);
    await unlinkAll(this.redis, [
      ...(await this.versionKeyList(orgId, runId)),
      changes.summary,
      ...changes.lists,
    ]);
    const expected = options.expectedUsers ?? (current ? await this.countUsers(orgId, current) : 0);
    const bits = Math.max(this.layoutOptions.minStageBits, this.bitsFor(expected));
    const groups = [...new Set(options.groupIds ?? [])].sort();
    if (groups.length > 255) throw new SnapshotEncodingError('A version holds at most 255 groups');
    const plan: Record<string, string | number> = {
      bits,
      groups: groups.length,
      users: 0,
      disabled: 0,
    };
    groups.forEach((g, i) => {
      plan[`g:${g}`] = i + 1;
    });
    const f = fenceArgs(k, options.fence, k.snapshotStagePlan(runId));
    const started = await snapshotStartPlan(this.redis, {
      keys: { plan: k.snapshotStagePlan(runId), fence: f.key },
      args: { ttl: BUILDING_TTL_SECONDS, fenced: f.flag, fields: Object.entries(plan).flat() },
    });
    assertNotFenced(started, orgId);
    this.rememberStaging(orgId, runId, bits);
  }

  private rememberStaging(orgId: string, runId: string, bits: number | null): void {
    const id = `${orgId}\u0000${runId}`;
    this.stagingBits.delete(id);
    if (bits === null) return;
    // Runs that never build (a crashed fetch) must not pile up here.
    if (this.stagingBits.size >= 1000) {
      const oldest = this.stagingBits.keys().next().value;
      if (oldest !== undefined) this.stagingBits.delete(oldest);
    }
    this.stagingBits.set(id, bits);
  }

  private async stagingBitsOf(orgId: string, runId: string): Promise<number> {
    const known = this.stagingBits.get(`${orgId}\u0000${runId}`);
    if (known !== undefined) return known;
    const bits = await this.redis.hget(this.keys(orgId).snapshotStagePlan(runId), 'bits');
    if (bits === null) throw new SnapshotConflictError('This run has no staging to add to');
    this.rememberStaging(orgId, runId, Number(bits));
    return Number(bits);
  }

  /**
   * Adds one page of a group's members to the run's version. Idempotent:
   * replaying a page changes nothing. Throws SnapshotConflictError when the
   * version is already the committed one, or the run's staging was
   * restarted (or expired, or deleted with its org) since this process
   * staged for it. With `maxUsers`, once the version holds more users than
   * that, pages write nothing more (`overCeiling`): the staging stops within
   * a page of the ceiling.
   */
  async stagePage(
    orgId: string,
    runId: string,
    groupId: string,
    users: StagedUser[],
    options: { maxUsers?: number } = {},
  ): Promise<StagedPage> {
    const k = this.keys(orgId);
    const ceiling = options.maxUsers ?? 0;
    const pageOf = (stagedUsers: number): StagedPage => ({
      stagedUsers,
      overCeiling: ceiling > 0 && stagedUsers > ceiling,
    });
    if (users.length === 0) {
      return pageOf(Number((await this.redis.hget(k.snapshotStagePlan(runId), 'users')) ?? 0));
    }
    const bits = await this.stagingBitsOf(orgId, runId);
    const buckets: string[] = [];
    const pages: Buffer[] = [];
    for (const { bucket, records } of encodeStagePage(users, bits)) {
      buckets.push(k.snapshotStageBucket(runId, bucket));
      pages.push(records);
    }
    const staged = await snapshotStagePage(this.redis, {
      keys: { current: k.snapshotCurrent, plan: k.snapshotStagePlan(runId), buckets },
      args: { ttl: BUILDING_TTL_SECONDS, version: runId, groupId, bits, ceiling, pages },
    });
    if (staged === -1) throw new SnapshotConflictError();
    if (staged === -2) {
      this.rememberStaging(orgId, runId, null);
      throw new SnapshotConflictError("This run's staging was restarted or has expired");
    }
    if (staged === -3) throw new SnapshotEncodingError('A version holds at most 255 groups');
    return pageOf(staged);
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
    const layout = await this.layout(orgId, v);
    if (layout) return layout.users;
    return countLegacyUsers(this.redis, this.keys(orgId), v);
  }

  /**
   * Finishes the run's version (leaving out disabled accounts unless asked)
   * and diffs it against the committed one, a batch of buckets at a time
   * inside Redis, recording the first RUN_CHANGES_LIMIT users of each kind
   * of change for the run. The version is not visible until `promote`.
   * Called again (the committed version moved meanwhile), it re-diffs the
   * built version against the new one. With a fence (the run), throws
   * OrgOffboardedError once that is gone: what the build wrote until then
   * is the caller's to discard (with its changes).
   */
  async buildVersion(
    orgId: string,
    runId: string,
    options: { includeDisabledUsers: boolean; fence?: WriteFence },
  ): Promise<SnapshotDiff & { baseVersion: string | null }> {
    const k = this.keys(orgId);
    const fence = fenceArgs(k, options.fence, k.snapshotStagePlan(runId));
    const [plan, built, baseVersion] = await Promise.all([
      this.redis.hgetall(k.snapshotStagePlan(runId)),
      this.layout(orgId, runId),
      this.currentVersion(orgId),
    ]);
    let source: { mode: 's' | 'f'; bits: number; users: number };
    let finalBits: number;
    let groupTable: string[];
    let remap: Buffer | '' = '';
    if (built) {
      source = { mode: 'f', bits: built.bits, users: built.users };
      finalBits = built.bits;
      groupTable = built.groups;
    } else {
      // No plan: never staged, expired, or a build died half-way through
      // consuming it. Only a fresh fetch can tell who the users are.
      if (plan.bits === undefined || plan.building !== undefined) {
        throw new SnapshotConflictError('This run has no complete staging to build from');
      }
      const staged = Number(plan.users);
      const kept = options.includeDisabledUsers ? staged : staged - Number(plan.disabled);
      source = { mode: 's', bits: Number(plan.bits), users: staged };
      finalBits = this.bitsFor(kept);
      const arrival = Object.entries(plan)
        .filter(([field]) => field.startsWith('g:'))
        .map(([field, index]) => ({ id: field.slice(2), index: Number(index) }));
      groupTable = arrival.map((g) => g.id).sort();
      const canonical = new Map(groupTable.map((g, i) => [g, i + 1]));
      const map = new Array<number>(arrival.length).fill(0);
      let identity = true;
      for (const g of arrival) {
        const to = canonical.get(g.id) as number;
        map[g.index - 1] = to;
        if (to !== g.index) identity = false;
      }
      if (!identity) remap = indexMap(map);
      const marked = await snapshotMarkBuilding(this.redis, {
        keys: { plan: k.snapshotStagePlan(runId), fence: fence.key },
        args: { fenced: fence.flag },
      });
      assertNotFenced(marked, orgId);
      if (marked !== 1) {
        throw new SnapshotConflictError('This run has no complete staging to build from');
      }
    }

    // The version this one replaces, as a sorted stream of compact records.
    let old: { bits: number; keys: string[]; users: number; translate: Buffer | '' } | null = null;
    let shadowKeys: string[] = [];
    if (baseVersion) {
      const baseLayout = await this.layout(orgId, baseVersion);
      if (baseLayout) {
        const index = new Map(groupTable.map((g, i) => [g, i + 1]));
        const map = baseLayout.groups.map((g) => index.get(g) ?? 0);
        const same = map.length === groupTable.length && map.every((to, i) => to === i + 1);
        old = {
          bits: baseLayout.bits,
          keys: this.buckets(orgId, baseVersion, baseLayout.bits),
          users: baseLayout.users,
          translate: same ? '' : indexMap(map),
        };
      } else if (await isLegacyVersion(this.redis, k, baseVersion)) {
        const users = await countLegacyUsers(this.redis, k, baseVersion);
        const bits = this.bitsFor(users);
        const shadow = await shadowLegacyVersion(this.redis, k, baseVersion, {
          groupTable,
          bits,
          ttlSeconds: BUILDING_TTL_SECONDS,
        });
        shadowKeys = shadow.keys;
        old = { bits, keys: shadow.keys, users: shadow.users, translate: '' };
      }
    }

    const changes = this.changeKeys(orgId, runId);
    await this.redis.unlink(changes.summary, ...changes.lists);
    const sources =
      source.mode === 's'
        ? this.stageBuckets(orgId, runId, source.bits)
        : this.buckets(orgId, runId, finalBits);
    const finals = this.buckets(orgId, runId, finalBits);
    const unitBits = Math.min(source.bits, finalBits);
    const units = 2 ** unitBits;
    const perUnit = Math.max(1, source.users / units);
    const unitsPerBatch = Math.max(1, Math.floor(this.layoutOptions.batchUsers / perUnit));
    const totals = { users: 0, added: 0, removed: 0, changed: 0 };
    let oldBucket = 0;
    let oldOffset = 0;
    for (let u0 = 0; u0 < units; u0 += unitsPerBatch) {
      const u1 = Math.min(units, u0 + unitsPerBatch);
      const end = u1 * 2 ** (32 - unitBits);
      const perSource = 2 ** (source.bits - unitBits);
      const perFinal = 2 ** (finalBits - unitBits);
      const batchSources = sources.slice(u0 * perSource, u1 * perSource);
      const batchFinals = source.mode === 's' ? finals.slice(u0 * perFinal, u1 * perFinal) : [];
      let oldKeys: string[] = [];
      if (old) {
        const last = Math.min(old.keys.length - 1, bucketOfPrefix(end - 1, old.bits));
        oldKeys = old.keys.slice(oldBucket, last + 1);
      }
      const [addedList, removedList, changedList] = changes.lists;
      const [users, added, removed, changed, passed, offset] = await snapshotBuildBatch(
        this.redis,
        {
          keys: {
            addedList,
            removedList,
            changedList,
            sources: batchSources,
            finals: batchFinals,
            oldBuckets: oldKeys,
          },
          args: {
            mode: source.mode,
            keepDisabled: options.includeDisabledUsers ? '1' : '0',
            ttl: BUILDING_TTL_SECONDS,
            bits: finalBits,
            firstBucket: u0 * perFinal,
            batchEnd: end,
            oldOffset,
            remap,
            translate: old?.translate ?? '',
            cap: RUN_CHANGES_LIMIT,
          },
        },
      );
      totals.users += users;
      totals.added += added;
      totals.removed += removed;
      totals.changed += changed;
      oldBucket += passed;
      oldOffset = offset;
    }

    const layout: Layout | null =
      source.mode === 's'
        ? { format: 2, bits: finalBits, groups: groupTable, users: totals.users }
        : null;
    const summary = {
      base: baseVersion ?? '',
      added: totals.added,
      removed: totals.removed,
      changed: totals.changed,
      applied: 0,
      limit: RUN_CHANGES_LIMIT,
    };
    const finished = await snapshotFinishBuild(this.redis, {
      keys: {
        layout: k.snapshotLayout(runId),
        plan: k.snapshotStagePlan(runId),
        summary: changes.summary,
        fence: fence.key,
      },
      args: {
        fenced: fence.flag,
        ttl: BUILDING_TTL_SECONDS,
        json: layout ? JSON.stringify(layout) : '',
        fields: Object.entries(summary).flat(),
      },
    });
    if (shadowKeys.length > 0) await unlinkAll(this.redis, shadowKeys);
    assertNotFenced(finished, orgId);
    this.rememberStaging(orgId, runId, null);
    return {
      baseVersion,
      users: totals.users,
      added: totals.added,
      changed: totals.changed,
      removed: totals.removed,
      previousUsers: old?.users ?? 0,
    };
  }

  /**
   * Makes the built version the committed one, atomically, with its meta
   * (the run's counts). With a fence (the run), throws OrgOffboardedError,
   * swapping nothing, once that is gone.
   */
  async promote(
    orgId: string,
    runId: string,
    baseVersion: string | null,
    meta: Omit<SnapshotMeta, 'runId'> = {},
    options: { fence?: WriteFence } = {},
  ): Promise<void> {
    const k = this.keys(orgId);
    const layout = await this.layout(orgId, runId);
    if (!layout) throw new SnapshotConflictError('This run has no built version to promote');
    const newBuckets = this.buckets(orgId, runId, layout.bits);
    const oldKeys: string[] = [];
    if (baseVersion) {
      const baseLayout = await this.layout(orgId, baseVersion);
      oldKeys.push(k.snapshotLayout(baseVersion), k.snapshotMeta(baseVersion));
      if (baseLayout) oldKeys.push(...this.buckets(orgId, baseVersion, baseLayout.bits));
      else oldKeys.push(...legacyVersionKeys(k, baseVersion));
    }
    const fence = fenceArgs(k, options.fence, k.snapshotCurrent);
    const ok = await snapshotPromote(this.redis, {
      keys: {
        current: k.snapshotCurrent,
        layout: k.snapshotLayout(runId),
        meta: k.snapshotMeta(runId),
        summary: k.runChanges(runId),
        newBuckets,
        oldKeys,
        fence: fence.key,
      },
      args: {
        expected: baseVersion ?? '',
        version: runId,
        retiredTtl: RETIRED_VERSION_TTL_SECONDS,
        metaJson: JSON.stringify(snapshotMetaSchema.parse({ ...meta, runId })),
        fenced: fence.flag,
      },
    });
    assertNotFenced(ok, orgId);
    if (ok !== 1) throw new SnapshotConflictError();
  }

  /**
   * Drops what a run staged and built (a run that stops without
   * committing); never the current version. The run's recorded changes stay
   * (for a run stopped by the mass-removal guard, they are who it would have
   * removed) unless `withChanges` (a run whose org was offboarded: nothing of
   * it may stay).
   */
  async discard(
    orgId: string,
    runId: string,
    options: { withChanges?: boolean } = {},
  ): Promise<void> {
    if ((await this.currentVersion(orgId)) === runId) return;
    const keys = await this.versionKeyList(orgId, runId);
    if (options.withChanges) {
      const changes = this.changeKeys(orgId, runId);
      keys.push(changes.summary, ...changes.lists);
    }
    await unlinkAll(this.redis, keys);
    this.rememberStaging(orgId, runId, null);
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
    const state = options.cursor ? this.decodeCursor(orgId, options.cursor) : null;
    const version = state ? state.v : await this.currentVersion(orgId);
    if (!version) return { items: [], nextCursor: null, version: null };
    const [layoutJson, committed, legacy] = await Promise.all([
      this.redis.get(k.snapshotLayout(version)),
      this.redis.exists(k.snapshotMeta(version)),
      isLegacyVersion(this.redis, k, version),
    ]);
    const layout = parseLayout(layoutJson);
    // Only a committed version has meta (promote writes it); a retired one
    // keeps it until the version expires.
    const readable = state === null || (committed === 1 && ('a' in state ? legacy : layout));
    if (!readable) {
      throw new SnapshotCursorError(
        'The snapshot this cursor belongs to has been replaced; start again',
      );
    }
    if (!layout) {
      // The version predates the compact layout.
      const after = state && 'a' in state ? state.a : '';
      const page = await readLegacyPage(this.redis, k, version, after, options.limit);
      const nextCursor =
        page.more && page.last ? this.encodeCursor(orgId, { v: version, a: page.last }) : null;
      return { items: page.items, nextCursor, version };
    }
    const bucketCount = 2 ** layout.bits;
    let bucket = state && 'b' in state ? state.b : 0;
    let offset = state && 'i' in state ? state.i : 0;
    if (bucket >= bucketCount)
      throw new SnapshotCursorError('The cursor is not one this API issued');
    // Enough buckets per round trip for a page, on average, and one more.
    const ahead = Math.max(
      1,
      Math.ceil((options.limit + 1) / Math.max(1, layout.users / bucketCount)) + 1,
    );
    const entries: Buffer[] = [];
    let next: { b: number; i: number } | null = null;
    // Reads on until the page is full and one more entry shows there is a
    // next page (it may be the first of a later bucket).
    while (bucket < bucketCount && next === null) {
      const room = options.limit - entries.length;
      const reads = this.redis.pipeline();
      const batch: number[] = [];
      for (let b = bucket; b < Math.min(bucketCount, bucket + ahead); b++) {
        const from = b === bucket ? offset : 0;
        reads.lrangeBuffer(k.snapshotBucket(version, b), from, from + room);
        batch.push(b);
      }
      const replies = (await reads.exec()) ?? [];
      for (const [j, b] of batch.entries()) {
        const [error, rows] = replies[j] ?? [null, []];
        if (error) throw error;
        const from = b === bucket ? offset : 0;
        const list = rows as Buffer[];
        const left = options.limit - entries.length;
        entries.push(...list.slice(0, left));
        if (list.length > left) {
          next = { b, i: from + left };
          break;
        }
      }
      bucket = (batch.at(-1) ?? bucket) + 1;
      offset = 0;
    }
    const items = entries.map((e) => decodeEntry(e, layout.groups));
    return {
      items,
      nextCursor: next ? this.encodeCursor(orgId, { v: version, b: next.b, i: next.i }) : null,
      version,
    };
  }
}
