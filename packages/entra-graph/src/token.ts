import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { PipelinePolicy, PipelineResponse } from '@azure/core-rest-pipeline';
import {
  AuthenticationError,
  ClientCertificateCredential,
  ClientSecretCredential,
  type TokenCredential,
} from '@azure/identity';
import { z } from 'zod';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/**
 * Which Entra endpoint answered: the token endpoint, or OpenID metadata
 * discovery (`{authority}/{tenant}/v2.0/.well-known/openid-configuration`),
 * which MSAL reads before the token request for any authority host that is
 * not Microsoft's own (for those it has the metadata built in).
 */
export type EntraEndpoint = 'token' | 'metadata_discovery';

/** What Entra answered, as Entra tells clients to act on it (never the description text). */
export interface EntraErrorResponse {
  endpoint: EntraEndpoint;
  status: number;
  error: string | null;
  errorCodes: number[];
  traceId: string | null;
  correlationId: string | null;
  /** From `Retry-After`, when Entra sent one. */
  retryAfterSeconds: number | null;
}

/**
 * The token request failed. `response` is Entra's answer when there was one
 * (from the token endpoint or from metadata discovery); without it the
 * failure was on the way (network, timeout). The message never carries the
 * secret (MSAL does not echo it, and the client_id/tenant it does mention
 * are not secret).
 */
export class EntraTokenError extends Error {
  readonly code = 'entra_token_failed';
  constructor(
    readonly response: EntraErrorResponse | null,
    readonly network: 'timeout' | 'connection' | null,
    message: string,
  ) {
    super(message);
    this.name = 'EntraTokenError';
  }
}

const accessTokenClaimsSchema = z.object({
  tid: z.string().optional(),
  appid: z.string().optional(),
  roles: z.array(z.string()).default([]),
  exp: z.number().optional(),
});
export type AccessTokenClaims = z.infer<typeof accessTokenClaimsSchema>;

export interface GraphToken {
  token: string;
  expiresOnTimestamp: number;
  /** From when MSAL would renew it (Entra's `refresh_in`, else five minutes before expiry). */
  renewAfterTimestamp: number;
  claims: AccessTokenClaims;
}

/** MSAL renews a cached token this long before it expires (its tokenRenewalOffsetSeconds). */
const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;

/**
 * A certificate registered on the app and its private key: the client
 * authenticates with an assertion signed by the key (private_key_jwt), so no
 * secret travels to Entra.
 */
export interface ClientCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * How to get tokens for one app in one tenant: with a client secret or with
 * a certificate (exactly one of the two).
 */
export interface TokenRequest {
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  certificate?: ClientCertificate;
  /** Bound of one token acquisition (metadata discovery and token request). Default 30 s. */
  timeoutMs?: number;
}

export type CredentialType = 'client_secret' | 'certificate';

/**
 * Why a certificate and key cannot authenticate, before asking Entra: not
 * a certificate, not a private key, or a key of another certificate. Null
 * when they belong together. Never says anything about the key's content.
 */
export function clientCertificateProblem(material: ClientCertificate): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(material.certificatePem);
  } catch {
    return 'the stored certificate is not an X.509 certificate';
  }
  try {
    const key = createPrivateKey(material.privateKeyPem);
    return cert.checkPrivateKey(key) ? null : 'the private key does not belong to the certificate';
  } catch {
    return 'the stored private key cannot be read';
  }
}

/** The token's own claims; the signature is Graph's business, we only read `roles`. */
export function decodeAccessTokenClaims(token: string): AccessTokenClaims {
  const payload = token.split('.')[1];
  if (!payload) return { roles: [] };
  try {
    return accessTokenClaimsSchema.parse(
      JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')),
    );
  } catch {
    return { roles: [] };
  }
}

export function isMicrosoftAuthority(authorityHost: string): boolean {
  const host = new URL(authorityHost).hostname;
  return (
    host === 'login.microsoftonline.com' ||
    host.endsWith('.microsoftonline.com') ||
    host.endsWith('.microsoftonline.us') ||
    host.endsWith('.chinacloudapi.cn')
  );
}

/** What the pipeline saw of one token acquisition. */
interface EntraAnswers {
  token: EntraErrorResponse | null;
  metadata_discovery: EntraErrorResponse | null;
}

const TOKEN_PATH = /\/oauth2\/v2\.0\/token$/;
const DISCOVERY_PATH = /\/v2\.0\/\.well-known\/openid-configuration$/;

function endpointOf(url: string): EntraEndpoint | null {
  const path = new URL(url).pathname;
  if (TOKEN_PATH.test(path)) return 'token';
  if (DISCOVERY_PATH.test(path)) return 'metadata_discovery';
  return null;
}

function retryAfterSeconds(response: PipelineResponse): number | null {
  const raw = response.headers.get('retry-after');
  if (!raw) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, (date - Date.now()) / 1000) : null;
}

function parseAnswer(endpoint: EntraEndpoint, response: PipelineResponse): EntraErrorResponse {
  const answer: EntraErrorResponse = {
    endpoint,
    status: response.status,
    error: null,
    errorCodes: [],
    traceId: null,
    correlationId: null,
    retryAfterSeconds: retryAfterSeconds(response),
  };
  try {
    const body = JSON.parse(response.bodyAsText ?? '') as Record<string, unknown>;
    if (typeof body.error === 'string') answer.error = body.error;
    if (Array.isArray(body.error_codes))
      answer.errorCodes = body.error_codes.filter((c): c is number => typeof c === 'number');
    if (typeof body.trace_id === 'string') answer.traceId = body.trace_id;
    if (typeof body.correlation_id === 'string') answer.correlationId = body.correlation_id;
  } catch {
    // Not Entra's JSON (a proxy's HTML page, say): the status alone decides.
  }
  return answer;
}

/**
 * MSAL turns Entra's error body into a message-only error, losing
 * `error_codes`, and a refused metadata discovery into an error with no
 * trace of Entra's answer at all (`endpoints_resolution_error`). This
 * pipeline policy reads what the token endpoint and metadata discovery
 * answered, so failures are classified by code, never by message text.
 * Per retry, it also counts the requests that reached the token endpoint:
 * answers from the credential's cache never get here.
 */
function observeEntra(answers: EntraAnswers, onTokenRequest: () => void): PipelinePolicy {
  return {
    name: 'pinnacleObserveEntra',
    async sendRequest(request, next) {
      const endpoint = endpointOf(request.url);
      if (endpoint === 'token') onTokenRequest();
      const response = await next(request);
      if (endpoint && response.status >= 400) answers[endpoint] = parseAnswer(endpoint, response);
      return response;
    },
  };
}

/** One credential object with what its pipeline saw. */
interface CredentialSlot {
  credential: TokenCredential;
  answers: EntraAnswers;
  /** The acquisition in flight, shared by concurrent callers. */
  pending: Promise<GraphToken> | null;
}

export interface GraphTokenStats {
  /** Requests sent to Entra's token endpoint (retries included; cache hits are not requests). */
  tokenRequests: number;
  /** Fresh credentials built because Graph refused a token it had been given. */
  refreshes: number;
}

/** Where the Graph reader gets a token for each request. */
export interface GraphTokenSource {
  getToken(): Promise<{ token: string }>;
  /**
   * Graph refused `stale` (401 InvalidAuthenticationToken): make sure the
   * next getToken() does not hand it out again. Absent for a fixed token.
   */
  refresh?(stale: string): Promise<void>;
}

/**
 * Graph tokens for one app in one tenant, for as long as a sync runs, from
 * a client secret (ClientSecretCredential) or a certificate
 * (ClientCertificateCredential).
 * getToken() hands out the token it holds until MSAL would renew it (five
 * minutes before expiry, or at Entra's `refresh_in`), then asks the
 * credential, whose cache (MSAL) renews it: a sync's Graph requests cost no
 * MSAL call each (in a CPU profile of a sync, MSAL's cache lookups were 6 %
 * of the worker's busy time). refresh() is for a token Graph
 * refused before its time: neither credential offers a forced refresh (the
 * cache is per object), so it builds a fresh credential object.
 */
export class GraphTokenProvider implements GraphTokenSource {
  readonly stats: GraphTokenStats = { tokenRequests: 0, refreshes: 0 };
  readonly credentialType: CredentialType;
  private slot: CredentialSlot;
  private last: GraphToken | null = null;
  private refreshing: Promise<void> | null = null;
  private readonly timeoutMs: number;

  constructor(private readonly request: TokenRequest) {
    if ((request.clientSecret === undefined) === (request.certificate === undefined)) {
      throw new TypeError('A token request takes a client secret or a certificate, exactly one');
    }
    if (request.certificate) {
      const problem = clientCertificateProblem(request.certificate);
      if (problem) throw new TypeError(`The client certificate cannot be used: ${problem}`);
    }
    this.credentialType = request.certificate ? 'certificate' : 'client_secret';
    this.timeoutMs = request.timeoutMs ?? 30_000;
    this.slot = this.createSlot();
  }

  /**
   * The one place a credential is built, of either type: everything after
   * (the cache, refresh(), what Entra answered) works the same for both.
   */
  private createSlot(): CredentialSlot {
    const r = this.request;
    const answers: EntraAnswers = { token: null, metadata_discovery: null };
    const options = {
      authorityHost: r.authorityHost,
      // A non-Microsoft authority (the simulator, a sovereign proxy) is not in
      // Microsoft's instance-discovery list.
      disableInstanceDiscovery: !isMicrosoftAuthority(r.authorityHost),
      // Retries belong to the sync job (BullMQ backoff), not to a hidden loop here.
      retryOptions: { maxRetries: 1 },
      additionalPolicies: [
        {
          policy: observeEntra(answers, () => this.stats.tokenRequests++),
          position: 'perRetry' as const,
        },
      ],
    };
    const credential: TokenCredential = r.certificate
      ? // Key and certificate in one PEM, as the credential takes them (never a file on disk).
        // MSAL signs a PS256 assertion naming the certificate by its SHA-256 thumbprint.
        new ClientCertificateCredential(
          r.tenantId,
          r.clientId,
          {
            certificate: `${r.certificate.privateKeyPem.trim()}\n${r.certificate.certificatePem.trim()}\n`,
          },
          options,
        )
      : new ClientSecretCredential(r.tenantId, r.clientId, r.clientSecret as string, options);
    return { credential, answers, pending: null };
  }

  /** A token valid now (from the cache, or a new one); EntraTokenError when Entra refuses. */
  getToken(): Promise<GraphToken> {
    const last = this.last;
    if (last !== null && Date.now() < last.renewAfterTimestamp) return Promise.resolve(last);
    const slot = this.slot;
    if (slot.pending) return slot.pending;
    const pending = this.acquire(slot).finally(() => {
      slot.pending = null;
    });
    slot.pending = pending;
    return pending;
  }

  async refresh(stale: string): Promise<void> {
    if (this.refreshing) return this.refreshing;
    // Someone already moved past the refused token: the next getToken() is fresh.
    if (this.last !== null && this.last.token !== stale) return;
    this.refreshing = (async () => {
      this.slot = this.createSlot();
      this.last = null;
      this.stats.refreshes++;
      await this.getToken();
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async acquire(slot: CredentialSlot): Promise<GraphToken> {
    slot.answers.token = null;
    slot.answers.metadata_discovery = null;
    // Not AbortSignal.timeout(): this runs before every Graph request, and
    // its timer would outlive each (mostly cached) answer by the full timeout.
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new DOMException('Token request timed out', 'TimeoutError')),
      this.timeoutMs,
    );
    try {
      const accessToken = await slot.credential.getToken(GRAPH_SCOPE, {
        abortSignal: abort.signal,
      });
      // The TokenCredential contract allows null; these credentials throw instead.
      if (!accessToken) throw new Error('the credential returned no token');
      const token: GraphToken = {
        token: accessToken.token,
        expiresOnTimestamp: accessToken.expiresOnTimestamp,
        renewAfterTimestamp:
          accessToken.refreshAfterTimestamp ??
          accessToken.expiresOnTimestamp - RENEW_BEFORE_EXPIRY_MS,
        claims: decodeAccessTokenClaims(accessToken.token),
      };
      if (slot === this.slot) this.last = token;
      return token;
    } catch (error) {
      throw this.toTokenError(error, slot.answers);
    } finally {
      clearTimeout(timer);
    }
  }

  private toTokenError(error: unknown, answers: EntraAnswers): EntraTokenError {
    // The token endpoint's answer when there was one; metadata discovery
    // comes first, so its answer decides only when no token request followed.
    const answer = answers.token ?? answers.metadata_discovery;
    if (answer) {
      const where = answer.endpoint === 'token' ? 'the token request' : 'OpenID metadata discovery';
      const codes = answer.errorCodes.length ? `, AADSTS${answer.errorCodes.join(',')}` : '';
      return new EntraTokenError(
        answer,
        null,
        `Entra ID refused ${where} (HTTP ${answer.status}${codes})`,
      );
    }
    if (error instanceof AuthenticationError && error.statusCode >= 400) {
      const r = error.errorResponse;
      return new EntraTokenError(
        {
          endpoint: 'token',
          status: error.statusCode,
          error: r.error ?? null,
          errorCodes: r.errorCodes ?? [],
          traceId: r.traceId ?? null,
          correlationId: r.correlationId ?? null,
          retryAfterSeconds: null,
        },
        null,
        `Entra ID refused the token request (HTTP ${error.statusCode})`,
      );
    }
    const name = error instanceof Error ? error.name : '';
    const timedOut = name === 'AbortError' || name === 'TimeoutError';
    return new EntraTokenError(
      null,
      timedOut ? 'timeout' : 'connection',
      timedOut
        ? `The token request timed out after ${this.timeoutMs} ms`
        : 'The token endpoint could not be reached',
    );
  }
}
