import { randomBytes } from 'node:crypto';
import type { AadstsError } from './aadsts-error.js';
import { type AssertionReplayCache, checkClientAssertion, JWT_BEARER } from './client-assertion.js';
import { deterministicGuid, isGuid, newGuid } from './ids.js';
import { type SigningKey, signJwt } from './jwt.js';
import type { Application, ClientAssertionReplay, UnknownTenantMode } from './schemas.js';
import type { TenantRegistry, TenantState } from './tenants.js';

/** The resource a client-credentials token is requested for. */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
/** Microsoft Graph's well-known application ID, accepted as resource too. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

// https://github.com/microsoftgraph/windowsupdates-webapplication-sample/issues/6
// https://github.com/microsoftarchive/BatchAI/pull/31 (token endpoint: invalid_request)
function aadstsTenantNotFound(tenant: string): AadstsError {
  return {
    status: 400,
    error: 'invalid_request',
    code: 90002,
    message: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  };
}

// Messages are the text Entra returns today, from real responses quoted in
// public issues (links per entry); clients must act on `error` and
// `error_codes`, never on this text.
export const aadsts = {
  tenantNotFound: (tenant: string): AadstsError => aadstsTenantNotFound(tenant),
  // The same tenant at OpenID metadata discovery: 400 `invalid_tenant`, as quoted in
  // https://github.com/Azure/azure-cli/issues/22145 and
  // https://github.com/Azure/azure-cli/pull/14509 ("OIDC Discovery endpoint rejects our request").
  tenantNotFoundAtDiscovery: (tenant: string): AadstsError => ({
    ...aadstsTenantNotFound(tenant),
    error: 'invalid_tenant',
  }),
  // Not found quoted from discovery; assumed to answer like an unknown tenant does there.
  tenantMalformedAtDiscovery: (tenant: string): AadstsError => ({
    status: 400,
    error: 'invalid_tenant',
    code: 900023,
    message: `Specified tenant identifier '${tenant}' is neither a valid DNS name, nor a valid external domain.`,
  }),
  // https://github.com/caddy-dns/azure/issues/3 (400 invalid_request from the token endpoint)
  tenantMalformed: (tenant: string): AadstsError => ({
    status: 400,
    error: 'invalid_request',
    code: 900023,
    message: `Specified tenant identifier '${tenant}' is neither a valid DNS name, nor a valid external domain.`,
  }),
  // https://github.com/Azure-Samples/ms-identity-python-devicecodeflow/pull/6
  noTenant: (): AadstsError => ({
    status: 400,
    error: 'invalid_request',
    code: 50059,
    message:
      'No tenant-identifying information found in either the request or implied by any provided credentials.',
  }),
  // https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/454 and
  // https://github.com/MicrosoftDocs/azure-docs/issues/21690
  appNotFound: (appId: string, directory: string): AadstsError => ({
    status: 400,
    error: 'unauthorized_client',
    code: 700016,
    message: `Application with identifier '${appId}' was not found in the directory '${directory}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  }),
  // https://github.com/OfficeDev/microsoft-365-agents-toolkit/issues/8621 (401 invalid_client)
  invalidSecret: (appId: string): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 7000215,
    message: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appId}'.`,
  }),
  // https://github.com/dotnet/sign/issues/849 and
  // https://code2care.org/sharepoint/sharepoint-app-error-aadsts7000222-the-provided-client-secret-keys-are-expired (401 invalid_client)
  expiredSecret: (appId: string): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 7000222,
    message: `The provided client secret keys for app '${appId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
  }),
  // https://github.com/Azure-Samples/active-directory-dotnetcore-console-up-v2/issues/10 (401 invalid_client)
  missingSecret: (): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 7000218,
    message:
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  // https://github.com/Worklytics/psoxy/pull/74 (the token endpoint's JSON:
  // unauthorized_client) and https://github.com/EvanBasalik/OOFSponder/issues/42 (the text);
  // code in https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
  appDisabled: (appId: string, displayName: string): AadstsError => ({
    status: 400,
    error: 'unauthorized_client',
    code: 7000112,
    message: `Application '${appId}'(${displayName}) is disabled.`,
  }),
  // Text and code per the reference above (BlockedByConditionalAccess) and
  // https://github.com/microsoft/botbuilder-dotnet/issues/6759 (client credentials);
  // `invalid_grant` with suberror `message_only` as Entra answers it without a user
  // present (https://github.com/MartinIngesen/MSOLSpray/issues/5 shows the suberror).
  blockedByConditionalAccess: (): AadstsError => ({
    status: 400,
    error: 'invalid_grant',
    code: 53003,
    message:
      'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
    suberror: 'message_only',
  }),
  // https://github.com/Azure/azure-sdk-for-python/issues/14241 (503 temporarily_unavailable)
  temporarilyUnavailable: (): AadstsError => ({
    status: 503,
    error: 'temporarily_unavailable',
    code: 90033,
    message: 'A transient error has occurred. Please try again.',
  }),
  // Not Microsoft's text: the tokenError fault's answer names itself as simulated.
  simulated: (f: { status: number; error: string; code: number }): AadstsError => ({
    status: f.status,
    error: f.error,
    code: f.code,
    message: `The Entra simulator was asked to answer AADSTS${f.code} (tokenError fault).`,
  }),
  // Assumed: the same answer as for a malformed assertion (no public quote of this case).
  invalidAssertionType: (): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 50027,
    message: `Invalid JWT token. The client_assertion_type must be '${JWT_BEARER}'.`,
  }),
  missingParameter: (name: string): AadstsError => ({
    status: 400,
    error: 'invalid_request',
    code: 900144,
    message: `The request body must contain the following parameter: '${name}'.`,
  }),
  unsupportedGrant: (grant: string): AadstsError => ({
    status: 400,
    error: 'unsupported_grant_type',
    code: 70003,
    message: `The app requested an unsupported grant type '${grant}'.`,
  }),
  scopeNotDefault: (scope: string): AadstsError => ({
    status: 400,
    error: 'invalid_scope',
    code: 1002012,
    message: `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  }),
  resourceNotFound: (resource: string, tenant: string): AadstsError => ({
    status: 400,
    error: 'invalid_resource',
    code: 500011,
    message: `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  }),
} as const;

/** Entra's timestamp format: "2023-05-06 06:03:00Z". */
function entraTimestamp(now: Date): string {
  return now
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

export interface EntraErrorContext {
  now: Date;
  origin: string;
  correlationId: string;
  traceId?: string;
}

/**
 * The JSON body of a token endpoint error, field for field as Entra sends it;
 * sample: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
 * ("Handling error codes in your application").
 */
export function entraErrorBody(e: AadstsError, ctx: EntraErrorContext) {
  const traceId = ctx.traceId ?? newGuid();
  const ts = entraTimestamp(ctx.now);
  return {
    error: e.error,
    error_description: `AADSTS${e.code}: ${e.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${ctx.correlationId}\r\nTimestamp: ${ts}`,
    error_codes: [e.code],
    timestamp: ts,
    trace_id: traceId,
    correlation_id: ctx.correlationId,
    error_uri: `${ctx.origin}/error?code=${e.code}`,
    ...(e.suberror ? { suberror: e.suberror } : {}),
  };
}

export type TenantRef =
  | { kind: 'id'; value: string }
  | { kind: 'domain'; value: string }
  | { kind: 'none'; value: string }
  | { kind: 'malformed'; value: string };

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/**
 * How Entra reads the tenant path segment: a GUID, a domain name, one of the
 * multi-tenant aliases, or neither (AADSTS900023). Entra does not publish the
 * exact rule; single-label names ('authorize', 'undefined', '{{tenantid}}')
 * and broken GUIDs are the documented 900023 cases.
 */
export function classifyTenant(segment: string): TenantRef {
  const lower = segment.toLowerCase();
  if (isGuid(lower)) return { kind: 'id', value: lower };
  if (lower === 'common' || lower === 'organizations' || lower === 'consumers') {
    return { kind: 'none', value: lower };
  }
  if (DOMAIN.test(lower)) return { kind: 'domain', value: lower };
  return { kind: 'malformed', value: segment };
}

export interface TokenIssueOptions {
  /** Seconds the token lives; Entra's default is about an hour. */
  lifetimeSeconds: number;
  now: Date;
  /** Simulator-wide issue order, so a tenant's tokens can be invalidated up to a point. */
  serial: number;
}

/**
 * `uti` is Entra's opaque per-token ID (16 bytes, base64url). The simulator
 * puts its issue serial in the first six bytes, which keeps the claim's shape
 * while letting Graph tell tokens issued before an invalidation from later ones.
 */
function utiFor(serial: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(serial, 0, 6);
  return bytes.toString('base64url');
}

/** The issue serial of a token this simulator signed, from its `uti`; null when unreadable. */
export function tokenSerial(uti: unknown): number | null {
  if (typeof uti !== 'string') return null;
  const bytes = Buffer.from(uti, 'base64url');
  return bytes.length === 16 ? bytes.readUIntBE(0, 6) : null;
}

/** The service principal object ID of an app in a tenant (stable). */
export function servicePrincipalId(tenantId: string, appId: string): string {
  return deterministicGuid('service-principal', tenantId, appId.toLowerCase());
}

/**
 * An app-only access token for Microsoft Graph. Graph tokens are v1.0 tokens
 * (iss sts.windows.net, `appid`), with the granted application permissions in
 * `roles` (left out when none are granted). Claims per
 * https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
 */
export function issueAccessToken(
  tenant: TenantState,
  app: Application,
  roles: string[],
  key: SigningKey,
  opts: TokenIssueOptions,
): { token: string; expiresIn: number } {
  const tid = tenant.directory.tenantId;
  const nowS = Math.floor(opts.now.getTime() / 1000);
  const oid = servicePrincipalId(tid, app.appId);
  const claims: Record<string, unknown> = {
    aud: GRAPH_RESOURCE,
    iss: `https://sts.windows.net/${tid}/`,
    // Entra backdates iat/nbf by five minutes to absorb clock skew.
    iat: nowS - 300,
    nbf: nowS - 300,
    exp: nowS + opts.lifetimeSeconds,
    aio: randomBytes(48).toString('base64'),
    app_displayname: app.displayName,
    appid: app.appId.toLowerCase(),
    appidacr: '1',
    idp: `https://sts.windows.net/${tid}/`,
    idtyp: 'app',
    oid,
    rh: `0.${randomBytes(24).toString('base64url')}.`,
    ...(roles.length > 0 ? { roles } : {}),
    sub: oid,
    tenant_region_scope: 'EU',
    tid,
    uti: utiFor(opts.serial),
    ver: '1.0',
    wids: ['0997a1d0-0d1d-4acb-b408-d5ca73121e90'],
    xms_tcdt: 1_600_000_000,
  };
  return { token: signJwt(claims, key), expiresIn: opts.lifetimeSeconds };
}

export interface TokenRequest {
  tenantSegment: string;
  form: URLSearchParams;
  correlationId: string;
  now: Date;
}

export interface TokenOutcome {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** An injected fault, for the request log. */
  fault: string | null;
  /** Resolved tenant ID when the tenant exists, for the request log. */
  tenantId: string | null;
  appId: string | null;
  aadstsCode: number | null;
}

export interface EntraDeps {
  registry: TenantRegistry;
  signingKey: SigningKey;
  origin: string;
  /** For tenants that set no lifetime of their own. */
  tokenLifetimeSeconds: number;
  /** The next token's serial (simulator-wide, rising). */
  nextSerial: () => number;
  /** Client assertions' `jti`s seen so far. */
  assertionReplays: AssertionReplayCache;
  clientAssertionReplay: ClientAssertionReplay;
  /** Entra's clock against this machine's, for client assertions' `nbf` and `exp`. */
  entraClockOffsetSeconds: number;
}

const IGNORED_SCOPES = new Set(['openid', 'profile', 'offline_access']);

/**
 * The audiences a client assertion sent to this tenant's token endpoint may
 * name: the endpoint as the client's authority names the tenant (ID or any
 * verified domain), lower-cased.
 */
function assertionAudiences(origin: string, segment: string, tenant: TenantState): string[] {
  const names = new Set([segment, tenant.directory.tenantId, ...tenant.directory.domains]);
  return [...names].map((t) => `${origin}/${t}/oauth2/v2.0/token`.toLowerCase());
}

type RefusalExtra = { headers?: Record<string, string>; fault?: string };

/** An Entra endpoint's refusal: the error body Entra writes, and what the request log keeps. */
function refusal(
  e: AadstsError,
  req: { now: Date; correlationId: string },
  origin: string,
  tenantId: string | null,
  appId: string | null,
  extra: RefusalExtra = {},
): TokenOutcome {
  return {
    status: e.status,
    body: entraErrorBody(e, { now: req.now, origin, correlationId: req.correlationId }),
    headers: extra.headers ?? {},
    fault: extra.fault ?? null,
    tenantId,
    appId,
    aadstsCode: e.code,
  };
}

/**
 * POST /{tenant}/oauth2/v2.0/token for grant_type=client_credentials, the
 * client authenticated by a client secret or by a client assertion signed
 * with a registered certificate (private_key_jwt, see client-assertion.ts).
 */
export function handleTokenRequest(req: TokenRequest, deps: EntraDeps): TokenOutcome {
  const fail = (
    e: AadstsError,
    tenantId: string | null,
    appId: string | null,
    extra: RefusalExtra = {},
  ): TokenOutcome => refusal(e, req, deps.origin, tenantId, appId, extra);
  const ref = classifyTenant(req.tenantSegment);
  if (ref.kind === 'malformed') return fail(aadsts.tenantMalformed(ref.value), null, null);
  if (ref.kind === 'none') return fail(aadsts.noTenant(), null, null);
  const tenant = deps.registry.resolve(ref.value);
  if (!tenant) return fail(aadsts.tenantNotFound(req.tenantSegment), null, null);
  const tid = tenant.directory.tenantId;
  const injected = tenant.faults.onEntraRequest();
  if (injected) {
    return fail(aadsts.temporarilyUnavailable(), tid, req.form.get('client_id'), {
      headers: { 'retry-after': String(injected.retryAfterSeconds) },
      fault: injected.kind,
    });
  }
  const asked = tenant.faults.onTokenRequest();
  if (asked) {
    return fail(aadsts.simulated(asked), tid, req.form.get('client_id'), {
      headers:
        asked.retryAfterSeconds !== null ? { 'retry-after': String(asked.retryAfterSeconds) } : {},
      fault: asked.kind,
    });
  }

  const f = req.form;
  const grant = f.get('grant_type');
  if (!grant) return fail(aadsts.missingParameter('grant_type'), tid, null);
  if (grant !== 'client_credentials') return fail(aadsts.unsupportedGrant(grant), tid, null);
  const clientId = f.get('client_id');
  if (!clientId) return fail(aadsts.missingParameter('client_id'), tid, null);
  const scope = f.get('scope');
  if (!scope) return fail(aadsts.missingParameter('scope'), tid, clientId);
  const scopes = scope.split(/\s+/).filter((s) => s && !IGNORED_SCOPES.has(s));
  for (const s of scopes) {
    if (!s.endsWith('/.default')) return fail(aadsts.scopeNotDefault(s), tid, clientId);
    const resource = s.slice(0, -'/.default'.length).replace(/\/$/, '');
    if (resource !== GRAPH_RESOURCE && resource.toLowerCase() !== GRAPH_APP_ID) {
      return fail(aadsts.resourceNotFound(resource, tid), tid, clientId);
    }
  }
  if (scopes.length === 0) return fail(aadsts.missingParameter('scope'), tid, clientId);

  const app = tenant.directory.applications.find(
    (a) => a.appId.toLowerCase() === clientId.toLowerCase(),
  );
  if (!app) {
    return fail(aadsts.appNotFound(clientId, tenant.directory.displayName), tid, clientId);
  }
  const assertionType = f.get('client_assertion_type');
  const assertion = f.get('client_assertion');
  if (assertionType !== null || assertion !== null) {
    if (!assertionType)
      return fail(aadsts.missingParameter('client_assertion_type'), tid, app.appId);
    if (assertionType !== JWT_BEARER) return fail(aadsts.invalidAssertionType(), tid, app.appId);
    if (!assertion) return fail(aadsts.missingParameter('client_assertion'), tid, app.appId);
    const checked = checkClientAssertion({
      assertion,
      app,
      clientId,
      audiences: assertionAudiences(deps.origin, req.tenantSegment.toLowerCase(), tenant),
      now: new Date(req.now.getTime() + deps.entraClockOffsetSeconds * 1000),
      replay: deps.clientAssertionReplay,
      replays: deps.assertionReplays,
    });
    if (!checked.ok) return fail(checked.error, tid, app.appId);
  } else {
    const secretValue = f.get('client_secret');
    if (!secretValue) return fail(aadsts.missingSecret(), tid, app.appId);
    const secret = app.secrets.find((s) => s.value === secretValue);
    if (!secret) return fail(aadsts.invalidSecret(app.appId), tid, app.appId);
    if (tenant.faults.isSecretExpired(app, secret, req.now)) {
      return fail(aadsts.expiredSecret(app.appId), tid, app.appId);
    }
  }
  // Both after the client authenticated: Conditional Access is evaluated
  // post-authentication, and a disabled app is refused before any policy.
  if (tenant.faults.isAppDisabled(app)) {
    return fail(aadsts.appDisabled(app.appId, app.displayName), tid, app.appId);
  }
  if (tenant.faults.isBlockedByConditionalAccess(app)) {
    return fail(aadsts.blockedByConditionalAccess(), tid, app.appId);
  }

  const { token, expiresIn } = issueAccessToken(
    tenant,
    app,
    tenant.faults.effectiveRoles(app),
    deps.signingKey,
    {
      lifetimeSeconds: tenant.settings.tokenLifetimeSeconds ?? deps.tokenLifetimeSeconds,
      now: req.now,
      serial: deps.nextSerial(),
    },
  );
  return {
    status: 200,
    // Shape per https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
    body: {
      token_type: 'Bearer',
      expires_in: expiresIn,
      ext_expires_in: expiresIn,
      access_token: token,
    },
    headers: {},
    fault: null,
    tenantId: tid,
    appId: app.appId,
    aadstsCode: null,
  };
}

/**
 * GET /{tenant}/v2.0/.well-known/openid-configuration, as
 * `unknownTenantFailsAt` says (see UnknownTenantMode).
 *
 * MSAL never fetches this document from login.microsoftonline.com: it ships
 * the metadata with a {tenantid} placeholder (@azure/msal-common
 * authority/AuthorityMetadata) and sends the token request straight to
 * /{tenant}/oauth2/v2.0/token, where an unknown tenant fails with
 * AADSTS90002. For any other authority host MSAL reads this document first,
 * and Entra answers an unknown tenant here with 400 `invalid_tenant`
 * (AADSTS90002), which MSAL turns into a message-only
 * `endpoints_resolution_error`. The two modes let tests play either path.
 */
export function handleDiscoveryRequest(
  req: { tenantSegment: string; correlationId: string; now: Date },
  deps: { registry: TenantRegistry; origin: string; unknownTenantFailsAt: UnknownTenantMode },
): Omit<TokenOutcome, 'appId'> {
  const ref = classifyTenant(req.tenantSegment);
  const known =
    ref.kind === 'id' || ref.kind === 'domain' ? deps.registry.resolve(ref.value) : null;
  const injected = known?.faults.onEntraRequest();
  if (known && injected) {
    return refusal(
      aadsts.temporarilyUnavailable(),
      req,
      deps.origin,
      known.directory.tenantId,
      null,
      {
        headers: { 'retry-after': String(injected.retryAfterSeconds) },
        fault: injected.kind,
      },
    );
  }
  const refuse =
    deps.unknownTenantFailsAt === 'metadata_discovery' &&
    (ref.kind === 'malformed' || ((ref.kind === 'id' || ref.kind === 'domain') && !known));
  if (refuse) {
    const e =
      ref.kind === 'malformed'
        ? aadsts.tenantMalformedAtDiscovery(ref.value)
        : aadsts.tenantNotFoundAtDiscovery(req.tenantSegment);
    return refusal(e, req, deps.origin, null, null);
  }
  return {
    status: 200,
    body: openIdConfiguration(deps.origin, req.tenantSegment),
    headers: {},
    fault: null,
    tenantId: known ? known.directory.tenantId : null,
    aadstsCode: null,
  };
}

/**
 * The discovery document, echoing the tenant segment in its endpoints.
 * Field set mirrors https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration
 */
export function openIdConfiguration(origin: string, tenantSegment: string) {
  const base = `${origin}/${tenantSegment}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${origin}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

/**
 * GET /common/discovery/instance (instance discovery), shape per MSAL's
 * CloudInstanceDiscoveryResponse. MSAL only asks login.microsoftonline.com
 * for this (a fixed URL), so it matters to other clients, not to MSAL Node.
 */
export function instanceDiscovery(origin: string, authorizationEndpoint: string | null) {
  const host = new URL(origin).host;
  let tenant = 'common';
  if (authorizationEndpoint) {
    try {
      tenant = new URL(authorizationEndpoint).pathname.split('/').filter(Boolean)[0] ?? 'common';
    } catch {
      // Keep 'common' for an unparsable endpoint, as Entra does.
    }
  }
  return {
    tenant_discovery_endpoint: `${origin}/${tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}

/** GET /{tenant}/discovery/v2.0/keys */
export function jwks(key: SigningKey) {
  return {
    keys: [{ kty: 'RSA', use: 'sig', kid: key.kid, x5t: key.kid, n: key.jwk.n, e: key.jwk.e }],
  };
}
