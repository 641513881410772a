import { describe, expect, it } from 'vitest';
import {
  MAX_SCHEDULE_INTERVAL_MS,
  MIN_SCHEDULE_INTERVAL_MS,
  nextRunAt,
  type ParsedSchedule,
  parseSchedule,
  scheduleEverySchema,
  stableOffsetMs,
} from '../src/index.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function ok(every: string): ParsedSchedule {
  const result = parseSchedule(every);
  if (!result.ok) throw new Error(`expected ${every} to parse: ${result.code}`);
  return result.schedule;
}

function code(every: string): string | null {
  const result = parseSchedule(every);
  return result.ok ? null : result.code;
}

describe('parseSchedule: intervals', () => {
  it.each([
    ['15m', 15 * MIN],
    ['90m', 90 * MIN],
    ['6h', 6 * HOUR],
    ['6H', 6 * HOUR],
    [' 12h ', 12 * HOUR],
    ['1d', DAY],
    ['7d', 7 * DAY],
    ['168h', 7 * DAY],
    ['10080m', 7 * DAY],
  ])('%j is every %d ms', (every, everyMs) => {
    expect(ok(every)).toEqual({ kind: 'every', everyMs });
  });

  it('bounds intervals to [15 minutes, 7 days]', () => {
    expect(MIN_SCHEDULE_INTERVAL_MS).toBe(15 * MIN);
    expect(MAX_SCHEDULE_INTERVAL_MS).toBe(7 * DAY);
    expect(code('14m')).toBe('schedule_too_frequent');
    expect(code('0m')).toBe('schedule_too_frequent');
    expect(code('0d')).toBe('schedule_too_frequent');
    expect(code('8d')).toBe('schedule_too_infrequent');
    expect(code('169h')).toBe('schedule_too_infrequent');
    expect(code('10081m')).toBe('schedule_too_infrequent');
  });

  it.each([
    '',
    '   ',
    '6',
    'h',
    '6x',
    '-6h',
    '6.5h',
    '1w',
    'every 6h',
    '6h30m',
    '9999999m',
    '6 hours',
  ])('rejects %j', (every) => {
    expect(code(every)).not.toBeNull();
  });
});

describe('parseSchedule: cron (UTC, 5 fields)', () => {
  it.each([
    '*/15 * * * *',
    '0 * * * *',
    '0 */6 * * *',
    '30 2 * * *',
    '0 9 * * 1-5',
    '0 9 * * MON-FRI',
    '0 9 * * THU',
    '0 0 1 * *',
    '0 0 L * *',
    '0 0 * * 1#1',
    '0,30 * * * *',
    '0,15,30,45 * * * *',
    '0,50 9 * * *',
    '50 9,10 * * *',
    '0 0 29 2 *',
  ])('accepts %j', (pattern) => {
    expect(ok(pattern)).toEqual({ kind: 'cron', pattern });
  });

  it('collapses whitespace', () => {
    expect(ok('  0   */6 *  * * ')).toEqual({ kind: 'cron', pattern: '0 */6 * * *' });
  });

  it.each([
    '* * * * *',
    '*/5 * * * *',
    '*/14 * * * *',
    '0-10 * * * *',
    '0,10 * * * *',
    '0,50 * * * *',
    // 09:55 then 10:05: ten minutes apart across the hour boundary.
    '5,55 9,10 * * *',
    // 23:55 then 00:05 the next day.
    '5,55 0,23 * * *',
    '*/5 9 * * 1',
  ])('rejects %j as firing more often than every 15 minutes', (pattern) => {
    expect(code(pattern)).toBe('schedule_too_frequent');
  });

  it.each([
    '0 0 * *',
    '0 0 0 * * *',
    '@daily',
    '@hourly',
    'H * * * *',
    'H/30 * * * *',
    '0 H * * *',
    '61 * * * *',
    '0 24 * * *',
    '0 0 32 * *',
    '0 0 30 2 *',
    '0 0 31 4 *',
    'a b c d e',
    '0 0 * * * ; rm -rf /',
    `0 0 * * ${'1,'.repeat(80)}1`,
  ])('rejects malformed %j', (pattern) => {
    expect(code(pattern)).toBe('schedule_malformed');
  });
});

describe('scheduleEverySchema', () => {
  it('normalises and reports the reason', () => {
    expect(scheduleEverySchema.parse('6H')).toBe('6h');
    expect(scheduleEverySchema.parse(' 0  2 * * * ')).toBe('0 2 * * *');
    const result = scheduleEverySchema.safeParse('1m');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/15 minutes/);
  });
});

describe('stableOffsetMs', () => {
  it('is deterministic and within [0, everyMs)', () => {
    for (const everyMs of [15 * MIN, 6 * HOUR, DAY, 7 * DAY]) {
      for (const orgId of ['org-1', 'org-2', 'a', 'x'.repeat(64)]) {
        const offset = stableOffsetMs(orgId, everyMs);
        expect(offset).toBe(stableOffsetMs(orgId, everyMs));
        expect(Number.isInteger(offset)).toBe(true);
        expect(offset).toBeGreaterThanOrEqual(0);
        expect(offset).toBeLessThan(everyMs);
      }
    }
  });

  it('spreads 10,000 orgs evenly over the interval', () => {
    const everyMs = 6 * HOUR;
    const buckets = new Array<number>(24).fill(0);
    const offsets = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const offset = stableOffsetMs(`org-${i}`, everyMs);
      offsets.add(offset);
      buckets[Math.floor((offset / everyMs) * 24)]! += 1;
    }
    expect(offsets.size).toBeGreaterThan(9_990);
    // Expected 416.7 per 15-minute bucket; allow generous statistical slack.
    for (const n of buckets) {
      expect(n).toBeGreaterThan(300);
      expect(n).toBeLessThan(540);
    }
  });

  it('refuses a non-positive interval', () => {
    expect(() => stableOffsetMs('org-1', 0)).toThrow(RangeError);
    expect(() => stableOffsetMs('org-1', -5)).toThrow(RangeError);
  });
});

describe('nextRunAt', () => {
  const now = new Date('2026-05-10T10:07:00.000Z');

  it('puts an interval on the org slot: k * every + offset, strictly after now', () => {
    const schedule: ParsedSchedule = { kind: 'every', everyMs: 6 * HOUR };
    const offset = stableOffsetMs('org-1', 6 * HOUR);
    const next = nextRunAt(schedule, 'org-1', now).getTime();
    expect(next).toBeGreaterThan(now.getTime());
    expect(next - now.getTime()).toBeLessThanOrEqual(6 * HOUR);
    expect((next - offset) % (6 * HOUR)).toBe(0);
    // Exactly on a slot: the next slot, not now.
    expect(nextRunAt(schedule, 'org-1', new Date(next)).getTime()).toBe(next + 6 * HOUR);
    // Same answer anywhere in the same slot.
    expect(nextRunAt(schedule, 'org-1', new Date(next - 1)).getTime()).toBe(next);
  });

  it('gives different orgs on the same interval different times', () => {
    const schedule: ParsedSchedule = { kind: 'every', everyMs: DAY };
    const times = new Set(
      Array.from({ length: 100 }, (_, i) => nextRunAt(schedule, `org-${i}`, now).getTime()),
    );
    expect(times.size).toBe(100);
  });

  it('follows a cron pattern in UTC', () => {
    expect(nextRunAt(ok('30 2 * * *'), 'org-1', now).toISOString()).toBe(
      '2026-05-11T02:30:00.000Z',
    );
    expect(nextRunAt(ok('0 */6 * * *'), 'org-1', now).toISOString()).toBe(
      '2026-05-10T12:00:00.000Z',
    );
    // 2026-05-10 is a Sunday.
    expect(nextRunAt(ok('0 9 * * MON-FRI'), 'org-1', now).toISOString()).toBe(
      '2026-05-11T09:00:00.000Z',
    );
  });

  it('is strictly after now for cron too', () => {
    const at = new Date('2026-05-10T12:00:00.000Z');
    expect(nextRunAt(ok('0 */6 * * *'), 'org-1', at).toISOString()).toBe(
      '2026-05-10T18:00:00.000Z',
    );
  });
});
