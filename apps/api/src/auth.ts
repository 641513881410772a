import { orgIdSchema } from '@pinnacle/domain';
import type { NextFunction, Request, Response } from 'express';
import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import { forbidden, unauthorized } from './errors.js';

/** The portal's own backend acts for every org with `org: "*"`. */
export const ANY_ORG = '*';

/** Claims of a portal-issued bearer token (extra claims such as `iat` are allowed). */
export const authClaimsSchema = z.object({
  sub: z.string().min(1).max(256),
  org: z.union([z.literal(ANY_ORG), orgIdSchema]),
  role: z.literal('admin'),
  exp: z.number().int(),
});
export type AuthClaims = z.infer<typeof authClaimsSchema>;

export type AuthFailure =
  | 'missing'
  | 'malformed'
  | 'invalid'
  | 'expired'
  | 'claims'
  /** API_AUTH_ISSUER is set and the token's `iss` is another (or none). */
  | 'issuer'
  /** API_AUTH_AUDIENCE is set and the token's `aud` does not name it. */
  | 'audience'
  /** `exp` lies further ahead than the bound, or `exp - iat` exceeds it. */
  | 'lifetime';

/** Why verification refused a token: a value, logged without the token itself. */
export type VerifyResult = { ok: true; claims: AuthClaims } | { ok: false; reason: AuthFailure };

/** What the service demands of a token beyond its signature and claims. */
export interface TokenPolicy {
  /** API_AUTH_ISSUER: the `iss` every token must carry. */
  issuer?: string | undefined;
  /** API_AUTH_AUDIENCE: the `aud` every token must name. */
  audience?: string | undefined;
  /**
   * API_AUTH_MAX_TOKEN_LIFETIME: `exp` may lie at most this far
   * ahead, and `exp - iat` may not exceed it, so a leaked token does not
   * work for long. A token without `iat` is held to the first bound only.
   */
  maxLifetimeSeconds: number;
}

/**
 * What a 401 says for refusals the token's issuer can act on (a claim to
 * fix). The others stay a bare 401: a forger learns nothing from them.
 */
export function refusalMessage(reason: AuthFailure, policy: TokenPolicy): string | undefined {
  switch (reason) {
    case 'issuer':
      return 'The token was not issued by the issuer this service accepts (iss)';
    case 'audience':
      return 'The token is not meant for this service (aud)';
    case 'lifetime':
      return `The token lives longer than this service accepts: exp may lie at most ${policy.maxLifetimeSeconds} seconds ahead, and after iat`;
    default:
      return undefined;
  }
}

const MAX_TOKEN_LENGTH = 4096;
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i;
/** Allowed clock skew between the portal and this service. */
const CLOCK_TOLERANCE_SECONDS = 5;

export interface TokenVerifier {
  verify(authorization: string | undefined): Promise<VerifyResult>;
}

/**
 * Tokens verified lately, each checked once: a portal session sends the same
 * token with every request, and verifying its HS256 signature (through
 * WebCrypto, as jose does) was the largest single cost of an authenticated
 * request in a CPU profile of the api under load (`pnpm bench`, figure 6).
 * Keyed by the whole token, signature included, so only that exact token
 * hits; what can change with time (expiry) is checked again on every hit.
 */
const VERIFIED_TOKENS = 1000;

/** 24 h: DESIGN's default bound of a token's lifetime. */
export const DEFAULT_TOKEN_POLICY: TokenPolicy = { maxLifetimeSeconds: 86_400 };

/**
 * HS256 only: the allow-list makes jose refuse `alg: none` and every other
 * algorithm (an RS/HS confusion cannot arise with a symmetric key alone).
 */
export function createTokenVerifier(
  secret: string,
  clock: () => Date,
  policy: TokenPolicy = DEFAULT_TOKEN_POLICY,
): TokenVerifier {
  const key = new TextEncoder().encode(secret);
  // Insertion order: the oldest entry goes first when full.
  const verified = new Map<string, AuthClaims>();
  return {
    async verify(authorization) {
      if (authorization === undefined || authorization === '')
        return { ok: false, reason: 'missing' };
      if (authorization.length > MAX_TOKEN_LENGTH + 16) return { ok: false, reason: 'malformed' };
      const token = BEARER.exec(authorization.trim())?.[1];
      if (token === undefined) return { ok: false, reason: 'malformed' };
      let payload: JWTPayload;
      const now = clock();
      const known = verified.get(token);
      if (known !== undefined) {
        // As jose decides expiry: exp at or before now, beyond the tolerance.
        if (known.exp <= Math.floor(now.getTime() / 1000) - CLOCK_TOLERANCE_SECONDS) {
          verified.delete(token);
          return { ok: false, reason: 'expired' };
        }
        return { ok: true, claims: known };
      }
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          requiredClaims: ['exp', 'sub'],
          currentDate: now,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          ...(policy.issuer !== undefined ? { issuer: policy.issuer } : {}),
          ...(policy.audience !== undefined ? { audience: policy.audience } : {}),
        }));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired' };
        if (error instanceof joseErrors.JWTClaimValidationFailed) {
          if (error.claim === 'iss') return { ok: false, reason: 'issuer' };
          if (error.claim === 'aud') return { ok: false, reason: 'audience' };
        }
        return { ok: false, reason: 'invalid' };
      }
      const claims = authClaimsSchema.safeParse(payload);
      if (!claims.success) return { ok: false, reason: 'claims' };
      const { exp } = claims.data;
      const max = policy.maxLifetimeSeconds;
      const aheadSeconds = exp - Math.floor(now.getTime() / 1000);
      const { iat } = payload;
      if (aheadSeconds > max + CLOCK_TOLERANCE_SECONDS || (iat !== undefined && exp - iat > max)) {
        return { ok: false, reason: 'lifetime' };
      }
      if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value as string);
      verified.set(token, claims.data);
      return { ok: true, claims: claims.data };
    },
  };
}

const authenticated = new WeakMap<Request, AuthClaims>();

/** The verified claims of a request that passed `requireAuth`. */
export function authOf(req: Request): AuthClaims {
  const claims = authenticated.get(req);
  // Routes are mounted only behind requireAuth; reaching here without claims is a wiring bug.
  if (!claims) throw new Error('route reached without authentication');
  return claims;
}

/**
 * Answers 401 unless the request carries a valid bearer token; with
 * `explain`, a refusal the token's issuer can fix says why.
 */
export function requireAuth(
  verifier: TokenVerifier,
  onRefused: (reason: AuthFailure) => void,
  explain: (reason: AuthFailure) => string | undefined = () => undefined,
) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const result = await verifier.verify(req.headers.authorization);
    if (!result.ok) {
      onRefused(result.reason);
      throw unauthorized(explain(result.reason));
    }
    authenticated.set(req, result.claims);
    next();
  };
}

/** A token for one org may act on that org only; `*` on any. */
export function assertOrgAccess(claims: AuthClaims, orgId: unknown): void {
  if (claims.org !== ANY_ORG && claims.org !== orgId) throw forbidden();
}
