import {
  authMethodOf,
  buildFailure,
  classifyGraphError,
  evaluateGrantedRoles,
  excessPermissionsWarning,
  type FailureCode,
  type FailureContext,
  type GroupSighting,
  guidSchema,
  looksLikeGuid,
  planCertificateAttempts,
  type RunWarning,
  tenantIdSchema,
} from '@pinnacle/domain';
import {
  EntraTokenError,
  GraphReader,
  type GraphReaderOptions,
  GraphRequestError,
  type GraphTokenProvider,
} from '@pinnacle/entra-graph';
import {
  authenticate as acquireToken,
  type CertificateSource,
  type SyncCertificate,
  type SyncCredential,
} from './credentials.js';
import { SyncStoppedError, TransientSyncError } from './sync-errors.js';
import { tokenFailure } from './token-errors.js';

export interface EntraEndpoints {
  authorityHost: string;
  graphBaseUrl: string;
}

/**
 * The stored settings preflight reads (the store's integration record has
 * this shape). Loose on purpose: preflight re-validates every value, so a
 * record written by an older version surfaces as `settings_invalid` with
 * the field named.
 */
export interface PreflightSettings {
  tenantId: string | null;
  clientId: string | null;
  groupIds: readonly string[];
  secret: { expiresAt: string | null } | null;
  includeDisabledUsers: boolean;
  massRemovalGuard: { maxRemovedPercent: number; minRemovedUsers: number };
  /** `client_secret` (also when absent: records from before certificates) or `certificate`. */
  authMethod?: string | null | undefined;
}

/** Settings that passed preflight's checks, in the shape fetch and commit use. */
export interface ValidatedSettings {
  tenantId: string;
  clientId: string;
  groupIds: string[];
  includeDisabledUsers: boolean;
  massRemovalGuard: { maxRemovedPercent: number; minRemovedUsers: number };
}

/** How hard one Graph request is tried: a sync waits long, an admin's click should not. */
export type GraphRetryOptions = Pick<GraphReaderOptions, 'maxRetries' | 'maxRetryDelayMs'>;

/**
 * What signing in to Entra ID needs: the stored settings, the credential
 * (the decrypted secret, or the org's certificates), where to go.
 */
export interface ConnectInput {
  integration: PreflightSettings;
  /** The decrypted secret, or null when none is stored (or the org is on certificates). */
  clientSecret: string | null;
  /** The org's certificates, for an org that authenticates with them. */
  certificates?: CertificateSource;
  endpoints: EntraEndpoints;
  now: Date;
  graphTimeoutMs?: number;
  /** Retries of one Graph request on transient answers (GraphReader's defaults otherwise). */
  graphRetries?: GraphRetryOptions;
}

/** Signed in, with the permissions sync needs: a Graph reader for this app in this tenant. */
export interface GraphConnection {
  tenantId: string;
  clientId: string;
  /** What failure texts may say about this app (IDs, the consent link's authority). */
  context: FailureContext;
  graph: GraphReader;
  /** Where the Graph reader's tokens come from; its stats count the token requests. */
  tokens: GraphTokenProvider;
  /** Excess permissions, as a least-privilege warning. */
  warnings: RunWarning[];
  /** Token requests of older certificates Entra refused before one was accepted. */
  refusedTokenRequests: number;
  /** The certificate Entra accepted (null on the client secret). */
  certificate: SyncCertificate | null;
}

export interface PreflightResult {
  settings: ValidatedSettings;
  graph: GraphReader;
  /** Where the Graph reader's tokens come from; its stats count the token requests. */
  tokens: GraphTokenProvider;
  groups: { id: string; displayName: string | null }[];
  warnings: RunWarning[];
  /** Token requests of older certificates Entra refused before one was accepted. */
  refusedTokenRequests: number;
  /** The certificate Entra accepted (null on the client secret). */
  certificate: SyncCertificate | null;
}

export interface PreflightInput extends ConnectInput {
  /**
   * Told what the group check saw of every selected group (found with its
   * name, or missing) before preflight goes on or stops on missing groups.
   * Not called when the check could not finish (transient trouble).
   */
  onGroupsChecked?: (groups: GroupSighting[]) => Promise<void>;
}

function stop(code: FailureCode, details: Record<string, unknown>, context: FailureContext): never {
  throw new SyncStoppedError(buildFailure(code, details, context), 'preflight');
}

interface CheckedSettings {
  tenantId: string;
  clientId: string;
  context: FailureContext;
}

/**
 * Settings complete (`settings_incomplete`) and well formed
 * (`settings_invalid`, every bad field named); the selected group IDs too
 * when `groups` is set (a group search needs none selected).
 */
function checkSettings(input: ConnectInput, groups: boolean): CheckedSettings {
  const { integration, clientSecret, endpoints } = input;
  const method = authMethodOf(integration);
  const baseContext: FailureContext = {
    authorityHost: endpoints.authorityHost,
    authMethod: method,
  };
  const missing: string[] = [];
  if (!integration.tenantId) missing.push('tenantId');
  if (!integration.clientId) missing.push('clientId');
  // On certificates no secret is needed: a certificate that is not retired is.
  if (method === 'client_secret' && !clientSecret) missing.push('clientSecret');
  if (
    method === 'certificate' &&
    planCertificateAttempts(input.certificates?.certificates ?? [], input.now).kind === 'none'
  ) {
    missing.push('certificate');
  }
  if (missing.length > 0) stop('settings_incomplete', { missing }, baseContext);

  const fields: string[] = [];
  const tenant = tenantIdSchema.safeParse(integration.tenantId);
  if (!tenant.success) fields.push('tenantId');
  const client = guidSchema.safeParse(integration.clientId);
  if (!client.success) fields.push('clientId');
  if (groups) {
    integration.groupIds.forEach((id, i) => {
      if (!guidSchema.safeParse(id).success) fields.push(`groupIds[${i}]`);
    });
  }
  // The secret's recorded expiry matters only while the org authenticates with it.
  const expiresAt = method === 'client_secret' ? (integration.secret?.expiresAt ?? null) : null;
  if (expiresAt !== null && !Number.isFinite(Date.parse(expiresAt)))
    fields.push('clientSecretExpiresAt');
  if (fields.length > 0 || !tenant.success || !client.success)
    stop('settings_invalid', { fields }, baseContext);

  return {
    tenantId: tenant.data,
    clientId: client.data,
    context: {
      ...baseContext,
      tenantId: tenant.data,
      clientId: client.data,
      ...(method === 'client_secret'
        ? { secretLooksLikeGuid: looksLikeGuid(clientSecret as string) }
        : {}),
    },
  };
}

/**
 * The credential: with a secret, its recorded expiry not past
 * (`client_secret_expired` without asking Entra); with certificates, a usable
 * one (see credentials.ts). Then a token from Entra (its refusal classified
 * by code), and the token's roles holding what sync needs (`consent_missing`).
 */
async function authenticate(
  input: ConnectInput,
  checked: CheckedSettings,
): Promise<GraphConnection> {
  const { integration, endpoints, now } = input;
  const { tenantId, clientId, context } = checked;
  const method = authMethodOf(integration);
  const expiresAt = method === 'client_secret' ? (integration.secret?.expiresAt ?? null) : null;
  if (expiresAt !== null && Date.parse(expiresAt) <= now.getTime()) {
    // The recorded expiry has passed: no need to ask Entra.
    stop('client_secret_expired', { expiresAt, source: 'recorded_expiry' }, context);
  }

  // One provider for the whole sync: every Graph request takes its token
  // from it, so a sync that outlives a token renews it instead of failing.
  const credential: SyncCredential =
    method === 'certificate'
      ? {
          type: 'certificate',
          source: input.certificates ?? { certificates: [], revealPrivateKey: async () => null },
        }
      : { type: 'client_secret', clientSecret: input.clientSecret as string };
  const { tokens, token, refusedTokenRequests, certificate } = await acquireToken({
    credential,
    tenantId,
    clientId,
    authorityHost: endpoints.authorityHost,
    now,
    timeoutMs: input.graphTimeoutMs,
    context,
  });

  const roles = evaluateGrantedRoles(token.claims.roles);
  if (roles.missing.length > 0) {
    stop(
      'consent_missing',
      { missingPermissions: roles.missing, grantedPermissions: token.claims.roles },
      context,
    );
  }
  const warnings: RunWarning[] = [];
  const excess = excessPermissionsWarning(roles.extra);
  if (excess) warnings.push(excess);

  const graph = new GraphReader({
    baseUrl: endpoints.graphBaseUrl,
    tokens,
    ...(input.graphTimeoutMs ? { timeoutMs: input.graphTimeoutMs } : {}),
    ...input.graphRetries,
  });
  return {
    tenantId,
    clientId,
    context,
    graph,
    tokens,
    warnings,
    refusedTokenRequests,
    certificate,
  };
}

/**
 * The credential half of preflight alone: settings, secret expiry, token,
 * permissions. For reading Graph with an org's stored credentials outside a
 * sync (a group search); throws SyncStoppedError or TransientSyncError as
 * preflight does.
 */
export async function connectToGraph(input: ConnectInput): Promise<GraphConnection> {
  const checked = checkSettings(input, false);
  return authenticate(input, checked);
}

/**
 * Preflight: is the configuration complete and valid, can we authenticate,
 * do we hold the permissions, do the selected groups exist? The first
 * blocking issue stops the sync before anything is fetched.
 */
export async function runPreflight(input: PreflightInput): Promise<PreflightResult> {
  const { integration } = input;
  const checked = checkSettings(input, true);
  if (integration.groupIds.length === 0) stop('groups_not_configured', {}, checked.context);
  const {
    graph,
    tokens,
    warnings,
    context,
    tenantId,
    clientId,
    refusedTokenRequests,
    certificate,
  } = await authenticate(input, checked);

  const groupIds = integration.groupIds.map((id) => id.toLowerCase());
  // JSON $batch requests of up to 20 group checks, each answered on its own.
  const lookups = await graph.getGroups(groupIds).catch((error: unknown) => {
    // A token renewed (or refreshed) during the lookups and refused.
    if (error instanceof EntraTokenError) throw tokenFailure(error, 'preflight', context);
    // The batch itself failed for good (transient trouble outlasted its retries, or worse).
    if (error instanceof GraphRequestError) return groupIds.map((groupId) => ({ groupId, error }));
    throw error;
  });
  const notFound: string[] = [];
  for (const lookup of lookups) {
    if (!('error' in lookup) || lookup.error === undefined) continue;
    const verdict = classifyGraphError({
      status: lookup.error.status,
      code: lookup.error.graphCode ?? undefined,
      context: 'group',
    });
    if (verdict.kind === 'transient') {
      throw new TransientSyncError('preflight', `group lookup: ${lookup.error.message}`, {
        cause: lookup.error,
      });
    }
    if (verdict.code === 'group_not_found') notFound.push(lookup.groupId);
    else stop(verdict.code, verdict.details, context);
  }
  const found = lookups.flatMap((l) => ('group' in l && l.group ? [l.group] : []));
  await input.onGroupsChecked?.(
    groupIds.map((id): GroupSighting => {
      const group = found.find((g) => g.id.toLowerCase() === id);
      return { id, displayName: group?.displayName ?? null, missing: group === undefined };
    }),
  );
  if (notFound.length > 0) stop('group_not_found', { groupIds: notFound }, context);

  return {
    settings: {
      tenantId,
      clientId,
      groupIds,
      includeDisabledUsers: integration.includeDisabledUsers,
      massRemovalGuard: integration.massRemovalGuard,
    },
    graph,
    tokens,
    groups: found,
    warnings,
    refusedTokenRequests,
    certificate,
  };
}
