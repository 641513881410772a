import {
  type GroupSighting,
  type SelectedGroup,
  selectedGroupSchema,
  uncheckedGroup,
} from '@pinnacle/domain';
import { z } from 'zod';
import { orgKeys, type WriteFence } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { defineScript } from './redis-script.js';
import { assertNotFenced, FENCED, fenceArgs, luaFence } from './write-fence.js';

/** One hash field's value: a selected group's record without its ID (the field). */
const storedSchema = selectedGroupSchema.omit({ id: true });

// Records one preflight's group check. Found groups take the name seen and
// the check's time; missing ones keep the name and time last seen; groups no
// longer selected (not in the check) are dropped. checked: JSON [{id,
// displayName, missing}]. Returns 1, or FENCED.
const recordGroupCheck = defineScript({
  name: 'recordGroupCheck',
  keys: ['groups', 'fence'],
  args: ['checkedAt', 'checked', 'fenced'],
  lua: `
${luaFence('fence', 'fenced')}
local keep = {}
for _, g in ipairs(cjson.decode(checked)) do
  keep[g.id] = true
  local name, seen = g.displayName, checkedAt
  if g.missing then
    name, seen = cjson.null, cjson.null
    local prev = redis.call('HGET', groups, g.id)
    if prev then
      local p = cjson.decode(prev)
      name, seen = p.displayName, p.lastSeenAt
    end
  end
  redis.call('HSET', groups, g.id, cjson.encode({displayName = name, lastSeenAt = seen, missing = g.missing}))
end
for _, id in ipairs(redis.call('HKEYS', groups)) do
  if not keep[id] then redis.call('HDEL', groups, id) end
end
return 1
`,
  parse: z.union([z.literal(1), z.literal(FENCED)]),
});

/**
 * Each org's selected groups as preflights last saw them (name, when seen,
 * missing), so the overview can name them. One hash per org under the
 * org's hash tag; every preflight that checks the groups updates it.
 */
export class SelectedGroupRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(orgId: string): string {
    return orgKeys(this.prefix, orgId).selectedGroups;
  }

  /**
   * Records what one preflight saw of the selected groups (all of them,
   * found or missing). With a fence (the run whose preflight it was), throws
   * OrgOffboardedError once that is gone, writing nothing.
   */
  async recordCheck(
    orgId: string,
    checkedAt: Date,
    groups: readonly GroupSighting[],
    fence?: WriteFence,
  ): Promise<void> {
    const sightings = z
      .array(selectedGroupSchema.pick({ id: true, displayName: true, missing: true }))
      .parse(groups)
      .map((g) => ({
        ...g,
        id: g.id.toLowerCase(),
        displayName: g.missing ? null : g.displayName,
      }));
    const k = orgKeys(this.prefix, orgId);
    const f = fenceArgs(k, fence, k.selectedGroups);
    const result = await recordGroupCheck(this.redis, {
      keys: { groups: k.selectedGroups, fence: f.key },
      args: {
        checkedAt: checkedAt.toISOString(),
        checked: JSON.stringify(sightings),
        fenced: f.flag,
      },
    });
    assertNotFenced(result, orgId);
  }

  /**
   * The given groups (the settings' selection, in its order) as last seen;
   * a group no preflight has checked yet has no name and no time.
   */
  async list(orgId: string, groupIds: readonly string[]): Promise<SelectedGroup[]> {
    if (groupIds.length === 0) return [];
    const rows = await this.redis.hmget(this.key(orgId), ...groupIds.map((id) => id.toLowerCase()));
    return groupIds.map((id, i) => {
      const stored = parseStored(rows[i] ?? null);
      return stored ? { id, ...stored } : uncheckedGroup(id);
    });
  }
}

/** A field's value, or null when absent or unreadable (then the group reads as unchecked). */
function parseStored(raw: string | null): z.infer<typeof storedSchema> | null {
  if (!raw) return null;
  try {
    const parsed = storedSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
