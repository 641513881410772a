import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

/** OPS_USER and OPS_PASSWORD: who may see Bull Board and /metrics. */
export interface OpsCredentials {
  user: string;
  password: string;
}

export const OPS_REALM = 'ops';

export type BasicAuthFailure = 'missing' | 'malformed' | 'mismatch' | 'not_configured';

/** Equal-length digests, so neither the comparison nor its length gives anything away. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** `Basic base64(user:password)` → its two parts; undefined when malformed. */
export function parseBasicAuthorization(
  header: string | undefined,
): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match?.[1] || match[1].length > 4096) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Checks presented credentials against the configured ones in constant time:
 * both parts are always compared (as SHA-256 digests, so lengths match), and
 * the results combined without short-circuiting.
 */
export function credentialsMatch(expected: OpsCredentials, presented: OpsCredentials): boolean {
  const userOk = timingSafeEqual(digest(expected.user), digest(presented.user));
  const passwordOk = timingSafeEqual(digest(expected.password), digest(presented.password));
  return userOk && passwordOk;
}

/**
 * HTTP Basic auth for the ops endpoints. Without configured credentials
 * (only possible outside `loadEnv`, e.g. a test harness) every request is
 * refused: the ops endpoints fail closed.
 */
export function requireBasicAuth(
  credentials: OpsCredentials | undefined,
  onRefused: (reason: BasicAuthFailure) => void = () => {},
): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const presented = parseBasicAuthorization(header);
    let failure: BasicAuthFailure | undefined;
    if (credentials === undefined) failure = 'not_configured';
    else if (header === undefined || header === '') failure = 'missing';
    else if (presented === undefined) failure = 'malformed';
    else if (!credentialsMatch(credentials, presented)) failure = 'mismatch';
    if (failure === undefined) {
      next();
      return;
    }
    onRefused(failure);
    res.setHeader('WWW-Authenticate', `Basic realm="${OPS_REALM}"`);
    res.setHeader('Cache-Control', 'no-store');
    res.status(401).json({ error: 'unauthorized' });
  };
}
