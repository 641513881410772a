import type { ClientSecretView, IntegrationSettingsView } from '@pinnacle/domain';
import type { StoredIntegration } from '@pinnacle/redis-store';

/** The secret as the API shows it: whether one is stored, its last characters, its expiry. */
export function clientSecretView(integration: StoredIntegration | null): ClientSecretView {
  const secret = integration?.secret ?? null;
  return {
    configured: secret !== null,
    hint: secret?.hint ?? null,
    expiresAt: secret?.expiresAt ?? null,
  };
}

/**
 * The settings as `GET /orgs/{orgId}/integration` answers them. Built field
 * by field (never a spread of the record) so the sealed secret, or anything
 * added to the record later, cannot leak into a response.
 */
export function integrationView(integration: StoredIntegration): IntegrationSettingsView {
  return {
    orgId: integration.orgId,
    tenantId: integration.tenantId,
    clientId: integration.clientId,
    clientSecret: clientSecretView(integration),
    groupIds: [...integration.groupIds],
    schedule: { enabled: integration.schedule.enabled, every: integration.schedule.every },
    notifications: {
      email: {
        enabled: integration.notifications.email.enabled,
        recipients: [...integration.notifications.email.recipients],
      },
    },
    includeDisabledUsers: integration.includeDisabledUsers,
    massRemovalGuard: {
      maxRemovedPercent: integration.massRemovalGuard.maxRemovedPercent,
      minRemovedUsers: integration.massRemovalGuard.minRemovedUsers,
    },
    createdAt: integration.createdAt,
    updatedAt: integration.updatedAt,
  };
}
