import type {
  AuthMethod,
  Certificate,
  IntegrationSettings,
  IntegrationSettingsInput,
} from '../api/types.js';
import type { Tone } from './format.js';
import { formFromSettings, settingsInput } from './settings-form.js';

/** How the console words the authentication methods. */
export const AUTH_METHOD_LABELS: Record<AuthMethod, string> = {
  client_secret: 'Client secret',
  certificate: 'Certificate',
};

/** The validity a new certificate may be given, in days (the API takes 30 to 730). */
export const VALIDITY_CHOICES = [
  { days: 90, label: '90 days' },
  { days: 180, label: '6 months' },
  { days: 365, label: '1 year' },
  { days: 730, label: '2 years' },
] as const;
export const DEFAULT_VALIDITY_DAYS = 365;

export const CERTIFICATE_STATUS: Record<
  Certificate['status'],
  { label: string; tone: Tone; help: string }
> = {
  pending: {
    label: 'Waiting for Entra ID',
    tone: 'info',
    help: 'Not used by a sync yet: upload it to the app registration, then the next sync switches to it.',
  },
  active: {
    label: 'In use',
    tone: 'success',
    help: 'Entra ID accepts it: syncs authenticate with it.',
  },
  retired: {
    label: 'Retired',
    tone: 'neutral',
    help: 'No longer used; its private key is deleted. Remove it from the app registration.',
  },
};

/** Usable: not retired and not expired (what a sync may try). */
export function isUsable(c: Pick<Certificate, 'status' | 'notAfter'>, now: Date): boolean {
  return c.status !== 'retired' && Date.parse(c.notAfter) > now.getTime();
}

/** Whole days until `notAfter`, rounded down (as the API's overview counts). */
export function daysUntil(iso: string, now: Date): number {
  return Math.floor((Date.parse(iso) - now.getTime()) / 86_400_000);
}

/**
 * Retiring this one leaves the org without a usable certificate while it
 * authenticates with certificates: the API refuses it (409), so the console
 * says so before anyone asks.
 */
export function isLastUsable(
  list: readonly Pick<Certificate, 'id' | 'status' | 'notAfter'>[],
  id: string,
  method: AuthMethod,
  now: Date,
): boolean {
  if (method !== 'certificate') return false;
  const target = list.find((c) => c.id === id);
  if (!target || !isUsable(target, now)) return false;
  return !list.some((c) => c.id !== id && isUsable(c, now));
}

/** The thumbprint in groups of four, so a person can compare it with the admin center's. */
export function groupedThumbprint(thumbprint: string): string {
  return thumbprint.replace(/(.{4})(?=.)/g, '$1 ');
}

/**
 * The body that switches the authentication method and changes nothing else:
 * the stored settings as they are (the stored secret kept: none is sent).
 */
export function switchMethodInput(
  settings: IntegrationSettings,
  method: AuthMethod,
): IntegrationSettingsInput {
  return { ...settingsInput(formFromSettings(settings), 'edit'), authMethod: method };
}

/** The file name a download gets: the server's, else one like it. */
export function fileNameOf(
  contentDisposition: string | null,
  orgId: string,
  thumbprint: string,
): string {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(contentDisposition ?? '');
  const name = match?.[1] ? decodeURIComponent(match[1]) : '';
  return /^[\w.-]+\.cer$/.test(name)
    ? name
    : `pinnacle-entra-sync-${orgId}-${thumbprint.slice(0, 8).toLowerCase()}.cer`;
}
