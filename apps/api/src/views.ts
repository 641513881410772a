import {
  authMethodOf,
  type CertificateView,
  type ClientSecretView,
  type IntegrationSettingsView,
} from '@pinnacle/domain';
import type { StoredCertificate, StoredIntegration } from '@pinnacle/redis-store';

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
    authMethod: authMethodOf(integration),
  };
}

/**
 * A certificate as the API shows it, field by field: public parts only.
 * The private key is not in the record (it is sealed apart), and nothing
 * added to the record later can reach a response through here.
 */
export function certificateView(c: StoredCertificate): CertificateView {
  return {
    id: c.id,
    subject: c.subject,
    thumbprint: c.thumbprint,
    thumbprintSha256: c.thumbprintSha256,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    status: c.status,
    createdAt: c.createdAt,
    activatedAt: c.activatedAt,
    retiredAt: c.retiredAt,
    certificatePem: c.certificatePem,
  };
}
