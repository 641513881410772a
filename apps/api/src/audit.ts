import { authMethodOf } from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import type { StoredIntegration } from '@pinnacle/redis-store';
import type { AuthClaims } from './auth.js';

/**
 * Every write the API makes on an org's behalf, and a Sync Now the org's
 * budget refused. Add the later writes here and record them the same way.
 */
export type AuditAction =
  | 'integration.saved'
  | 'integration.client_secret_rotated'
  | 'sync.requested'
  /** Sync Now past the org's budget of new runs: 429, nothing made. */
  | 'sync.rate_limited'
  | 'notification.read'
  | 'notifications.read_all'
  /** Test connection: the stored credentials were used against Entra ID (nothing else changes). */
  | 'integration.tested'
  /** A key pair and certificate made (target: certificateId, thumbprint). */
  | 'certificate.created'
  /** A certificate retired at an admin's request, its private key deleted. */
  | 'certificate.retired'
  /** The org offboarded: its settings, secret and everything else deleted. */
  | 'integration.deleted';

export interface AuditEntry {
  action: AuditAction;
  /** The org acted on (validated). */
  orgId: string;
  /** Names of the fields the write changed; never a value. */
  fields: readonly string[];
  /** IDs of what was acted on or made (`runId`, `notificationId`, ...), flags such as `created`, counts. */
  target?: Record<string, string | number | boolean>;
}

/**
 * One line per write, `audit: true`, at info level, beside the request's
 * own line (it carries the same `requestId`): who (`sub`, and the token's
 * `org`, `*` for the portal's backend), what (`action`, `orgId`, `fields`,
 * `target`). Field names only: a secret's value never gets here, and the
 * logger's scrubbers stand behind that.
 */
export function recordAudit(logger: Logger, auth: AuthClaims, entry: AuditEntry): void {
  logger.info(
    {
      audit: true,
      action: entry.action,
      sub: auth.sub,
      tokenOrg: auth.org,
      orgId: entry.orgId,
      fields: [...entry.fields],
      ...(entry.target ? { target: entry.target } : {}),
    },
    'audit',
  );
}

/**
 * The settings as an admin sees them, flattened to field paths. The client
 * secret stands as its sealed value: a new secret always seals differently,
 * so "changed" means "a new secret was stored" (it is never compared in
 * clear, nor logged). Lists compare as sets: reordering groups changes
 * nothing.
 */
function settingsFields(integration: StoredIntegration | null): Map<string, string> {
  const fields = new Map<string, string>();
  if (integration === null) return fields;
  const set = (path: string, value: unknown) => {
    if (value !== null && value !== undefined) fields.set(path, JSON.stringify(value));
  };
  const sorted = (values: readonly string[]) => [...values].sort();
  set('tenantId', integration.tenantId);
  set('clientId', integration.clientId);
  set('clientSecret', integration.secret?.sealed);
  set('clientSecretExpiresAt', integration.secret?.expiresAt);
  set('groupIds', sorted(integration.groupIds));
  set('schedule.enabled', integration.schedule.enabled);
  set('schedule.every', integration.schedule.every);
  set('notifications.email.enabled', integration.notifications.email.enabled);
  set('notifications.email.recipients', sorted(integration.notifications.email.recipients));
  set('includeDisabledUsers', integration.includeDisabledUsers);
  set('massRemovalGuard.maxRemovedPercent', integration.massRemovalGuard.maxRemovedPercent);
  set('massRemovalGuard.minRemovedUsers', integration.massRemovalGuard.minRemovedUsers);
  set('authMethod', authMethodOf(integration));
  return fields;
}

/** The settings fields that differ between two stored records (all set ones when `before` is null). */
export function changedSettingsFields(
  before: StoredIntegration | null,
  after: StoredIntegration | null,
): string[] {
  const a = settingsFields(before);
  const b = settingsFields(after);
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((name) => a.get(name) !== b.get(name));
}
