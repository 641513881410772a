import { z } from 'zod';

/*
 * The failure catalogue: the contract every role and the API share (the
 * codes, their categories, the stored failure's schema and the details each
 * code carries). What an admin reads about a failure (titles, causes,
 * remediation) is written apart, in failure-text.ts, so the contract does not
 * change when the wording does.
 */

/** The failure codes of DESIGN.md, plus `authentication_failed` and `internal_error`. */
export const failureCodeSchema = z.enum([
  'settings_incomplete',
  'settings_invalid',
  'client_secret_expired',
  'client_secret_invalid',
  'app_not_found',
  'tenant_not_found',
  /** AADSTS7000112: the application (its service principal) is disabled in the tenant. */
  'app_disabled',
  /** AADSTS53003: a Conditional Access policy for workload identities blocks the token. */
  'access_blocked',
  /** AADSTS700027: the certificate the assertion names is not registered on the app (or its signature fails). */
  'certificate_not_registered',
  /** The certificate's notAfter has passed (checked before calling Entra). */
  'certificate_expired',
  'consent_missing',
  'groups_not_configured',
  'group_not_found',
  'mass_removal_blocked',
  /** The selected groups hold more users than the org may sync (SYNC_MAX_USERS). */
  'directory_too_large',
  'entra_unreachable',
  /** Entra rejected the token request with an AADSTS code not mapped above. */
  'authentication_failed',
  /** A bug-class failure (e.g. an invalid job payload): not the admin's to fix. */
  'internal_error',
]);
export type FailureCode = z.infer<typeof failureCodeSchema>;
export const FAILURE_CODES = failureCodeSchema.options;

export const failureCategorySchema = z.enum([
  'configuration',
  'credentials',
  'permissions',
  'groups',
  'safety',
  'connectivity',
  'internal',
]);
export type FailureCategory = z.infer<typeof failureCategorySchema>;

/** DESIGN.md's category of each code. */
export const FAILURE_CATEGORY: Readonly<Record<FailureCode, FailureCategory>> = {
  settings_incomplete: 'configuration',
  settings_invalid: 'configuration',
  client_secret_expired: 'credentials',
  client_secret_invalid: 'credentials',
  app_not_found: 'configuration',
  tenant_not_found: 'configuration',
  app_disabled: 'configuration',
  access_blocked: 'permissions',
  certificate_not_registered: 'credentials',
  certificate_expired: 'credentials',
  consent_missing: 'permissions',
  groups_not_configured: 'groups',
  group_not_found: 'groups',
  mass_removal_blocked: 'safety',
  directory_too_large: 'safety',
  entra_unreachable: 'connectivity',
  authentication_failed: 'credentials',
  internal_error: 'internal',
};

/** A blocking failure of a run: what the admin sees. Never holds a secret. */
export const syncFailureSchema = z.object({
  code: failureCodeSchema,
  category: failureCategorySchema,
  title: z.string().min(1),
  message: z.string().min(1),
  remediation: z.array(z.string().min(1)).min(1),
  /** Always false: a blocking failure is not retried; transient trouble never becomes one until retries run out. */
  retryable: z.literal(false),
  details: z.record(z.string(), z.unknown()),
});
export type SyncFailure = z.infer<typeof syncFailureSchema>;

/**
 * Which Entra endpoint answered: the token endpoint, or OpenID metadata
 * discovery (`{authority}/{tenant}/v2.0/.well-known/openid-configuration`),
 * which MSAL reads first for any authority host that is not Microsoft's.
 */
export type EntraEndpoint = 'token' | 'metadata_discovery';

/** What Entra said, kept for support (never the description text). */
export type EntraErrorDetails = {
  status?: number;
  error?: string;
  errorCodes?: number[];
  traceId?: string;
  correlationId?: string;
  /** Absent for records written before it existed: the token endpoint. */
  endpoint?: EntraEndpoint;
};

/** Which certificate a failure is about: public facts only. */
export type CertificateDetails = {
  certificateId?: string;
  /** SHA-1, upper-case hex, as the Entra admin center shows it. */
  thumbprint?: string;
};

/** A settings field name as the API names it (e.g. `tenantId`, `groupIds[2]`). */
export type SettingsField = string;

/** The `details` each code carries. */
export type FailureDetailsByCode = {
  settings_incomplete: { missing: SettingsField[] };
  settings_invalid: { fields: SettingsField[] };
  client_secret_expired: EntraErrorDetails & {
    /** The recorded expiry, when that is how it was detected. */
    expiresAt?: string | null;
    source: 'recorded_expiry' | 'entra';
  };
  client_secret_invalid: EntraErrorDetails;
  app_not_found: EntraErrorDetails;
  tenant_not_found: EntraErrorDetails & {
    /** The tenant ID (or domain) the settings hold, which Entra does not know. */
    tenantId?: string;
  };
  app_disabled: EntraErrorDetails;
  access_blocked: EntraErrorDetails;
  certificate_not_registered: EntraErrorDetails &
    CertificateDetails & {
      /** Certificates tried, newest first, when an older one was tried too. */
      triedThumbprints?: string[];
    };
  certificate_expired: CertificateDetails & { notAfter: string };
  consent_missing: {
    missingPermissions: string[];
    /** `token`: the roles claim lacks them; `graph`: Graph answered 403. */
    source?: 'token' | 'graph';
    status?: number;
    graphCode?: string;
  };
  groups_not_configured: Record<string, never>;
  group_not_found: { groupIds: string[] };
  mass_removal_blocked: {
    currentUsers: number;
    removedUsers: number;
    /** Users in the snapshot that was not committed. */
    newUsers?: number;
    removedPercent: number;
    maxRemovedPercent: number;
    minRemovedUsers: number;
  };
  directory_too_large: {
    /** The ceiling: users one org may sync. */
    maxUsers: number;
    /** At least this many users are in the selected groups (each user once). */
    users: number;
    /**
     * How it was found: one group's member count as Graph gave it with its
     * first page (`groupId`), or the users staged so far.
     */
    countedFrom: 'group_member_count' | 'staged_users';
    groupId?: string;
  };
  entra_unreachable: {
    attempts?: number;
    /** The last transient reason seen (e.g. `throttled`, `server_error`, `timeout`). */
    lastReason?: string;
    status?: number;
  };
  authentication_failed: EntraErrorDetails;
  internal_error: { reason?: string; attempts?: number; status?: number; graphCode?: string };
};
