import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { AuthenticationError, ClientSecretCredential } from '@azure/identity';
import { z } from 'zod';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/** What Entra's token endpoint answered, as Entra tells clients to act on it. */
export interface TokenEndpointError {
  status: number;
  error: string | null;
  errorCodes: number[];
}

/**
 * The token request failed. `response` is Entra's parsed error body when
 * there was one; without it the failure was on the way (network, timeout).
 * The message never carries the secret (MSAL does not echo it, and the
 * client_id/tenant it does mention are not secret).
 */
export class EntraTokenError extends Error {
  readonly code = 'entra_token_failed';
  constructor(
    readonly response: TokenEndpointError | null,
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
  claims: AccessTokenClaims;
}

export interface TokenRequest {
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
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

/**
 * MSAL turns Entra's error body into a message-only error, losing
 * `error_codes`. This pipeline policy reads the token endpoint's answer
 * itself so failures are classified by code, never by description text.
 */
function captureTokenErrors(sink: { last: TokenEndpointError | null }): PipelinePolicy {
  return {
    name: 'pinnacleCaptureTokenErrors',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status >= 400 && /\/oauth2\/v2\.0\/token$/.test(new URL(request.url).pathname)) {
        let error: string | null = null;
        let errorCodes: number[] = [];
        try {
          const body = JSON.parse(response.bodyAsText ?? '') as {
            error?: unknown;
            error_codes?: unknown;
          };
          if (typeof body.error === 'string') error = body.error;
          if (Array.isArray(body.error_codes))
            errorCodes = body.error_codes.filter((c): c is number => typeof c === 'number');
        } catch {
          // not Entra's JSON (a proxy's HTML page, say): status alone decides
        }
        sink.last = { status: response.status, error, errorCodes };
      }
      return response;
    },
  };
}

/** Client-credentials token for Graph through @azure/identity's ClientSecretCredential. */
export async function acquireGraphToken(request: TokenRequest): Promise<GraphToken> {
  const sink: { last: TokenEndpointError | null } = { last: null };
  const credential = new ClientSecretCredential(
    request.tenantId,
    request.clientId,
    request.clientSecret,
    {
      authorityHost: request.authorityHost,
      // A non-Microsoft authority (the simulator, a sovereign proxy) is not in
      // Microsoft's instance-discovery list.
      disableInstanceDiscovery: !isMicrosoftAuthority(request.authorityHost),
      // Retries belong to the sync job (BullMQ backoff), not to a hidden loop here.
      retryOptions: { maxRetries: 1 },
      additionalPolicies: [{ policy: captureTokenErrors(sink), position: 'perCall' }],
    },
  );
  const timeoutMs = request.timeoutMs ?? 30_000;
  try {
    const accessToken = await credential.getToken(GRAPH_SCOPE, {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
    return {
      token: accessToken.token,
      expiresOnTimestamp: accessToken.expiresOnTimestamp,
      claims: decodeAccessTokenClaims(accessToken.token),
    };
  } catch (error) {
    if (sink.last) {
      throw new EntraTokenError(
        sink.last,
        null,
        `Entra ID rejected the token request (HTTP ${sink.last.status}${sink.last.errorCodes.length ? `, AADSTS${sink.last.errorCodes.join(',')}` : ''})`,
      );
    }
    if (error instanceof AuthenticationError && error.statusCode >= 400) {
      const codes = error.errorResponse.errorCodes ?? [];
      throw new EntraTokenError(
        { status: error.statusCode, error: error.errorResponse.error ?? null, errorCodes: codes },
        null,
        `Entra ID rejected the token request (HTTP ${error.statusCode})`,
      );
    }
    const name = error instanceof Error ? error.name : '';
    const timedOut = name === 'AbortError' || name === 'TimeoutError';
    throw new EntraTokenError(
      null,
      timedOut ? 'timeout' : 'connection',
      timedOut
        ? `The token request timed out after ${timeoutMs} ms`
        : 'The token endpoint could not be reached',
    );
  }
}
