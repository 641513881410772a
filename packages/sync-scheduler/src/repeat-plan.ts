import { type FailureCategory, parseSchedule, stableOffsetMs } from '@pinnacle/domain';

const DAY_MS = 24 * 3600 * 1000;

/** Failure categories an admin must fix: retrying them every interval only repeats the failure. */
export const BACKOFF_CATEGORIES: readonly FailureCategory[] = [
  'configuration',
  'credentials',
  'permissions',
  'groups',
];

export function shouldBackOff(category: string | null | undefined): boolean {
  return (
    category !== null &&
    category !== undefined &&
    (BACKOFF_CATEGORIES as string[]).includes(category)
  );
}

/** BullMQ repeat options of one org's schedule (no `key`: the scheduler ID names it). */
export type RepeatPlan =
  | { kind: 'every'; every: number; offset: number }
  | { kind: 'cron'; pattern: string; tz: 'UTC' };

/**
 * What the org's job scheduler should be: null when scheduling is off or
 * the stored schedule no longer parses. Intervals get a stable per-org
 * offset so 10,000 orgs on "every 6h" do not all fire at once; cron times
 * are the admin's choice and are kept. While `backedOff`, an org whose sync
 * keeps failing on something only an admin can fix runs at most daily.
 */
export function planRepeat(
  orgId: string,
  schedule: { enabled: boolean; every: string },
  options: { backedOff: boolean } = { backedOff: false },
): RepeatPlan | null {
  if (!schedule.enabled) return null;
  const parsed = parseSchedule(schedule.every);
  if (!parsed.ok) return null;
  if (options.backedOff && (parsed.schedule.kind === 'cron' || parsed.schedule.everyMs < DAY_MS)) {
    return { kind: 'every', every: DAY_MS, offset: stableOffsetMs(orgId, DAY_MS) };
  }
  if (parsed.schedule.kind === 'cron')
    return { kind: 'cron', pattern: parsed.schedule.pattern, tz: 'UTC' };
  const every = parsed.schedule.everyMs;
  return { kind: 'every', every, offset: stableOffsetMs(orgId, every) };
}
