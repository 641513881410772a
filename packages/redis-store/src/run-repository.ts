import type { Run } from '@pinnacle/domain';
import { RUN_CHANGE_KINDS, runSchema } from '@pinnacle/domain';
import type { Redis } from 'ioredis';
import { orgKeys, type WriteFence } from './keys.js';
import { LuaScript, luaTrimIndex } from './lua-script.js';
import { assertNotFenced, fenceArgs, luaFence } from './write-fence.js';

/** Runs kept per org; older ones fall off the history. */
export const RUN_HISTORY_LIMIT = 200;

/** Keys kept beside a run record (`run:<id><suffix>`), deleted with it: its recorded changes. */
export const RUN_RECORD_SUFFIXES = (() => {
  const k = orgKeys('', '');
  const beside = [k.runChanges('r'), ...RUN_CHANGE_KINDS.map((c) => k.runChangeList('r', c))];
  return beside.map((key) => key.slice(k.run('r').length));
})();

// Records a new run unless the org already has one queued or running.
// KEYS: active, runIndex, newRunKey, fence. ARGV: runId, json, createdAtMs,
// limit, run key prefix (for trimming old runs, with the changes each
// recorded), fenced (1|0).
// Returns {1, json} when created, {0, existingJson} when an active run exists.
const CREATE_RUN = new LuaScript(`
${luaFence('KEYS[4]', 'ARGV[6]')}
local active = redis.call('GET', KEYS[1])
if active then
  local existing = redis.call('GET', ARGV[5] .. active)
  if existing then return {0, existing} end
end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
${luaTrimIndex('KEYS[2]', 'ARGV[4]', 'ARGV[5]', RUN_RECORD_SUFFIXES)}
return {1, ARGV[2]}
`);

// Writes a run; when it has finished, releases the org's active slot if it
// still holds this run. KEYS: runKey, active. ARGV: json, runId, finished(0|1).
const SAVE_RUN = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[3] == '1' and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('DEL', KEYS[2])
end
return 1
`);

// Compare-and-delete of the active slot. KEYS: active. ARGV: runId.
const RELEASE_ACTIVE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export class RunRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(orgId: string) {
    return orgKeys(this.prefix, orgId);
  }

  /**
   * Records `run` as the org's active run, or returns the run already queued
   * or running (one run per org at a time). With a fence (a scheduled run:
   * the integration whose schedule made it), throws OrgOffboardedError once
   * that is gone, recording nothing.
   */
  async createIfIdle(
    run: Run,
    options: { fence?: WriteFence } = {},
  ): Promise<{ created: boolean; run: Run }> {
    const k = this.keys(run.orgId);
    const json = JSON.stringify(runSchema.parse(run));
    const f = fenceArgs(k, options.fence, k.activeRun);
    const result = await CREATE_RUN.run(
      this.redis,
      [k.activeRun, k.runIndex, k.run(run.id), f.key],
      [
        run.id,
        json,
        String(Date.parse(run.createdAt)),
        String(RUN_HISTORY_LIMIT),
        k.run(''),
        f.flag,
      ],
    );
    assertNotFenced(result, run.orgId);
    const [created, stored] = result as [number, string];
    return { created: created === 1, run: runSchema.parse(JSON.parse(stored)) };
  }

  /** Whether the run's record exists: the fence of everything the run writes. */
  async exists(orgId: string, runId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys(orgId).run(runId))) === 1;
  }

  async get(orgId: string, runId: string): Promise<Run | null> {
    const json = await this.redis.get(this.keys(orgId).run(runId));
    return json ? runSchema.parse(JSON.parse(json)) : null;
  }

  async activeRunId(orgId: string): Promise<string | null> {
    return this.redis.get(this.keys(orgId).activeRun);
  }

  /**
   * Saves the run; a finished run frees the org for the next one. False
   * (nothing written) when the record is gone: its org was offboarded.
   */
  async save(run: Run): Promise<boolean> {
    const k = this.keys(run.orgId);
    const finished = run.status === 'succeeded' || run.status === 'failed';
    const saved = await SAVE_RUN.run(
      this.redis,
      [k.run(run.id), k.activeRun],
      [JSON.stringify(runSchema.parse(run)), run.id, finished ? '1' : '0'],
    );
    return saved === 1;
  }

  /** Frees the active slot if `runId` still holds it (a run whose job was lost). */
  async releaseActive(orgId: string, runId: string): Promise<boolean> {
    return (await RELEASE_ACTIVE.run(this.redis, [this.keys(orgId).activeRun], [runId])) === 1;
  }

  /**
   * Newest first. The cursor names the last run seen, so runs recorded while
   * a client pages do not shift what it sees next.
   */
  async list(
    orgId: string,
    options: { limit: number; cursor?: string | undefined },
  ): Promise<{ items: Run[]; nextCursor: string | null }> {
    const k = this.keys(orgId);
    let start = 0;
    if (options.cursor) {
      const afterId = Buffer.from(options.cursor, 'base64url').toString('utf8');
      const rank = await this.redis.zrevrank(k.runIndex, afterId);
      if (rank === null) return { items: [], nextCursor: null };
      start = rank + 1;
    }
    const ids = await this.redis.zrevrange(k.runIndex, start, start + options.limit);
    const pageIds = ids.slice(0, options.limit);
    const rows = pageIds.length ? await this.redis.mget(...pageIds.map((id) => k.run(id))) : [];
    const items = rows
      .filter((r): r is string => r !== null)
      .map((r) => runSchema.parse(JSON.parse(r)));
    const last = pageIds[pageIds.length - 1];
    return {
      items,
      nextCursor:
        ids.length > options.limit && last ? Buffer.from(last, 'utf8').toString('base64url') : null,
    };
  }

  /** The newest run that matches, scanning the bounded history. */
  async findLatest(orgId: string, predicate: (run: Run) => boolean): Promise<Run | null> {
    let cursor: string | undefined;
    do {
      const page = await this.list(orgId, { limit: 50, cursor });
      const hit = page.items.find(predicate);
      if (hit) return hit;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return null;
  }
}
