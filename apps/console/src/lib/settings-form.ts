import type { IntegrationSettings, IntegrationSettingsInput } from '../api/types.js';
import { splitList } from './issues.js';

/**
 * The settings form as typed: every field a string or a flag, exactly as
 * the person left it, so a refused save loses nothing. Converted to the
 * API's body only when saving.
 */
export interface SettingsFormValues {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  clientSecretExpiresAt: string;
  groupIds: string;
  scheduleEnabled: boolean;
  scheduleEvery: string;
  emailEnabled: boolean;
  recipients: string;
  includeDisabledUsers: boolean;
  maxRemovedPercent: string;
  minRemovedUsers: string;
}

export type SettingsField = keyof SettingsFormValues;

/** Which API issue paths each field shows (the most specific prefix wins). */
export const SETTINGS_ISSUE_PATHS: Record<SettingsField, readonly string[]> = {
  tenantId: ['tenantId'],
  clientId: ['clientId'],
  clientSecret: ['clientSecret'],
  clientSecretExpiresAt: ['clientSecretExpiresAt'],
  groupIds: ['groupIds'],
  scheduleEnabled: ['schedule.enabled'],
  scheduleEvery: ['schedule', 'schedule.every'],
  emailEnabled: ['notifications.email.enabled'],
  recipients: ['notifications', 'notifications.email', 'notifications.email.recipients'],
  includeDisabledUsers: ['includeDisabledUsers'],
  maxRemovedPercent: ['massRemovalGuard', 'massRemovalGuard.maxRemovedPercent'],
  minRemovedUsers: ['massRemovalGuard.minRemovedUsers'],
};

export const EMPTY_SETTINGS: SettingsFormValues = {
  tenantId: '',
  clientId: '',
  clientSecret: '',
  clientSecretExpiresAt: '',
  groupIds: '',
  scheduleEnabled: true,
  scheduleEvery: '6h',
  emailEnabled: false,
  recipients: '',
  includeDisabledUsers: false,
  maxRemovedPercent: '20',
  minRemovedUsers: '10',
};

export function formFromSettings(s: IntegrationSettings): SettingsFormValues {
  return {
    tenantId: s.tenantId ?? '',
    clientId: s.clientId ?? '',
    clientSecret: '',
    clientSecretExpiresAt: '',
    groupIds: s.groupIds.join('\n'),
    scheduleEnabled: s.schedule.enabled,
    scheduleEvery: s.schedule.every,
    emailEnabled: s.notifications.email.enabled,
    recipients: s.notifications.email.recipients.join('\n'),
    includeDisabledUsers: s.includeDisabledUsers,
    maxRemovedPercent: String(s.massRemovalGuard.maxRemovedPercent),
    minRemovedUsers: String(s.massRemovalGuard.minRemovedUsers),
  };
}

/** A number field: what does not read as a number goes as null, which the API names. */
function numberOf(text: string): number {
  const trimmed = text.trim();
  // JSON has no NaN: it is sent as null, and the API answers "expected number" on this field.
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

const blankToUndefined = (text: string) => (text.trim() === '' ? undefined : text.trim());

/**
 * The body of `PUT .../integration`. On create the secret and its expiry go
 * along when given; on edit they are left out, which keeps the stored
 * secret (the rotate form replaces it).
 */
export function settingsInput(
  v: SettingsFormValues,
  mode: 'create' | 'edit',
): IntegrationSettingsInput {
  const secret = mode === 'create' ? blankToUndefined(v.clientSecret) : undefined;
  const expiry = mode === 'create' ? blankToUndefined(v.clientSecretExpiresAt) : undefined;
  return {
    tenantId: blankToUndefined(v.tenantId),
    clientId: blankToUndefined(v.clientId),
    ...(secret !== undefined ? { clientSecret: secret } : {}),
    ...(expiry !== undefined ? { clientSecretExpiresAt: expiry } : {}),
    groupIds: splitList(v.groupIds),
    schedule: { enabled: v.scheduleEnabled, every: v.scheduleEvery.trim() },
    notifications: { email: { enabled: v.emailEnabled, recipients: splitList(v.recipients) } },
    includeDisabledUsers: v.includeDisabledUsers,
    massRemovalGuard: {
      maxRemovedPercent: numberOf(v.maxRemovedPercent),
      minRemovedUsers: numberOf(v.minRemovedUsers),
    },
  };
}
