import type { Run } from '@pinnacle/domain';
import { RUN_CHANGE_KINDS, runSchema } from '@pinnacle/domain';
import { z } from 'zod';
import { orgKeys, type WriteFence } from './keys.js';
import { luaTrimIndex } from './lua-script.js';
import type { RedisClient } from './redis-client.js';
import { defineScript } from './redis-script.js';
import { assertNotFenced, FENCED, fenceArgs, luaFence } from './write-fence.js';

/** Runs kept per org; older ones fall off the history. */
export const RUN_HISTORY_LIMIT = 200;

/** Keys kept beside a run record (`run:<id><suffix>`), deleted with it: its recorded changes. */
export const RUN_RECORD_SUFFIXES = (() => {
  const k = orgKeys('', '');
  const beside = [k.runChanges('r'), ...RUN_CHANGE_KINDS.map((c) => k.runChangeList('r', c))];
  return beside.map((key) => key.slice(k.run('r').length));
})();

// Records a new run unless the org already has one queued or running,
// trimming the history to `limit` (old runs go with the changes each
// recorded; runPrefix: the run key without its ID).
// Returns {1, json} when created, {0, existingJson} when an active run
// exists, or FENCED.
const createRun = defineScript({
  name: 'createRun',
  keys: ['activeSlot', 'runIndex', 'runKey', 'fence'],
  args: ['runId', 'json', 'createdAtMs', 'limit', 'runPrefix', 'fenced'],
  lua: `
${luaFence('fence', 'fenced')}
local active = redis.call('GET', activeSlot)
if active then
  local existing = redis.call('GET', runPrefix .. active)
  if existing then return {0, existing} end
end
redis.call('SET', runKey, json)
redis.call('SET', activeSlot, runId)
redis.call('ZADD', runIndex, createdAtMs, runId)
${luaTrimIndex('runIndex', 'limit', 'runPrefix', RUN_RECORD_SUFFIXES)}
return {1, json}
`,
  parse: z.union([z.literal(FENCED), z.tuple([z.union([z.literal(0), z.literal(1)]), z.string()])]),
});

// Writes a run; when it has finished, releases the org's active slot if it
// still holds this run. Returns 1, or 0 (nothing written) when the record is
// gone; with once = '1', 2 (nothing written) when the stored run has finished.
const saveRun = defineScript({
  name: 'saveRun',
  keys: ['runKey', 'activeSlot'],
  args: ['json', 'runId', 'finished', 'once'],
  lua: `
local stored = redis.call('GET', runKey)
if not stored then return 0 end
if once == '1' then
  local status = cjson.decode(stored).status
  if status == 'succeeded' or status == 'failed' then return 2 end
end
redis.call('SET', runKey, json)
if finished == '1' and redis.call('GET', activeSlot) == runId then
  redis.call('DEL', activeSlot)
end
return 1
`,
  parse: z.union([z.literal(0), z.literal(1), z.literal(2)]),
});

// Compare-and-delete of the active slot: 1 when it held runId.
const releaseActiveRun = defineScript({
  name: 'releaseActiveRun',
  keys: ['activeSlot'],
  args: ['runId'],
  lua: `
if redis.call('GET', activeSlot) == runId then return redis.call('DEL', activeSlot) end
return 0
`,
  parse: z.union([z.literal(0), z.literal(1)]),
});

export class RunRepository {
  constructor(
    private readonly redis: RedisClient,
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
    const result = await createRun(this.redis, {
      keys: { activeSlot: k.activeRun, runIndex: k.runIndex, runKey: k.run(run.id), fence: f.key },
      args: {
        runId: run.id,
        json,
        createdAtMs: String(Date.parse(run.createdAt)),
        limit: String(RUN_HISTORY_LIMIT),
        runPrefix: k.run(''),
        fenced: f.flag,
      },
    });
    assertNotFenced(result, run.orgId);
    const [created, stored] = result;
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
    return (await this.write(run, false)) === 1;
  }

  /**
   * Saves the run unless its stored record has finished already: of several
   * processes finishing the same run, one save wins. `gone`: its org was
   * offboarded.
   */
  async saveUnlessFinished(run: Run): Promise<'saved' | 'already_finished' | 'gone'> {
    const result = await this.write(run, true);
    return result === 1 ? 'saved' : result === 2 ? 'already_finished' : 'gone';
  }

  private write(run: Run, once: boolean): Promise<0 | 1 | 2> {
    const k = this.keys(run.orgId);
    const finished = run.status === 'succeeded' || run.status === 'failed';
    return saveRun(this.redis, {
      keys: { runKey: k.run(run.id), activeSlot: k.activeRun },
      args: {
        json: JSON.stringify(runSchema.parse(run)),
        runId: run.id,
        finished: finished ? '1' : '0',
        once: once ? '1' : '0',
      },
    });
  }

  /** Frees the active slot if `runId` still holds it (a run whose job was lost). */
  async releaseActive(orgId: string, runId: string): Promise<boolean> {
    const released = await releaseActiveRun(this.redis, {
      keys: { activeSlot: this.keys(orgId).activeRun },
      args: { runId },
    });
    return released === 1;
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
