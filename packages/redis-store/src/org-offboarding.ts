import { orgIdSchema } from '@pinnacle/domain';
import { z } from 'zod';
import { type StoredIntegration, storedIntegrationSchema } from './integration-repository.js';
import { type GlobalKeySpec, globalKeySpace, orgKeyPattern, orgKeys } from './keys.js';
import { type RedisClient, unlinkMatching } from './redis-client.js';
import { defineScript } from './redis-script.js';
import { RUN_RECORD_SUFFIXES } from './run-repository.js';

const SCAN_COUNT = 1000;

// Offboarding's first step: deletes what every fenced write checks (see
// WriteFence), in one step, so no write of work in flight lands after it:
// the integration, every run record (with the changes kept beside it), the
// org's active-run slot and run index. runPrefix: a run's key without its
// ID; suffixes: of the keys kept beside a run record.
// Returns {integration json or '', runs deleted}.
const fenceOrg = defineScript({
  name: 'fenceOrg',
  keys: ['integration', 'activeSlot', 'runIndex'],
  args: ['runPrefix', '...suffixes'],
  lua: `
local record = redis.call('GET', integration) or ''
local runs = redis.call('ZRANGE', runIndex, 0, -1)
for _, id in ipairs(runs) do
  local keys = {runPrefix .. id}
  for _, suffix in ipairs(suffixes) do keys[#keys + 1] = runPrefix .. id .. suffix end
  redis.call('UNLINK', unpack(keys))
end
redis.call('UNLINK', integration, activeSlot, runIndex)
return {record, #runs}
`,
  parse: z.tuple([z.string(), z.number().int()]),
});

export interface FencedOrg {
  /** The integration as it was (null: there was none). */
  integration: StoredIntegration | null;
  /** Run records deleted. */
  runs: number;
}

/**
 * Deleting an org's data: every key under its hash tag, and its entry in
 * every global key of `globalKeySpace`. In two steps, because in-flight
 * work (a sync mid-fetch, a notifier about to write the inbox) may still
 * write: `fence` first deletes, in one script, what each of their writes
 * checks it belongs to (WriteFence), so none lands afterwards; `sweep` then
 * deletes everything else, and may be run again (a no-op when nothing is
 * left). The org's BullMQ jobs and schedule are the caller's (they live
 * under the queue prefix).
 */
export class OrgOffboarding {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async fence(orgId: string): Promise<FencedOrg> {
    const k = orgKeys(this.prefix, checked(orgId));
    const [json, runs] = await fenceOrg(this.redis, {
      keys: { integration: k.integration, activeSlot: k.activeRun, runIndex: k.runIndex },
      args: { runPrefix: k.run(''), suffixes: RUN_RECORD_SUFFIXES },
    });
    return {
      integration: json ? storedIntegrationSchema.parse(JSON.parse(json)) : null,
      runs,
    };
  }

  /**
   * Deletes every key under the org's hash tag (a SCAN of its pattern: on a
   * Cluster they all live in the slot of `{o:<orgId>}`, on the one node that
   * serves it), then the org's entry in every global index and its keys
   * outside the tag. Returns how many keys it deleted.
   */
  async sweep(orgId: string): Promise<{ keys: number }> {
    const id = checked(orgId);
    let deleted = await this.unlinkMatching(orgKeyPattern(this.prefix, id));
    const specs: GlobalKeySpec[] = Object.values(globalKeySpace(this.prefix));
    // One command per index, not a pipeline: on a Cluster each index has a
    // slot of its own, and a pipeline must stay on one node.
    await Promise.all(
      specs.map((spec) => {
        if (spec.kind !== 'org-index') return undefined;
        if (spec.type === 'set') return this.redis.srem(spec.key, id);
        if (spec.type === 'zset') return this.redis.zrem(spec.key, id);
        return this.redis.hdel(spec.key, id);
      }),
    );
    for (const spec of specs) {
      if (spec.kind === 'per-org') deleted += await this.unlinkMatching(spec.match(id));
    }
    return { keys: deleted };
  }

  private unlinkMatching(pattern: string): Promise<number> {
    return unlinkMatching(this.redis, pattern, SCAN_COUNT);
  }
}

/** An org ID as the API validates it: letters, digits, `_` and `-`, so no glob character. */
function checked(orgId: string): string {
  return orgIdSchema.parse(orgId);
}
