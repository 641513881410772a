import { orgIdSchema } from '@pinnacle/domain';
import type { NextFunction, Request, Response } from 'express';
import { errors as joseErrors, jwtVerify } from 'jose';
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

export type AuthFailure = 'missing' | 'malformed' | 'invalid' | 'expired' | 'claims';

/** Why verification refused a token: a value, logged without the token itself. */
export type VerifyResult = { ok: true; claims: AuthClaims } | { ok: false; reason: AuthFailure };

const MAX_TOKEN_LENGTH = 4096;
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i;
/** Allowed clock skew between the portal and this service. */
const CLOCK_TOLERANCE_SECONDS = 5;

export interface TokenVerifier {
  verify(authorization: string | undefined): Promise<VerifyResult>;
}

/**
 * HS256 only: the allow-list makes jose refuse `alg: none` and every other
 * algorithm (an RS/HS confusion cannot arise with a symmetric key alone).
 */
export function createTokenVerifier(secret: string, clock: () => Date): TokenVerifier {
  const key = new TextEncoder().encode(secret);
  return {
    async verify(authorization) {
      if (authorization === undefined || authorization === '')
        return { ok: false, reason: 'missing' };
      if (authorization.length > MAX_TOKEN_LENGTH + 16) return { ok: false, reason: 'malformed' };
      const token = BEARER.exec(authorization.trim())?.[1];
      if (token === undefined) return { ok: false, reason: 'malformed' };
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          requiredClaims: ['exp', 'sub'],
          currentDate: clock(),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        }));
      } catch (error) {
        return {
          ok: false,
          reason: error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid',
        };
      }
      const claims = authClaimsSchema.safeParse(payload);
      return claims.success ? { ok: true, claims: claims.data } : { ok: false, reason: 'claims' };
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

/** Answers 401 unless the request carries a valid bearer token. */
export function requireAuth(verifier: TokenVerifier, onRefused: (reason: AuthFailure) => void) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const result = await verifier.verify(req.headers.authorization);
    if (!result.ok) {
      onRefused(result.reason);
      throw unauthorized();
    }
    authenticated.set(req, result.claims);
    next();
  };
}

/** A token for one org may act on that org only; `*` on any. */
export function assertOrgAccess(claims: AuthClaims, orgId: unknown): void {
  if (claims.org !== ANY_ORG && claims.org !== orgId) throw forbidden();
}
