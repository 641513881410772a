import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { failureCodeSchema } from './failures.js';
import { orgIdSchema } from './identifiers.js';
import { healthStatusSchema, type IntegrationHealth } from './integration-health.js';
import { parseSchedule } from './schedule.js';

/*
 * The fleet: every org's sync status in one index, for support staff. It is
 * written where the facts are decided (a run finishing, settings saved) and
 * read a page at a time, never by reading every org's records.
 */

/** An org is stale when its last success is older than this many schedule intervals. */
export const STALE_AFTER_INTERVALS = 3;

/**
 * The nominal interval of a schedule in ms, or null when it is disabled (or
 * no longer parses). For a cron schedule, the longest gap between its next
 * few firings from `from` (a weekday schedule counts its weekend gap), so a
 * healthy org is never called stale between firings.
 */
export function scheduleIntervalMs(
  schedule: { enabled: boolean; every: string },
  from: Date = new Date(),
): number | null {
  if (!schedule.enabled) return null;
  const parsed = parseSchedule(schedule.every);
  if (!parsed.ok) return null;
  if (parsed.schedule.kind === 'every') return parsed.schedule.everyMs;
  const expression = CronExpressionParser.parse(parsed.schedule.pattern, {
    tz: 'UTC',
    currentDate: from,
  });
  let previous = expression.next().getTime();
  let longest = 0;
  for (let i = 0; i < 16; i++) {
    const next = expression.next().getTime();
    longest = Math.max(longest, next - previous);
    previous = next;
  }
  return longest > 0 ? longest : null;
}

/**
 * One org as the fleet index holds it (times in ms since the epoch, so the
 * index's script can compare and add them).
 */
export const fleetRecordSchema = z.object({
  status: healthStatusSchema,
  /** The open failure episode's code and start; null while not failing. */
  failureCode: z.string().nullable(),
  failingSince: z.number().nullable(),
  lastRunAt: z.number().nullable(),
  lastSuccessAt: z.number().nullable(),
  /** The schedule's nominal interval; null when no schedule runs. */
  scheduleIntervalMs: z.number().nullable(),
  /** When the index first saw the org (its integration saved, or its first run). */
  registeredAt: z.number(),
  /** When it turns stale: (last success, else registration) + 3 intervals; null without a schedule. */
  staleAt: z.number().nullable(),
});
export type FleetRecord = z.infer<typeof fleetRecordSchema>;

/** The health fields of a fleet record, from the health record a run just decided. */
export function fleetHealthPatch(
  health: IntegrationHealth,
): Pick<FleetRecord, 'status' | 'failureCode' | 'failingSince' | 'lastRunAt' | 'lastSuccessAt'> {
  const ms = (iso: string | null | undefined) => {
    const value = iso ? Date.parse(iso) : Number.NaN;
    return Number.isFinite(value) ? value : null;
  };
  return {
    status: health.status,
    failureCode: health.openFailure?.code ?? null,
    failingSince: ms(health.openFailure?.since),
    lastRunAt: ms(health.lastRunAt),
    lastSuccessAt: ms(health.lastSuccessAt),
  };
}

const timestamp = z.iso.datetime({ offset: true });

/** One org in `GET /ops/orgs`. */
export const fleetOrgSchema = z.object({
  orgId: orgIdSchema,
  status: healthStatusSchema,
  failureCode: z.string().nullable(),
  failingSince: timestamp.nullable(),
  lastRunAt: timestamp.nullable(),
  lastSuccessAt: timestamp.nullable(),
  /** Last success (or, never synced, registration) older than three schedule intervals. */
  stale: z.boolean(),
  staleSince: timestamp.nullable(),
  scheduleIntervalMs: z.number().int().nullable(),
  secretExpiresAt: timestamp.nullable(),
  /** Whole days until the client secret expires; negative once expired. */
  secretDaysLeft: z.number().int().nullable(),
});
export type FleetOrg = z.infer<typeof fleetOrgSchema>;

/** Counts over the whole fleet, whatever the filter. */
export const fleetCountsSchema = z.object({
  total: z.number().int().min(0),
  byStatus: z.record(healthStatusSchema, z.number().int().min(0)),
  /** Orgs whose open failure has each code (codes with none left out). */
  byFailureCode: z.partialRecord(failureCodeSchema, z.number().int().min(0)),
  stale: z.number().int().min(0),
});
export type FleetCounts = z.infer<typeof fleetCountsSchema>;
