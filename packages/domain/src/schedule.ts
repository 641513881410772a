import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * Bounds of a schedule. At least 15 minutes: every run pages through Graph,
 * and with thousands of orgs a tighter loop spends the shared throttling
 * budget for no one's benefit (Sync Now covers the urgent case). At most 7
 * days: a snapshot older than a week is stale enough to mislead; an org that
 * wants less should disable the schedule and use Sync Now.
 */
export const MIN_SCHEDULE_INTERVAL_MS = 15 * MINUTE_MS;
export const MAX_SCHEDULE_INTERVAL_MS = 7 * DAY_MS;
/** The default schedule of a new integration. */
export const DEFAULT_SCHEDULE_EVERY = '1d';

export type ParsedSchedule = { kind: 'every'; everyMs: number } | { kind: 'cron'; pattern: string };

export type ScheduleErrorCode =
  | 'schedule_empty'
  | 'schedule_malformed'
  | 'schedule_too_frequent'
  | 'schedule_too_infrequent';

export type ScheduleParseResult =
  | { ok: true; schedule: ParsedSchedule }
  | { ok: false; code: ScheduleErrorCode; message: string };

const INTERVAL_PATTERN = /^(\d{1,6})\s*(m|h|d)$/i;
const UNIT_MS = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS } as const;
const MAX_SCHEDULE_LENGTH = 120;

/**
 * Reads a schedule: an interval (`"15m"`, `"6h"`, `"1d"`) or a standard
 * 5-field cron expression evaluated in UTC (minute hour day-of-month month
 * day-of-week), as BullMQ's job schedulers run it with `tz: 'UTC'`.
 * Refused: a seconds field, `@macros` (write the 5 fields), `H` (hashed
 * values differ per parse without a seed, so the schedule would drift), and
 * anything firing more often than every 15 minutes.
 */
export function parseSchedule(every: string): ScheduleParseResult {
  const text = every.trim().replace(/\s+/g, ' ');
  if (text === '') return fail('schedule_empty', 'must not be empty');
  if (text.length > MAX_SCHEDULE_LENGTH) {
    return fail('schedule_malformed', `must be at most ${MAX_SCHEDULE_LENGTH} characters`);
  }
  const interval = INTERVAL_PATTERN.exec(text);
  if (interval) {
    const everyMs = Number(interval[1]) * UNIT_MS[interval[2]!.toLowerCase() as 'm' | 'h' | 'd'];
    if (everyMs < MIN_SCHEDULE_INTERVAL_MS) {
      return fail('schedule_too_frequent', 'must be at least 15 minutes apart');
    }
    if (everyMs > MAX_SCHEDULE_INTERVAL_MS) {
      return fail('schedule_too_infrequent', 'must be at most 7 days apart');
    }
    return { ok: true, schedule: { kind: 'every', everyMs } };
  }
  return parseCron(text);
}

function fail(code: ScheduleErrorCode, message: string): ScheduleParseResult {
  return { ok: false, code, message };
}

const CRON_HELP =
  'must be an interval like "30m", "6h" or "1d", or a 5-field cron expression in UTC like "0 */6 * * *"';

function parseCron(pattern: string): ScheduleParseResult {
  const fields = pattern.split(' ');
  if (pattern.startsWith('@') || fields.length !== 5) return fail('schedule_malformed', CRON_HELP);
  // Hashed values (`H`, `H/5`, `H(0-29)`) but not day names such as THU.
  if (fields.some((f) => f.split(',').some((part) => /^h(?![a-z])/i.test(part)))) {
    return fail('schedule_malformed', 'must not use "H" (hashed) values');
  }
  let minutes: number[];
  let hours: number[];
  try {
    const expression = CronExpressionParser.parse(pattern, {
      tz: 'UTC',
      currentDate: new Date(Date.UTC(2000, 0, 1)),
    });
    minutes = [...expression.fields.minute.values].map(Number).sort((a, b) => a - b);
    hours = [...expression.fields.hour.values].map(Number).sort((a, b) => a - b);
    // Throws when the day/month combination can never happen (e.g. 31 April).
    expression.next();
  } catch {
    return fail('schedule_malformed', CRON_HELP);
  }
  if (minGapMinutes(minutes, hours) < MIN_SCHEDULE_INTERVAL_MS / MINUTE_MS) {
    return fail('schedule_too_frequent', 'must not fire more often than every 15 minutes');
  }
  return { ok: true, schedule: { kind: 'cron', pattern } };
}

/**
 * The smallest gap between two firings. Every firing hour fires at every
 * listed minute, so the gap within an hour is between neighbouring minutes;
 * across an hour boundary it is (60 - last + first), which happens only when
 * two consecutive hours fire (23 -> 0 counted too: consecutive days are
 * assumed possible, which errs on the strict side).
 */
function minGapMinutes(minutes: number[], hours: number[]): number {
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < minutes.length; i++) gap = Math.min(gap, minutes[i]! - minutes[i - 1]!);
  const hourSet = new Set(hours);
  const consecutiveHours = hours.some((h) => hourSet.has((h + 1) % 24));
  if (consecutiveHours && minutes.length > 0) {
    gap = Math.min(gap, 60 - minutes[minutes.length - 1]! + minutes[0]!);
  }
  return gap;
}

/**
 * The `every` string of the settings contract: validated by parseSchedule and
 * normalised (trimmed, single spaces, interval unit lower-cased).
 */
export const scheduleEverySchema = z
  .string()
  .max(MAX_SCHEDULE_LENGTH * 2)
  .transform((value, ctx) => {
    const result = parseSchedule(value);
    if (!result.ok) {
      ctx.addIssue({ code: 'custom', message: result.message, params: { code: result.code } });
      return z.NEVER;
    }
    const text = value.trim().replace(/\s+/g, ' ');
    return result.schedule.kind === 'every' ? text.replace(/\s+/g, '').toLowerCase() : text;
  });

/**
 * A deterministic offset in [0, everyMs) from the org ID, so 10,000 orgs on
 * the same interval are spread over it instead of all firing on the epoch
 * boundary. SHA-256 keeps it uniform for similar IDs (org-1, org-2...).
 */
export function stableOffsetMs(orgId: string, everyMs: number): number {
  if (!Number.isSafeInteger(everyMs) || everyMs <= 0) {
    throw new RangeError('everyMs must be a positive integer');
  }
  const digest = createHash('sha256').update(orgId, 'utf8').digest();
  // 48 bits: far more than any interval in ms (7 days < 2^30), so the modulo bias is negligible.
  return digest.readUIntBE(0, 6) % everyMs;
}

/**
 * When the schedule fires next, strictly after `now`. Intervals fire at
 * `k * everyMs + stableOffsetMs(orgId, everyMs)` (epoch-aligned slots shifted
 * by the org's offset, as BullMQ's `every` + `offset` does); cron fires at
 * the pattern's times in UTC, unshifted, since the admin chose them.
 */
export function nextRunAt(schedule: ParsedSchedule, orgId: string, now: Date): Date {
  const nowMs = now.getTime();
  if (schedule.kind === 'every') {
    const offset = stableOffsetMs(orgId, schedule.everyMs);
    const k = Math.floor((nowMs - offset) / schedule.everyMs) + 1;
    return new Date(k * schedule.everyMs + offset);
  }
  const expression = CronExpressionParser.parse(schedule.pattern, {
    tz: 'UTC',
    currentDate: new Date(nowMs),
  });
  return expression.next().toDate();
}
