/**
 * The bearer token as the console sees it. The console cannot verify the
 * signature (only the api holds the key); it reads the claims to route
 * (one org, or any org with `org: "*"`) and to notice expiry before the
 * api does. The api stays the judge: a 401 signs out whatever these say.
 */

export const ANY_ORG = '*';

export interface TokenClaims {
  sub: string;
  org: string;
  /** Seconds since the epoch. */
  exp: number;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: 'malformed' | 'expired'; expiredAt?: Date };

const JWT = /^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/;
const ORG_ID = /^[A-Za-z0-9_-]{1,64}$/;

function decodeBase64Url(part: string): string | null {
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** Reads a pasted or linked token: its shape, claims and expiry at `now`. */
export function checkToken(raw: string, now: Date): TokenCheck {
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  const payload = JWT.exec(token)?.[1];
  const json = payload === undefined ? null : decodeBase64Url(payload);
  if (json === null) return { ok: false, reason: 'malformed' };
  let claims: unknown;
  try {
    claims = JSON.parse(json);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'malformed' };
  const { sub, org, exp } = claims as Record<string, unknown>;
  if (typeof sub !== 'string' || typeof org !== 'string' || typeof exp !== 'number') {
    return { ok: false, reason: 'malformed' };
  }
  if (org !== ANY_ORG && !ORG_ID.test(org)) return { ok: false, reason: 'malformed' };
  if (exp * 1000 <= now.getTime()) {
    return { ok: false, reason: 'expired', expiredAt: new Date(exp * 1000) };
  }
  return { ok: true, claims: { sub, org, exp } };
}

/** The token as sent: trimmed, without a pasted "Bearer " in front. */
export function normaliseToken(raw: string): string {
  return raw.trim().replace(/^Bearer\s+/i, '');
}

/**
 * The token of a sign-in link's fragment (`#token=<jwt>`), and the fragment
 * left once it is taken out (other fragment parameters are kept).
 */
export function takeTokenFromFragment(hash: string): { token: string | null; rest: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token');
  if (token === null) return { token: null, rest: hash };
  params.delete('token');
  const rest = params.toString();
  return { token, rest: rest ? `#${rest}` : '' };
}

/** Whether these claims may open the org. */
export function canOpenOrg(claims: TokenClaims, orgId: string): boolean {
  return claims.org === ANY_ORG || claims.org === orgId;
}
