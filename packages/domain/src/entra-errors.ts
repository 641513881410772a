import type { EntraEndpoint, EntraErrorDetails, FailureDetailsByCode } from './failures.js';
import {
  type NetworkFailure,
  networkReason,
  secondsToMs,
  type TransientError,
  transient,
} from './transient.js';

/**
 * What Entra answered: the HTTP status and the `error`, `error_codes`,
 * `trace_id` and `correlation_id` fields of its JSON body (as
 * @azure/identity's AuthenticationError exposes them in `errorResponse`),
 * and which endpoint said it: the token endpoint (the default) or OpenID
 * metadata discovery, which MSAL reads before the token request for any
 * authority host that is not Microsoft's.
 * There is deliberately no description field: Entra's docs say never to act
 * on `error_description`, only on `error` and `error_codes`.
 */
export type TokenErrorResponse = {
  status?: number;
  error?: string;
  errorCodes?: readonly number[];
  traceId?: string;
  correlationId?: string;
  retryAfterSeconds?: number | null;
  endpoint?: EntraEndpoint;
};

export type TokenErrorInput = TokenErrorResponse | NetworkFailure;

export type TokenBlockingCode =
  | 'client_secret_expired'
  | 'client_secret_invalid'
  | 'app_not_found'
  | 'tenant_not_found'
  | 'app_disabled'
  | 'access_blocked'
  | 'certificate_not_registered'
  | 'authentication_failed';

export type TokenBlockingError = {
  [C in TokenBlockingCode]: { kind: 'blocking'; code: C; details: FailureDetailsByCode[C] };
}[TokenBlockingCode];

export type TokenErrorClassification = TokenBlockingError | TransientError;

/**
 * AADSTS codes that decide a blocking failure. Source: Microsoft Entra
 * authentication and authorization error codes
 * (learn.microsoft.com/entra/identity-platform/reference-error-codes):
 *   7000222 InvalidClientSecretExpiredKeysProvided: the client secret keys are expired;
 *   7000215 invalid client secret is provided;
 *   700016  UnauthorizedClient_DoesNotMatchRequest: application not found in the directory/tenant;
 *   90002   InvalidTenantName: the tenant name wasn't found in the data store;
 *   7000112 UnauthorizedClientApplicationDisabled: the application is disabled;
 *   53003   BlockedByConditionalAccess: access has been blocked by Conditional Access policies;
 *   700027  InvalidKeyError: the client assertion names a certificate not registered on the
 *           application, or its signature does not verify with it.
 * 900023 (InvalidTenantIdentifier: "Specified tenant identifier ... is neither a
 * valid DNS name, nor a valid external domain") is not in that table but is
 * what Entra answers for a malformed tenant; DESIGN.md maps it to tenant_not_found.
 */
const BLOCKING_AADSTS: ReadonlyMap<
  number,
  Exclude<TokenBlockingCode, 'authentication_failed'>
> = new Map([
  [7000222, 'client_secret_expired'],
  [7000215, 'client_secret_invalid'],
  [700016, 'app_not_found'],
  [90002, 'tenant_not_found'],
  [900023, 'tenant_not_found'],
  [7000112, 'app_disabled'],
  [53003, 'access_blocked'],
  [700027, 'certificate_not_registered'],
]);

/**
 * AADSTS codes the same reference describes as transient or service-side:
 * 90006 ExternalServerRetryableError, 90012 RequestTimeout, 90024
 * RequestBudgetExceededError ("a transient error has occurred. Try again"),
 * 90033 MsodsServiceUnavailable, 90055 TenantThrottlingError, 90090
 * GraphRetryableError, 90091 GraphServiceUnreachable; and 700024
 * (SignedAssertionInvalidTimeRange), a wrong clock on this service's side.
 */
const TRANSIENT_AADSTS: ReadonlyMap<
  number,
  'throttled' | 'server_error' | 'timeout' | 'clock_skew'
> = new Map([
  [90006, 'server_error'],
  [90012, 'timeout'],
  [90024, 'server_error'],
  [90033, 'server_error'],
  [90055, 'throttled'],
  [90090, 'server_error'],
  [90091, 'server_error'],
  // SignedAssertionInvalidTimeRange: the client assertion's nbf/exp, from this
  // service's clock, are not valid to Entra. The operator's to fix (NTP), not
  // the admin's: retried, and logged as an error naming the clock.
  [700024, 'clock_skew'],
]);

/** What the caller asked Entra for, to name it in the failure's details. */
export type TokenRequestContext = {
  /** The tenant segment of the request (the settings' tenant ID or domain). */
  tenantId?: string;
};

/**
 * Classifies a failed token request. Decided by `error_codes`, then
 * `error`, then the HTTP status; never by description text.
 * 429, 5xx, 408, `temporarily_unavailable` and network failures are
 * transient; any other 4xx is blocking (`authentication_failed` when the
 * AADSTS code is not one we map).
 * Metadata discovery is read before any token request: Entra answers an
 * unknown tenant there 400 `invalid_tenant` (AADSTS90002), which is
 * `tenant_not_found` like the token endpoint's answer. A 4xx from it that
 * carries neither `error` nor `error_codes` is not Entra speaking (a proxy,
 * a wrong authority host), so it stays transient rather than blame the admin.
 */
export function classifyTokenError(
  input: TokenErrorInput,
  request: TokenRequestContext = {},
): TokenErrorClassification {
  if ('network' in input) return transient(networkReason(input.network));
  const details = entraDetails(input);
  const retryAfterMs = secondsToMs(input.retryAfterSeconds);
  const discovery = details.endpoint === 'metadata_discovery';

  for (const code of details.errorCodes ?? []) {
    const blocking = BLOCKING_AADSTS.get(code);
    if (blocking === 'client_secret_expired') {
      return { kind: 'blocking', code: blocking, details: { ...details, source: 'entra' } };
    }
    if (blocking === 'tenant_not_found') return tenantNotFound(details, request);
    if (blocking) return { kind: 'blocking', code: blocking, details };
    const reason = TRANSIENT_AADSTS.get(code);
    if (reason) return transient(reason, retryAfterMs);
  }

  if (details.error === 'temporarily_unavailable') return transient('server_error', retryAfterMs);
  if (discovery && details.error === 'invalid_tenant') return tenantNotFound(details, request);

  const status = input.status;
  if (status === 429) return transient('throttled', retryAfterMs);
  if (status === 408) return transient('timeout', retryAfterMs);
  if (status !== undefined && status >= 500 && status <= 599) {
    return transient('server_error', retryAfterMs);
  }
  if (discovery && details.error === undefined && details.errorCodes === undefined) {
    return transient('unexpected_response', retryAfterMs);
  }
  if (status !== undefined && status >= 400 && status <= 499) {
    return { kind: 'blocking', code: 'authentication_failed', details };
  }
  // No usable status: an OAuth error with no status is still Entra refusing us.
  if (status === undefined && details.error !== undefined) {
    return { kind: 'blocking', code: 'authentication_failed', details };
  }
  return transient('unexpected_response', retryAfterMs);
}

const TENANT_SEGMENT = /^[A-Za-z0-9.-]{1,253}$/;

function tenantNotFound(
  details: EntraErrorDetails,
  request: TokenRequestContext,
): TokenBlockingError {
  const tenantId =
    request.tenantId && TENANT_SEGMENT.test(request.tenantId) ? request.tenantId : undefined;
  return {
    kind: 'blocking',
    code: 'tenant_not_found',
    details: tenantId ? { ...details, tenantId } : details,
  };
}

const OAUTH_ERROR = /^[a-z_]{1,64}$/;
const SUPPORT_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Only well-formed values are kept: they end up in run records and emails. */
function entraDetails(input: TokenErrorResponse): EntraErrorDetails {
  const details: EntraErrorDetails = {};
  if (Number.isInteger(input.status)) details.status = input.status!;
  if (input.error && OAUTH_ERROR.test(input.error)) details.error = input.error;
  const codes = (input.errorCodes ?? []).filter((c) => Number.isSafeInteger(c) && c > 0);
  if (codes.length) details.errorCodes = codes.slice(0, 10);
  if (input.traceId && SUPPORT_ID.test(input.traceId)) details.traceId = input.traceId;
  if (input.correlationId && SUPPORT_ID.test(input.correlationId)) {
    details.correlationId = input.correlationId;
  }
  if (input.endpoint === 'metadata_discovery' || input.endpoint === 'token') {
    details.endpoint = input.endpoint;
  }
  return details;
}
