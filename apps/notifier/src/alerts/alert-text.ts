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

function thumbprints(list: readonly string[]): string {
  if (list.length <= 1) return list.join('');
  return `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
}

export function certificateExpiringText(a: {
  thumbprint: string;
  expiresAt: string;
  daysLeft: number;
}): AlertText {
  const when = a.daysLeft < 1 ? 'within a day' : `in ${days(a.daysLeft)}`;
  return {
    title: `Certificate expires ${when}`,
    message: `The certificate the Microsoft Entra ID integration authenticates with (thumbprint ${a.thumbprint}) expires on ${formatInstant(a.expiresAt)}. When it expires, sync stops until a new certificate is in place. Create a new certificate in the integration settings and upload it to the app registration before then: the next sync switches to it as soon as Entra ID accepts it, with no secret to copy.`,
  };
}

export function certificateExpiredText(a: { thumbprint: string; expiresAt: string }): AlertText {
  return {
    title: 'Certificate expired',
    message: `The certificate the Microsoft Entra ID integration authenticates with (thumbprint ${a.thumbprint}) expired on ${formatInstant(a.expiresAt)}. Authentication with Microsoft Entra ID can no longer be completed, so sync is stopped until a new certificate is in place. Create a new certificate in the integration settings and upload it to the app registration.`,
  };
}

export function certificateRotatedText(a: {
  thumbprint: string;
  notAfter: string;
  retiredThumbprints: readonly string[];
}): AlertText {
  const n = a.retiredThumbprints.length;
  return {
    title: 'New certificate in use',
    message: `Microsoft Entra ID accepted the new certificate (thumbprint ${a.thumbprint}, valid until ${formatInstant(a.notAfter)}), and sync now authenticates with it. The older certificate${n === 1 ? '' : 's'} (thumbprint${n === 1 ? '' : 's'} ${thumbprints(a.retiredThumbprints)}) ${n === 1 ? 'is' : 'are'} retired: Pinnacle no longer uses ${n === 1 ? 'it' : 'them'} and has deleted ${n === 1 ? 'its private key' : 'their private keys'}. You can remove ${n === 1 ? 'it' : 'them'} from the app registration.`,
  };
}

/** What to do about an expiring or expired certificate: make a new one, upload it. */
export function certificateRenewalSteps(expired: boolean): string[] {
  return [
    'In the Pinnacle portal, open the Microsoft Entra ID integration settings, and under Certificates create a new certificate and download it (.cer). Its private key stays with Pinnacle: nothing secret needs to be copied.',
    'In the Microsoft Entra admin center (https://entra.microsoft.com), go to Entra ID → App registrations → open the app used by Pinnacle → Certificates & secrets → Certificates → Upload certificate, and upload the .cer file.',
    expired
      ? 'Run Sync Now: it uses the new certificate as soon as Entra ID accepts it.'
      : 'Nothing else needs to change: the next sync switches to the new certificate once Entra ID accepts it, and you will be told when the old one can be removed.',
  ];
}

/** What to do once a newer certificate took over: remove the retired ones from the app registration. */
export function retiredCertificateSteps(retiredThumbprints: readonly string[]): string[] {
  return [
    `In the Microsoft Entra admin center (https://entra.microsoft.com), go to Entra ID → App registrations → open the app used by Pinnacle → Certificates & secrets → Certificates, and delete the certificate${retiredThumbprints.length === 1 ? '' : 's'} with thumbprint ${thumbprints(retiredThumbprints)}.`,
    'Keep the new certificate: sync authenticates with it now.',
  ];
}
