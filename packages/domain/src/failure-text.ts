import {
  type EntraErrorDetails,
  FAILURE_CATEGORY,
  type FailureCode,
  type FailureDetailsByCode,
  type SyncFailure,
} from './failures.js';
import { adminConsentUrl, REQUIRED_GRAPH_ROLES } from './permissions.js';

/*
 * The admin-facing text of the failure catalogue (failures.ts): for each code
 * its title, what happened and the remediation steps, built from the code's
 * details and a context that never holds a secret.
 */

/**
 * What the failure text may mention besides `details`. It takes no secret:
 * only whether the stored secret looks like a GUID (worked out by the caller).
 */
export type FailureContext = {
  /** Token authority, for the admin-consent link. Default https://login.microsoftonline.com. */
  authorityHost?: string;
  tenantId?: string | null;
  clientId?: string | null;
  /** The stored secret has a GUID's shape: most likely its Secret ID was pasted. */
  secretLooksLikeGuid?: boolean;
  /** How the service authenticated (default the client secret): the advice follows it. */
  authMethod?: 'client_secret' | 'certificate';
};

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/** Short lower-case titles, for email subjects ("Entra ID sync failed: client secret expired"). */
const SHORT_TITLES: Readonly<Record<FailureCode, string>> = {
  settings_incomplete: 'settings incomplete',
  settings_invalid: 'settings invalid',
  client_secret_expired: 'client secret expired',
  client_secret_invalid: 'client secret invalid',
  app_not_found: 'application not found',
  tenant_not_found: 'tenant not found',
  app_disabled: 'application disabled',
  access_blocked: 'blocked by Conditional Access',
  certificate_not_registered: 'certificate not registered',
  certificate_expired: 'certificate expired',
  consent_missing: 'admin consent missing',
  groups_not_configured: 'no groups selected',
  group_not_found: 'group not found',
  mass_removal_blocked: 'mass removal blocked',
  directory_too_large: 'too many users',
  entra_unreachable: 'Microsoft Entra ID unreachable',
  authentication_failed: 'authentication failed',
  internal_error: 'internal error',
};

export function failureTitle(code: FailureCode): string {
  return SHORT_TITLES[code];
}

const ADMIN_CENTER = 'Microsoft Entra admin center (https://entra.microsoft.com)';
const AUTH_INCOMPLETE = 'Authentication with Microsoft Entra ID could not be completed';
const NOTHING_CHANGED = 'No data was synced and the existing user list was left unchanged.';

const FIELD_LABELS: Readonly<Record<string, string>> = {
  tenantId: 'tenant ID',
  clientId: 'client (application) ID',
  clientSecret: 'client secret',
  clientSecretExpiresAt: 'client secret expiry date',
  groupIds: 'selected groups',
  schedule: 'schedule',
  notifications: 'notifications',
  massRemovalGuard: 'mass-removal guard',
  certificate: 'certificate',
  authMethod: 'authentication method',
};

function fieldLabel(field: string): string {
  const root = field.split(/[.[]/)[0] ?? field;
  const label = FIELD_LABELS[root];
  if (!label) return field;
  return root === field ? label : `${label} (${field})`;
}

function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function appText(ctx: FailureContext): string {
  return ctx.clientId ? ` with application (client) ID ${ctx.clientId}` : '';
}

function tenantText(ctx: FailureContext): string {
  return ctx.tenantId ? ` "${ctx.tenantId}"` : '';
}

function aadsts(details: EntraErrorDetails): string {
  const codes = details.errorCodes ?? [];
  return codes.length ? ` (Entra ID error ${codes.map((c) => `AADSTS${c}`).join(', ')})` : '';
}

function supportIds(details: EntraErrorDetails): string {
  const ids = [
    details.traceId ? `trace ID ${details.traceId}` : null,
    details.correlationId ? `correlation ID ${details.correlationId}` : null,
  ].filter((x): x is string => x !== null);
  return ids.length ? ` and give them ${listText(ids)}` : '';
}

function formatDate(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : null;
}

function newSecretSteps(ctx: FailureContext): string[] {
  return [
    `Generate a new client secret in Entra ID: in the ${ADMIN_CENTER}, go to Entra ID → App registrations → open the app${appText(ctx)} → Certificates & secrets → Client secrets → New client secret.`,
    'Copy the new secret\'s Value right away (Entra ID shows it only once). Do not copy the "Secret ID": it is not the secret.',
    'Update it in the integration settings: paste the value as the client secret, enter the expiry date shown in Entra ID, and save. Nothing else needs to change.',
    'Run Sync Now to confirm the integration works again.',
  ];
}

type Text = { title: string; message: string; remediation: string[] };

type Builders = {
  [C in FailureCode]: (details: FailureDetailsByCode[C], ctx: FailureContext) => Text;
};

const builders: Builders = {
  settings_incomplete: (d) => {
    const labels = d.missing.map(fieldLabel);
    const steps: string[] = [];
    if (d.missing.includes('tenantId')) {
      steps.push(
        `Tenant ID: in the ${ADMIN_CENTER}, go to Entra ID → Overview and copy the Tenant ID.`,
      );
    }
    if (d.missing.includes('clientId')) {
      steps.push(
        `Client ID: in the ${ADMIN_CENTER}, go to Entra ID → App registrations → your app → Overview and copy the Application (client) ID (not the Object ID).`,
      );
    }
    if (d.missing.includes('clientSecret') || d.missing.includes('clientSecretExpiresAt')) {
      steps.push(
        `Client secret: in the ${ADMIN_CENTER}, go to Entra ID → App registrations → your app → Certificates & secrets → New client secret, and copy its Value (not its Secret ID) and its expiry date.`,
      );
    }
    if (d.missing.includes('certificate')) {
      steps.push(
        `Certificate: the integration authenticates with a certificate, and it has none that is not retired. In the integration settings, under Certificates, create a certificate and download it (.cer); then in the ${ADMIN_CENTER} go to Entra ID → App registrations → your app → Certificates & secrets → Certificates → Upload certificate, and upload that file. (Or switch the authentication method back to the client secret.)`,
      );
    }
    steps.push('Enter the missing values in the integration settings, save, and run Sync Now.');
    return {
      title: 'Integration settings incomplete',
      message: `The Entra ID integration settings are incomplete: ${listText(labels) || 'required values'} ${labels.length === 1 ? 'is' : 'are'} missing, so sync cannot sign in to Microsoft Entra ID. ${NOTHING_CHANGED}`,
      remediation: steps,
    };
  },

  settings_invalid: (d) => ({
    title: 'Integration settings invalid',
    message: `Some Entra ID integration settings are not valid: ${listText(d.fields.map(fieldLabel)) || 'unknown fields'}. Sync cannot start until they are corrected. ${NOTHING_CHANGED}`,
    remediation: [
      'Open the integration settings, re-enter the values named above (the tenant ID must be a GUID or a domain such as contoso.onmicrosoft.com, the client ID and group IDs must be GUIDs), and save.',
      'Run Sync Now to confirm.',
    ],
  }),

  client_secret_expired: (d, ctx) => {
    const on = formatDate(d.expiresAt);
    const how =
      d.source === 'entra'
        ? `Entra ID reports that the client secret of the app registration${appText(ctx)} has expired${aadsts(d)}`
        : `the client secret of the app registration${appText(ctx)} expired${on ? ` on ${on}` : ''}, and Entra ID no longer accepts an expired secret`;
    return {
      title: 'Client secret expired',
      message: `${AUTH_INCOMPLETE}: ${how}. ${NOTHING_CHANGED}`,
      remediation: newSecretSteps(ctx),
    };
  },

  client_secret_invalid: (d, ctx) => {
    const guid = ctx.secretLooksLikeGuid
      ? ' The stored secret looks like a GUID, so it is most likely the secret\'s ID (the "Secret ID" column in Entra ID) pasted instead of its value.'
      : ' The secret may have been mistyped, copied incompletely, deleted in Entra ID, or belong to another app.';
    const steps = newSecretSteps(ctx);
    if (ctx.secretLooksLikeGuid) {
      steps.unshift(
        'The "Secret ID" shown in Certificates & secrets is not the secret, and the value of an existing secret cannot be shown again, so create a new secret.',
      );
    }
    return {
      title: 'Client secret invalid',
      message: `${AUTH_INCOMPLETE}: Entra ID rejected the client secret of the app registration${appText(ctx)}${aadsts(d)}.${guid} ${NOTHING_CHANGED}`,
      remediation: steps,
    };
  },

  app_not_found: (d, ctx) => ({
    title: 'Application not found',
    message: `${AUTH_INCOMPLETE}: Entra ID has no application with the configured client ID${appText(ctx)} in the tenant${tenantText(ctx)}${aadsts(d)}. The client ID may be wrong, or the app is registered in a different tenant than the one configured. ${NOTHING_CHANGED}`,
    remediation: [
      `In the ${ADMIN_CENTER}, go to Entra ID → App registrations → your app → Overview and copy the Application (client) ID (not the Object ID).`,
      'On the same Overview page, check that the Directory (tenant) ID matches the tenant ID in the integration settings.',
      'If the app is registered in another tenant (multi-tenant app), an administrator of this tenant must grant it admin consent so it exists here as an enterprise application.',
      'Update the integration settings, save, and run Sync Now.',
    ],
  }),

  tenant_not_found: (d, ctx) => {
    const tenant = d.tenantId ?? ctx.tenantId ?? null;
    return {
      title: 'Tenant not found',
      message: `${AUTH_INCOMPLETE}: Entra ID does not know the tenant${tenant ? ` "${tenant}"` : ''}${aadsts(d)}. The tenant ID in the integration settings must be your directory (tenant) ID or a verified domain of your tenant. ${NOTHING_CHANGED}`,
      remediation: [
        `Check the Directory (tenant) ID: in the ${ADMIN_CENTER}, go to Entra ID → App registrations → open the app${appText(ctx)} → Overview, and copy the "Directory (tenant) ID" shown there (a GUID).`,
        'Or use a verified domain listed under Entra ID → Domain names, such as contoso.onmicrosoft.com.',
        'Enter it as the tenant ID in the integration settings, save, and run Sync Now.',
      ],
    };
  },

  app_disabled: (d, ctx) => ({
    title: 'Application disabled',
    message: `${AUTH_INCOMPLETE}: the application${appText(ctx)} is disabled in the tenant${tenantText(ctx)}${aadsts(d)}, so Entra ID issues it no tokens. An administrator (or Microsoft, for an app it flagged) turned off its sign-in. ${NOTHING_CHANGED}`,
    remediation: [
      `A tenant administrator must enable the app again: in the ${ADMIN_CENTER}, go to Entra ID → Enterprise applications → open the app${appText(ctx)} → Properties, set "Enabled for users to sign-in?" to Yes, and save.`,
      'If the app was disabled by Microsoft (its Properties page says so), the administrator must follow the steps shown there or contact Microsoft support; it cannot be re-enabled from Pinnacle.',
      'Run Sync Now to confirm the integration works again.',
    ],
  }),

  access_blocked: (d, ctx) => ({
    title: 'Blocked by Conditional Access',
    message: `${AUTH_INCOMPLETE}: a Conditional Access policy in the tenant${tenantText(ctx)} blocks tokens for the application${appText(ctx)}${aadsts(d)}. Policies for workload identities can block an app by location (the IP addresses Pinnacle connects from) or by risk. ${NOTHING_CHANGED}`,
    remediation: [
      `A tenant administrator must find the policy: in the ${ADMIN_CENTER}, go to Entra ID → Monitoring & health → Sign-in logs → Service principal sign-ins, open the failed sign-in of the app${appText(ctx)}${d.correlationId ? ` (correlation ID ${d.correlationId})` : ''}, and read its Conditional Access tab.`,
      "Then change that policy (Entra ID → Conditional Access → Policies): exclude this app from it, or add the network locations Pinnacle connects from to the policy's trusted locations.",
      "If the app was blocked for risk, dismiss or remediate the service principal's risk under ID Protection → Risky workload identities.",
      'Run Sync Now to confirm the integration works again.',
    ],
  }),

  certificate_not_registered: (d, ctx) => {
    const thumbprint = d.thumbprint ? ` ${d.thumbprint}` : '';
    const older =
      d.triedThumbprints && d.triedThumbprints.length > 1
        ? ` None of the integration's certificates (${listText(d.triedThumbprints)}) is accepted.`
        : '';
    return {
      title: 'Certificate not registered',
      message: `${AUTH_INCOMPLETE}: Entra ID does not accept the certificate with thumbprint${thumbprint}: it is not registered on the app registration${appText(ctx)}${aadsts(d)}.${older} ${NOTHING_CHANGED}`,
      remediation: [
        `Download the certificate${thumbprint ? ` with thumbprint${thumbprint}` : ''} from the integration settings (Certificates → Download .cer).`,
        `In the ${ADMIN_CENTER}, go to Entra ID → App registrations → open the app${appText(ctx)} → Certificates & secrets → Certificates → Upload certificate, select the .cer file and add it.`,
        `Check that the Thumbprint column there reads${thumbprint || ' the thumbprint shown in the integration settings'}; if the app belongs to another tenant or client ID, upload it to the app the integration names.`,
        'Run Sync Now to confirm the integration works again.',
      ],
    };
  },

  certificate_expired: (d, ctx) => {
    const on = formatDate(d.notAfter);
    return {
      title: 'Certificate expired',
      message: `${AUTH_INCOMPLETE}: the certificate${d.thumbprint ? ` with thumbprint ${d.thumbprint}` : ''} the integration authenticates with expired${on ? ` on ${on}` : ''}, and Entra ID no longer accepts an expired certificate. ${NOTHING_CHANGED}`,
      remediation: [
        'In the integration settings, under Certificates, create a new certificate and download it (.cer). Its private key stays with Pinnacle; nothing secret needs to be copied.',
        `In the ${ADMIN_CENTER}, go to Entra ID → App registrations → open the app${appText(ctx)} → Certificates & secrets → Certificates → Upload certificate, and upload the new file.`,
        'Run Sync Now: the new certificate is used as soon as Entra ID accepts it. Then remove the expired certificate from the app registration.',
      ],
    };
  },

  consent_missing: (d, ctx) => {
    const missing = d.missingPermissions.length ? d.missingPermissions : [...REQUIRED_GRAPH_ROLES];
    const steps = [
      `In the ${ADMIN_CENTER}, go to Entra ID → App registrations → open the app${appText(ctx)} → API permissions → Add a permission → Microsoft Graph → Application permissions, and add ${listText(missing)} (Application, not Delegated).`,
      'Select "Grant admin consent" for your tenant. This needs a Global Administrator or Privileged Role Administrator.',
    ];
    if (ctx.tenantId && ctx.clientId) {
      const url = adminConsentUrl(
        ctx.authorityHost ?? DEFAULT_AUTHORITY_HOST,
        ctx.tenantId,
        ctx.clientId,
      );
      steps.push(
        `Alternatively, once the permissions are on the app registration, an administrator can open this admin-consent link: ${url}`,
      );
    }
    steps.push('Wait a few minutes for the consent to take effect, then run Sync Now.');
    return {
      title: 'Admin consent missing',
      message: `The app registration${appText(ctx)} lacks admin consent for the Microsoft Graph application permission${missing.length === 1 ? '' : 's'} ${listText(missing)}. Without ${missing.length === 1 ? 'it' : 'them'}, Microsoft Graph refuses to list users and group members. ${NOTHING_CHANGED}`,
      remediation: steps,
    };
  },

  groups_not_configured: () => ({
    title: 'No groups selected',
    message:
      'No Entra ID groups are selected, so there is nothing to sync: sync reads only the members of the groups you choose. No data was synced.',
    remediation: [
      'Open the integration settings and select at least one Entra ID group.',
      `A group's ID is its Object ID: in the ${ADMIN_CENTER}, go to Entra ID → Groups → All groups → the group → Overview.`,
      'Save and run Sync Now.',
    ],
  }),

  group_not_found: (d) => {
    const n = d.groupIds.length;
    return {
      title: n === 1 ? 'Selected group not found' : 'Selected groups not found',
      message: `${n === 1 ? 'A selected group does' : `${n} selected groups do`} not exist in Entra ID: ${listText(d.groupIds)}. Sync stopped so that their members are not removed by mistake. ${NOTHING_CHANGED}`,
      remediation: [
        `In the ${ADMIN_CENTER}, go to Entra ID → Groups → All groups and search for ${n === 1 ? 'the ID' : 'each ID'}. A deleted Microsoft 365 group can be restored from Deleted groups within 30 days.`,
        `Otherwise remove ${n === 1 ? 'it' : 'them'} from the selected groups in the integration settings (or select the replacement group), save, and run Sync Now.`,
      ],
    };
  },

  mass_removal_blocked: (d) => ({
    title: 'Mass removal blocked',
    message: `This sync would remove ${d.removedUsers} of ${d.currentUsers} synced users (${d.removedPercent}%), more than the allowed ${d.maxRemovedPercent}% and more than ${d.minRemovedUsers} users. As a safety measure nothing was changed: the previous user list is still in place.`,
    remediation: [
      'Check whether this is expected: a group was removed from the selection or replaced, memberships changed in Entra ID, or many accounts were disabled or deleted.',
      'If it is not expected, correct the groups or memberships in Entra ID (or the selected groups in the integration settings) and run Sync Now again.',
      'If it is expected, run Sync Now with "Allow mass removal" to apply it once (API: POST /api/v1/orgs/{orgId}/syncs with {"allowMassRemoval": true}); the guard stays on for later runs.',
      'To change the limit for good, adjust the mass-removal guard (maximum share and minimum number of removed users) in the integration settings.',
    ],
  }),

  directory_too_large: (d) => {
    const count = d.users.toLocaleString('en-US');
    const max = d.maxUsers.toLocaleString('en-US');
    const found =
      d.countedFrom === 'group_member_count' && d.groupId
        ? `the selected group ${d.groupId} alone has ${count} members`
        : `the selected groups hold at least ${count} users`;
    return {
      title: 'Too many users to sync',
      message: `Sync stopped because ${found}, more than the ${max} users this integration can sync. Syncing only the people who use Pinnacle keeps the integration fast and reliable. ${NOTHING_CHANGED}`,
      remediation: [
        'Check the selected groups: a group such as "All users" or "All company" usually holds far more accounts than the people who use Pinnacle (guests, service and shared mailboxes, former staff).',
        `Select smaller groups that hold only those people (in the ${ADMIN_CENTER}, Entra ID → Groups shows each group's member count), save, and run Sync Now.`,
        `If your organisation really needs more than ${max} users synced, contact Pinnacle support.`,
      ],
    };
  },

  entra_unreachable: (d) => {
    const attempts = d.attempts ? ` after ${d.attempts} attempts` : ' after several attempts';
    const reason = d.lastReason ? ` (last problem: ${d.lastReason.replace(/_/g, ' ')})` : '';
    return {
      title: 'Microsoft Entra ID unreachable',
      message: `Microsoft Entra ID or Microsoft Graph could not be reached${attempts}${reason}. This is usually a temporary problem at Microsoft or in the network, not a problem with your settings. ${NOTHING_CHANGED}`,
      remediation: [
        'No action is needed if the next scheduled sync succeeds; you will be told when the integration has recovered.',
        'Check Microsoft 365 service health (Microsoft 365 admin center → Health → Service health) for Entra ID or Microsoft Graph incidents.',
        'If it keeps failing, contact Pinnacle support with the run ID.',
      ],
    };
  },

  authentication_failed: (d, ctx) => {
    const first = d.errorCodes?.[0];
    const steps = [
      `In the ${ADMIN_CENTER}, check that the app registration${appText(ctx)} exists in this tenant, is enabled, and is not blocked by a Conditional Access policy for workload identities.`,
      ctx.authMethod === 'certificate'
        ? "Check that the integration's certificate is uploaded to the app registration (Certificates & secrets → Certificates, the same thumbprint as in the integration settings); if in doubt, create a new certificate in the integration settings and upload it."
        : 'If the client secret may be wrong, generate a new client secret in Entra ID (Certificates & secrets → New client secret, copy its Value) and update it in the integration settings.',
      `Run Sync Now. If it still fails, contact Pinnacle support${supportIds(d)}.`,
    ];
    if (first !== undefined) {
      steps.unshift(
        `Look up AADSTS${first} at https://login.microsoftonline.com/error?code=${first} for its cause.`,
      );
    }
    return {
      title: 'Authentication failed',
      message: `${AUTH_INCOMPLETE}: Entra ID refused to sign in the app registration${appText(ctx)}${aadsts(d)}. ${NOTHING_CHANGED}`,
      remediation: steps,
    };
  },

  internal_error: (d) => ({
    title: 'Internal error',
    message:
      d.reason === 'worker_lost'
        ? // The sync job's worker died (or lost the job) more often than it is retried.
          'The sync stopped because the Pinnacle process running it stopped repeatedly, not because of your Entra ID configuration. No data was synced and the existing user list was left unchanged.'
        : 'The sync stopped because of an internal error in Pinnacle, not because of your Entra ID configuration. No data was synced and the existing user list was left unchanged.',
    remediation: [
      'Run Sync Now to try again.',
      'If it keeps failing, contact Pinnacle support with the run ID.',
    ],
  }),
};

/**
 * Builds the admin-facing failure for `code`: title, message and remediation
 * steps from the code, its details and context (never from a secret).
 */
export function buildFailure<C extends FailureCode>(
  code: C,
  details: FailureDetailsByCode[C],
  context: FailureContext = {},
): SyncFailure {
  const text = (builders[code] as (d: FailureDetailsByCode[C], c: FailureContext) => Text)(
    details,
    context,
  );
  return {
    code,
    category: FAILURE_CATEGORY[code],
    title: text.title,
    message: text.message,
    remediation: text.remediation,
    retryable: false,
    details: { ...details },
  };
}
