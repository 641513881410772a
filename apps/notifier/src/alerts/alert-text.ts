import { type FailureCode, failureCodeSchema, failureTitle } from '@pinnacle/domain';

/** `2026-01-02 03:04 UTC`: one unambiguous form in every channel. */
export function formatInstant(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const s = new Date(ms).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 16)} UTC`;
}

/** The short lower-case title of a failure code ("client secret expired"); unknown codes as words. */
export function failureLabel(code: string): string {
  const known = failureCodeSchema.safeParse(code);
  return known.success ? failureTitle(known.data as FailureCode) : code.replace(/_/g, ' ');
}

function days(n: number): string {
  return n === 1 ? '1 day' : `${n} days`;
}

export interface AlertText {
  title: string;
  message: string;
}

export function expiringText(a: { expiresAt: string; daysLeft: number }): AlertText {
  const when = a.daysLeft < 1 ? 'within a day' : `in ${days(a.daysLeft)}`;
  return {
    title: `Client secret expires ${when}`,
    message: `The client secret of the Microsoft Entra ID integration expires on ${formatInstant(a.expiresAt)}. When it expires, sync stops until a new secret is entered. Generate a new client secret in Entra ID and update it in the integration settings before then; nothing else needs to change.`,
  };
}

export function expiredText(a: { expiresAt: string }): AlertText {
  return {
    title: 'Client secret expired',
    message: `The client secret of the Microsoft Entra ID integration expired on ${formatInstant(a.expiresAt)}. Authentication with Microsoft Entra ID can no longer be completed, so sync is stopped until a new client secret is entered. Generate a new client secret in Entra ID and update it in the integration settings.`,
  };
}

export function recoveredText(a: {
  runId: string;
  failureCode: string;
  since: string | null;
  occurrences: number | null;
}): AlertText {
  const since = a.since ? `, first seen ${formatInstant(a.since)}` : '';
  const runs =
    a.occurrences === null
      ? ''
      : ` over ${a.occurrences === 1 ? '1 failed run' : `${a.occurrences} failed runs`}`;
  return {
    title: 'Microsoft Entra ID sync recovered',
    message: `Sync with Microsoft Entra ID works again: run ${a.runId} succeeded. The earlier failure (${failureLabel(a.failureCode)}${since}${runs}) is resolved.`,
  };
}

/** What to do about an expiring or expired client secret. */
export function secretRotationSteps(expired: boolean): string[] {
  return [
    'In the Microsoft Entra admin center (https://entra.microsoft.com), go to Entra ID → App registrations → open the app used by Pinnacle → Certificates & secrets → Client secrets → New client secret.',
    'Copy the new secret\'s Value right away (Entra ID shows it only once). The "Secret ID" is not the secret.',
    'In the Pinnacle portal, open the Microsoft Entra ID integration settings, replace the client secret with the new value and enter its expiry date, then save. Nothing else needs to change.',
    expired
      ? 'Run Sync Now to confirm the integration works again.'
      : 'Once a sync has succeeded with the new secret, delete the old secret in Entra ID.',
  ];
}

/**
 * The line an in-app notification carries while its email is held back by
 * the org's email cap: that it was, why, and when the next can go out.
 */
export function emailHeldBackText(a: {
  until: string;
  limits: { perHour: number; perDay: number };
}): string {
  return `Email held back: this organisation's admins have already been sent the most alert emails allowed (${a.limits.perHour} an hour, ${a.limits.perDay} a day), so this alert was not emailed. Emails can go out again from ${formatInstant(a.until)}; until then new alerts appear here only. Recoveries and expiry warnings are always emailed.`;
}
