import type { RunWarning } from './run.js';

/** The Microsoft Graph application permissions (app roles) sync needs, and no more. */
export const REQUIRED_GRAPH_ROLES = ['User.Read.All', 'GroupMember.Read.All'] as const;
export type RequiredGraphRole = (typeof REQUIRED_GRAPH_ROLES)[number];

/**
 * Broader Graph application permissions that also grant what a required role
 * grants (per Microsoft Graph's permissions reference for the endpoints sync
 * calls). An app consented to one of these works, so it is not reported as
 * `consent_missing`; it is reported as excess instead (least privilege).
 */
export const GRAPH_ROLE_SUPERSETS: Readonly<Record<RequiredGraphRole, readonly string[]>> = {
  'User.Read.All': ['User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'GroupMember.Read.All': [
    'GroupMember.ReadWrite.All',
    'Group.Read.All',
    'Group.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
};

export interface GrantedRolesEvaluation {
  /** Required roles neither granted nor covered by a broader grant. */
  missing: RequiredGraphRole[];
  /** Granted roles beyond the required ones (sorted, de-duplicated). */
  extra: string[];
}

/**
 * Compares the `roles` claim of an app-only Graph token with what sync needs.
 * Role values are compared case-insensitively (they are case-insensitive in
 * Entra); results use Microsoft's spelling for required roles and the
 * token's spelling for extras.
 */
export function evaluateGrantedRoles(roles: readonly string[]): GrantedRolesEvaluation {
  const granted = new Map<string, string>();
  for (const role of roles) {
    const trimmed = role.trim();
    if (trimmed) granted.set(trimmed.toLowerCase(), trimmed);
  }
  const has = (role: string) => granted.has(role.toLowerCase());
  const missing = REQUIRED_GRAPH_ROLES.filter(
    (role) => !has(role) && !GRAPH_ROLE_SUPERSETS[role].some(has),
  );
  const required = new Set<string>(REQUIRED_GRAPH_ROLES.map((r) => r.toLowerCase()));
  const extra = [...granted.entries()]
    .filter(([lower]) => !required.has(lower))
    .map(([, original]) => original)
    .sort((a, b) => a.localeCompare(b));
  return { missing, extra };
}

export const EXCESS_PERMISSIONS_WARNING = 'excess_permissions';

/**
 * The run warning for permissions beyond the two sync needs, or null when
 * there are none. Sync still runs: excess is a least-privilege concern, not
 * a failure.
 */
export function excessPermissionsWarning(extra: readonly string[]): RunWarning | null {
  if (extra.length === 0) return null;
  const list = [...extra].sort((a, b) => a.localeCompare(b)).join(', ');
  return {
    code: EXCESS_PERMISSIONS_WARNING,
    message:
      `The app registration holds Microsoft Graph application permissions that sync does not need: ${list}. ` +
      `Sync only reads users and group membership (${REQUIRED_GRAPH_ROLES.join(' and ')}). ` +
      'To follow least privilege, remove the others in the Microsoft Entra admin center: ' +
      'Entra ID → App registrations → your app → API permissions (then revoke their admin consent).',
  };
}

/**
 * The tenant-wide admin-consent link for the app: opened by an administrator
 * of the tenant, it grants the permissions configured on the app registration.
 */
export function adminConsentUrl(authorityHost: string, tenantId: string, clientId: string): string {
  const host = authorityHost.replace(/\/+$/, '');
  return `${host}/${encodeURIComponent(tenantId)}/adminconsent?client_id=${encodeURIComponent(clientId)}`;
}
