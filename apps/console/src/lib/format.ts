/** How values are written on screen. Pure, so the rules are unit-tested. */

export type Tone = 'success' | 'warning' | 'danger' | 'info' | 'neutral';

/** The secret's expiry tone: a warning from 30 days before, an error once expired. */
export const SECRET_WARNING_DAYS = 30;

export function secretExpiryTone(daysLeft: number | null, expired: boolean): Tone {
  if (expired) return 'danger';
  if (daysLeft === null) return 'neutral';
  return daysLeft <= SECRET_WARNING_DAYS ? 'warning' : 'success';
}

const DAY_MS = 86_400_000;

/**
 * "45 days left", "Expires today", "Expired 3 days ago". Days ago are
 * counted from the expiry itself: the API's `daysLeft` rounds down, which
 * would read one day more once negative.
 */
export function secretExpiryText(
  daysLeft: number | null,
  expired: boolean,
  expiresAt: string | null = null,
  now: Date = new Date(),
): string {
  if (expired) {
    const at = expiresAt === null ? Number.NaN : Date.parse(expiresAt);
    if (!Number.isFinite(at)) return 'Expired';
    const ago = Math.floor((now.getTime() - at) / DAY_MS);
    if (ago < 1) return 'Expired today';
    return ago === 1 ? 'Expired 1 day ago' : `Expired ${ago} days ago`;
  }
  if (daysLeft === null) return 'No expiry recorded';
  if (daysLeft === 0) return 'Expires today';
  return daysLeft === 1 ? '1 day left' : `${daysLeft} days left`;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/** "5 minutes ago", "in 3 hours"; "just now" within a minute. */
export function relativeTime(iso: string, now: Date, locale?: string): string {
  const diff = Date.parse(iso) - now.getTime();
  if (!Number.isFinite(diff)) return '';
  if (Math.abs(diff) < 60_000) return 'just now';
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms) return format.format(Math.round(diff / ms), unit);
  }
  return format.format(Math.round(diff / 60_000), 'minute');
}

/** A date and time in the reader's locale and time zone. */
export function dateTime(iso: string, locale?: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(ms);
}

export function dateOnly(iso: string, locale?: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(ms);
}

/** A wait, rounded up to what a person reads: "45 seconds", "4 minutes", "2 hours". */
export function waitText(seconds: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (seconds < 60) return unit(Math.max(1, Math.ceil(seconds)), 'second');
  if (seconds < 3600) return unit(Math.ceil(seconds / 60), 'minute');
  return unit(Math.ceil(seconds / 3600), 'hour');
}

/** "1 min 5 s", "42 s", "2 h 3 min". */
export function duration(fromIso: string | null, toIso: string | null): string | null {
  if (!fromIso || !toIso) return null;
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return null;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function count(value: number | null | undefined, locale?: string): string {
  return value === null || value === undefined ? '—' : new Intl.NumberFormat(locale).format(value);
}

/** Plural noun: "1 user", "2 users". */
export function plural(n: number, one: string, many = `${one}s`, locale?: string): string {
  return `${count(n, locale)} ${n === 1 ? one : many}`;
}

/** Splits a remediation step into text and https links (nothing else is ever linked). */
export function linkify(text: string): { text: string; href?: string }[] {
  const parts: { text: string; href?: string }[] = [];
  const re = /https:\/\/[^\s<>"']+[^\s<>"'.,;:)]/g;
  let last = 0;
  for (const match of text.matchAll(re)) {
    const at = match.index ?? 0;
    if (at > last) parts.push({ text: text.slice(last, at) });
    parts.push({ text: match[0], href: match[0] });
    last = at + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** The admin-consent link among a failure's remediation steps, if any. */
export function adminConsentLink(steps: readonly string[]): string | null {
  for (const step of steps) {
    for (const part of linkify(step)) {
      if (part.href && /\/adminconsent\?/.test(part.href)) return part.href;
    }
  }
  return null;
}
