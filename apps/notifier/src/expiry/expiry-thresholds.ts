import type { NotificationJob } from '@pinnacle/queue-contracts';

const DAY_MS = 24 * 3600 * 1000;

/** Days before the recorded expiry that admins are warned, widest first. */
export const EXPIRY_THRESHOLDS_DAYS = [30, 14, 7, 1] as const;
export const EXPIRY_SCAN_HORIZON_DAYS = EXPIRY_THRESHOLDS_DAYS[0];

export type ExpiryWarning =
  | { kind: 'expiring'; label: string; thresholdDays: number; daysLeft: number }
  | { kind: 'expired'; label: 'expired' };

/**
 * The warning a recorded expiry calls for at `now`: `expired` once it has
 * passed, else the tightest threshold it is within (30, 14, 7 or 1 days),
 * else none. `daysLeft` counts whole days, rounded down (as the sync
 * overview does). A threshold the scan never saw while it was the tightest
 * (the scan did not run, or the expiry was recorded late) is skipped, not
 * sent late after a tighter one.
 */
export function expiryWarningAt(expiresAt: Date, now: Date): ExpiryWarning | null {
  const remaining = expiresAt.getTime() - now.getTime();
  if (remaining <= 0) return { kind: 'expired', label: 'expired' };
  const within = EXPIRY_THRESHOLDS_DAYS.filter((days) => remaining <= days * DAY_MS);
  const tightest = within[within.length - 1];
  if (tightest === undefined) return null;
  return {
    kind: 'expiring',
    label: `${tightest}d`,
    thresholdDays: tightest,
    daysLeft: Math.floor(remaining / DAY_MS),
  };
}

/**
 * The notification an org's recorded expiry calls for, unless that warning
 * was already sent for this expiry (`sent` holds the labels sent). A new
 * expiry (a rotated secret) has sent nothing, so it starts over.
 */
export function planExpiryNotification(args: {
  orgId: string;
  expiresAt: Date;
  now: Date;
  sent: ReadonlySet<string>;
}): { label: string; job: NotificationJob } | null {
  const warning = expiryWarningAt(args.expiresAt, args.now);
  if (!warning || args.sent.has(warning.label)) return null;
  const base = {
    orgId: args.orgId,
    expiresAt: args.expiresAt.toISOString(),
    occurredAt: args.now.toISOString(),
  };
  if (warning.kind === 'expired') {
    return { label: warning.label, job: { type: 'client_secret_expired', ...base } };
  }
  return {
    label: warning.label,
    job: {
      type: 'client_secret_expiring',
      ...base,
      thresholdDays: warning.thresholdDays,
      daysLeft: warning.daysLeft,
    },
  };
}
