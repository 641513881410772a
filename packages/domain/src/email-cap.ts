/*
 * The per-org cap on notification emails. One org admin can otherwise make
 * the service email every listed address again and again (runs alternating
 * between two failure codes open a new episode, and an email, each time).
 * The cap counts the emails of capped notification types (see
 * NOTIFICATION_EMAIL_CAP) over a sliding hour and a sliding day; past it an
 * email is held back (its notification still lands in-app, `suppressed`).
 * Pure: the notifier keeps the log of sent emails in the org's episode state
 * and stores it with the same compare-and-set as the decision.
 */

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** NOTIFIER_EMAIL_CAP_PER_HOUR and NOTIFIER_EMAIL_CAP_PER_DAY. */
export interface EmailCapLimits {
  perHour: number;
  perDay: number;
}

export const DEFAULT_EMAIL_CAP: EmailCapLimits = { perHour: 5, perDay: 20 };

export type EmailCapDecision =
  /** Within the cap: the email goes out and is logged (`sentAt`). */
  | { send: true; sentAt: number[] }
  /** Past the cap: held back; `until` is when the cap would let the next one out. */
  | { send: false; until: string; sentAt: number[] };

/**
 * Whether one more capped email may go out at `at`, given the times (ms) of
 * the org's capped emails so far. Every logged email at or after a window's
 * start counts, later ones included: a late alert (a retry, a backlog) is
 * judged against everything sent since, never let through because its own
 * timestamp is older. The log keeps the last day, and never more entries
 * than the daily cap needs to decide.
 */
export function decideEmailCap(
  sentAt: readonly number[],
  at: string,
  limits: EmailCapLimits,
): EmailCapDecision {
  const now = Date.parse(at);
  const kept = sentAt
    .filter((t) => t > now - DAY_MS)
    .sort((a, b) => a - b)
    .slice(-limits.perDay);
  const lastHour = kept.filter((t) => t > now - HOUR_MS);
  // The next email may go once enough of the window's emails have aged out
  // of it: the (n - limit + 1)-th oldest one's time plus the window.
  let until = -Infinity;
  if (lastHour.length >= limits.perHour) {
    until = Math.max(until, (lastHour[lastHour.length - limits.perHour] as number) + HOUR_MS);
  }
  if (kept.length >= limits.perDay) {
    until = Math.max(until, (kept[kept.length - limits.perDay] as number) + DAY_MS);
  }
  if (until === -Infinity) {
    return { send: true, sentAt: [...kept, now].sort((a, b) => a - b).slice(-limits.perDay) };
  }
  return { send: false, until: new Date(until).toISOString(), sentAt: kept };
}
