import {
  FAILURE_CODES,
  type FailureCode,
  type FleetCounts,
  type FleetRecord,
  fleetHealthPatch,
  fleetRecordSchema,
  type HealthStatus,
  healthStatusSchema,
  type IntegrationHealth,
  STALE_AFTER_INTERVALS,
} from '@pinnacle/domain';
import { z } from 'zod';
import { fenceKey, fleetKeys, globalKeys, orgKeys, type WriteFence } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { defineScript } from './redis-script.js';
import { OrgOffboardedError } from './write-fence.js';

const STATUSES = healthStatusSchema.options;

// Merges a patch into an org's fleet record and moves the org between the
// filter indexes, atomically. Health fields are taken only from a run not
// older than the one recorded (hand-offs of retried attempts come late);
// the schedule's interval from whoever sends it. Every key is passed in
// KEYS and shares the {fleet} tag: one status index per entry of
// `statuses` (JSON), one code index per entry of `codes` (JSON).
const fleetUpdate = defineScript({
  name: 'fleetUpdate',
  keys: ['entries', 'all', 'staleAt', '...statusIndexes', '...codeIndexes'],
  args: ['orgId', 'patch', 'now', 'staleAfterIntervals', 'statuses', 'codes'],
  lua: `
local change = cjson.decode(patch)
local null = cjson.null
local raw = redis.call('HGET', entries, orgId)
local rec
if raw then
  rec = cjson.decode(raw)
else
  rec = { status = 'unknown', failureCode = null, failingSince = null, lastRunAt = null,
          lastSuccessAt = null, scheduleIntervalMs = null, registeredAt = tonumber(now),
          staleAt = null }
end
if change.status ~= nil then
  local held, incoming = rec.lastRunAt, change.lastRunAt
  if held == null or (incoming ~= null and incoming >= held) then
    rec.status = change.status
    rec.failureCode = change.failureCode
    rec.failingSince = change.failingSince
    rec.lastRunAt = incoming
    rec.lastSuccessAt = change.lastSuccessAt
  end
end
if change.scheduleIntervalMs ~= nil then rec.scheduleIntervalMs = change.scheduleIntervalMs end
local base = rec.lastSuccessAt
if base == null then base = rec.registeredAt end
if rec.scheduleIntervalMs ~= null then
  rec.staleAt = base + tonumber(staleAfterIntervals) * rec.scheduleIntervalMs
  redis.call('ZADD', staleAt, rec.staleAt, orgId)
else
  rec.staleAt = null
  redis.call('ZREM', staleAt, orgId)
end
redis.call('HSET', entries, orgId, cjson.encode(rec))
redis.call('ZADD', all, 0, orgId)
for i, status in ipairs(cjson.decode(statuses)) do
  if rec.status == status then redis.call('ZADD', statusIndexes[i], 0, orgId)
  else redis.call('ZREM', statusIndexes[i], orgId) end
end
for i, code in ipairs(cjson.decode(codes)) do
  if rec.failureCode == code then redis.call('ZADD', codeIndexes[i], 0, orgId)
  else redis.call('ZREM', codeIndexes[i], orgId) end
end
return 1
`,
  parse: z.literal(1),
});

// The org leaves every index (the keys are fleetUpdate's).
const fleetRemove = defineScript({
  name: 'fleetRemove',
  keys: ['entries', 'all', 'staleAt', '...statusIndexes', '...codeIndexes'],
  args: ['orgId'],
  lua: `
redis.call('HDEL', entries, orgId)
redis.call('ZREM', all, orgId)
redis.call('ZREM', staleAt, orgId)
for _, index in ipairs(statusIndexes) do redis.call('ZREM', index, orgId) end
for _, index in ipairs(codeIndexes) do redis.call('ZREM', index, orgId) end
return 1
`,
  parse: z.literal(1),
});

/** One org as the fleet view lists it. */
export interface FleetEntry extends FleetRecord {
  orgId: string;
  /** The client secret's recorded expiry (ms), from the expiry index; null when none. */
  secretExpiresAt: number | null;
}

export interface FleetPage {
  entries: FleetEntry[];
  /** More orgs after the last one of this page. */
  more: boolean;
}

export interface FleetFilter {
  status?: HealthStatus | undefined;
  code?: FailureCode | undefined;
}

type Patch = Partial<Pick<FleetRecord, 'scheduleIntervalMs'>> &
  Partial<ReturnType<typeof fleetHealthPatch>>;

/**
 * The fleet index: each org's status, open failure, last success and
 * schedule interval, updated where they are decided (the worker when a run
 * finishes, the settings save for the schedule), so the ops view reads a
 * page of orgs and a few counters, never every org's records. Filter
 * indexes per status and failure code page by org ID; a zset of when each
 * org turns stale counts the stale ones in one command.
 */
export class FleetIndex {
  private readonly keys;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.keys = fleetKeys(prefix);
  }

  private allKeys() {
    const k = this.keys;
    return {
      entries: k.entries,
      all: k.all,
      staleAt: k.staleAt,
      statusIndexes: STATUSES.map((s) => k.status(s)),
      codeIndexes: FAILURE_CODES.map((c) => k.code(c)),
    };
  }

  private async update(orgId: string, patch: Patch, now: Date): Promise<void> {
    await fleetUpdate(this.redis, {
      keys: this.allKeys(),
      args: {
        orgId,
        patch: JSON.stringify(patch),
        now: now.getTime(),
        staleAfterIntervals: STALE_AFTER_INTERVALS,
        statuses: JSON.stringify(STATUSES),
        codes: JSON.stringify(FAILURE_CODES),
      },
    });
  }

  /**
   * A run finished and `health` is what it decided (idempotent: the same
   * health writes the same). With a fence (the run), the entry is written
   * and then taken out again (OrgOffboardedError) when the run is gone by
   * then: the index lives in its own slot, and offboarding fences the org
   * first and empties the index after, so either way round the entry does
   * not outlive the org.
   */
  async recordHealth(
    orgId: string,
    health: IntegrationHealth,
    scheduleIntervalMs: number | null | undefined,
    now: Date,
    fence?: WriteFence,
  ): Promise<void> {
    await this.update(
      orgId,
      {
        ...fleetHealthPatch(health),
        ...(scheduleIntervalMs !== undefined ? { scheduleIntervalMs } : {}),
      },
      now,
    );
    if (fence && (await this.redis.exists(fenceKey(orgKeys(this.prefix, orgId), fence))) === 0) {
      await this.remove(orgId);
      throw new OrgOffboardedError(orgId);
    }
  }

  /** Settings saved: the org is in the fleet (as never synced, if new) with its schedule's interval. */
  async recordSchedule(orgId: string, scheduleIntervalMs: number | null, now: Date): Promise<void> {
    await this.update(orgId, { scheduleIntervalMs }, now);
  }

  /** The org leaves the fleet (offboarding). */
  async remove(orgId: string): Promise<void> {
    await fleetRemove(this.redis, { keys: this.allKeys(), args: { orgId } });
  }

  async get(orgId: string): Promise<FleetRecord | null> {
    const raw = await this.redis.hget(this.keys.entries, orgId);
    return raw ? fleetRecordSchema.parse(JSON.parse(raw)) : null;
  }

  /**
   * A page of orgs in org ID order after `after`, filtered by status or
   * failure code (a code implies `failing`), with each one's secret expiry.
   */
  async page(filter: FleetFilter, options: { limit: number; after?: string }): Promise<FleetPage> {
    if (filter.code !== undefined && filter.status !== undefined && filter.status !== 'failing') {
      return { entries: [], more: false };
    }
    const index =
      filter.code !== undefined
        ? this.keys.code(filter.code)
        : filter.status !== undefined
          ? this.keys.status(filter.status)
          : this.keys.all;
    const from = options.after === undefined ? '-' : `(${options.after}`;
    const ids = await this.redis.zrangebylex(index, from, '+', 'LIMIT', 0, options.limit + 1);
    const more = ids.length > options.limit;
    const orgIds = ids.slice(0, options.limit);
    if (orgIds.length === 0) return { entries: [], more: false };
    // Two commands on two keys (the expiry index lives in its own slot).
    const [rows, expiries] = await Promise.all([
      this.redis.hmget(this.keys.entries, ...orgIds),
      this.redis.zmscore(globalKeys(this.prefix).secretExpiry, ...orgIds),
    ]);
    const entries = orgIds.flatMap((orgId, i): FleetEntry[] => {
      const raw = rows[i];
      if (!raw) return [];
      const expiry = expiries[i];
      return [
        {
          orgId,
          ...fleetRecordSchema.parse(JSON.parse(raw)),
          secretExpiresAt: expiry === null || expiry === undefined ? null : Number(expiry),
        },
      ];
    });
    return { entries, more };
  }

  /** Counts over the whole fleet: by status, by open failure code, and stale at `now`. */
  async counts(now: Date): Promise<FleetCounts> {
    const k = this.keys;
    const pipeline = this.redis.pipeline();
    pipeline.zcard(k.all);
    for (const s of STATUSES) pipeline.zcard(k.status(s));
    for (const c of FAILURE_CODES) pipeline.zcard(k.code(c));
    pipeline.zcount(k.staleAt, '-inf', now.getTime());
    const replies = (await pipeline.exec()) ?? [];
    const values = replies.map(([error, value]) => {
      if (error) throw error;
      return Number(value);
    });
    const byStatus = Object.fromEntries(STATUSES.map((s, i) => [s, values[1 + i] ?? 0])) as Record<
      HealthStatus,
      number
    >;
    const byFailureCode: Partial<Record<FailureCode, number>> = {};
    FAILURE_CODES.forEach((c, i) => {
      const n = values[1 + STATUSES.length + i] ?? 0;
      if (n > 0) byFailureCode[c] = n;
    });
    return {
      total: values[0] ?? 0,
      byStatus,
      byFailureCode,
      stale: values[values.length - 1] ?? 0,
    };
  }

  /** Orgs stale at `now` (one command: for the metrics scrape). */
  async staleCount(now: Date): Promise<number> {
    return this.redis.zcount(this.keys.staleAt, '-inf', now.getTime());
  }
}
