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
import type { Redis } from 'ioredis';
import { fenceKey, fleetKeys, globalKeys, orgKeys, type WriteFence } from './keys.js';
import { LuaScript } from './lua-script.js';
import { OrgOffboardedError } from './write-fence.js';

const STATUSES = healthStatusSchema.options;

// Merges a patch into an org's fleet record and moves the org between the
// filter indexes, atomically. Health fields are taken only from a run not
// older than the one recorded (hand-offs of retried attempts come late);
// the schedule's interval from whoever sends it. Every key is passed in
// KEYS and shares the {fleet} tag.
// KEYS: entries, all, staleAt, then one status index per ARGV[5] entry,
// then one code index per ARGV[6] entry.
// ARGV: orgId, patch JSON, now (ms), stale-after intervals, statuses JSON, codes JSON.
const UPDATE = new LuaScript(`
local orgId = ARGV[1]
local patch = cjson.decode(ARGV[2])
local null = cjson.null
local raw = redis.call('HGET', KEYS[1], orgId)
local rec
if raw then
  rec = cjson.decode(raw)
else
  rec = { status = 'unknown', failureCode = null, failingSince = null, lastRunAt = null,
          lastSuccessAt = null, scheduleIntervalMs = null, registeredAt = tonumber(ARGV[3]),
          staleAt = null }
end
if patch.status ~= nil then
  local held, incoming = rec.lastRunAt, patch.lastRunAt
  if held == null or (incoming ~= null and incoming >= held) then
    rec.status = patch.status
    rec.failureCode = patch.failureCode
    rec.failingSince = patch.failingSince
    rec.lastRunAt = incoming
    rec.lastSuccessAt = patch.lastSuccessAt
  end
end
if patch.scheduleIntervalMs ~= nil then rec.scheduleIntervalMs = patch.scheduleIntervalMs end
local base = rec.lastSuccessAt
if base == null then base = rec.registeredAt end
if rec.scheduleIntervalMs ~= null then
  rec.staleAt = base + tonumber(ARGV[4]) * rec.scheduleIntervalMs
  redis.call('ZADD', KEYS[3], rec.staleAt, orgId)
else
  rec.staleAt = null
  redis.call('ZREM', KEYS[3], orgId)
end
redis.call('HSET', KEYS[1], orgId, cjson.encode(rec))
redis.call('ZADD', KEYS[2], 0, orgId)
local statuses = cjson.decode(ARGV[5])
local codes = cjson.decode(ARGV[6])
for i, status in ipairs(statuses) do
  if rec.status == status then redis.call('ZADD', KEYS[3 + i], 0, orgId)
  else redis.call('ZREM', KEYS[3 + i], orgId) end
end
for i, code in ipairs(codes) do
  if rec.failureCode == code then redis.call('ZADD', KEYS[3 + #statuses + i], 0, orgId)
  else redis.call('ZREM', KEYS[3 + #statuses + i], orgId) end
end
return 1
`);

// KEYS and ARGV as UPDATE's, minus the patch: the org leaves every index.
const REMOVE = new LuaScript(`
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`);

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
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.keys = fleetKeys(prefix);
  }

  private allKeys(): string[] {
    const k = this.keys;
    return [
      k.entries,
      k.all,
      k.staleAt,
      ...STATUSES.map((s) => k.status(s)),
      ...FAILURE_CODES.map((c) => k.code(c)),
    ];
  }

  private async update(orgId: string, patch: Patch, now: Date): Promise<void> {
    await UPDATE.run(this.redis, this.allKeys(), [
      orgId,
      JSON.stringify(patch),
      now.getTime(),
      STALE_AFTER_INTERVALS,
      JSON.stringify(STATUSES),
      JSON.stringify(FAILURE_CODES),
    ]);
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
    await REMOVE.run(this.redis, this.allKeys(), [orgId]);
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
