import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import type { LoginThrottle } from './login-throttle.js';

/** OPS_USER and OPS_PASSWORD: who may see Bull Board and /metrics. */
export interface OpsCredentials {
  user: string;
  password: string;
}

export const OPS_REALM = 'ops';

export type BasicAuthFailure =
  | 'missing'
  | 'malformed'
  | 'mismatch'
  | 'not_configured'
  /** Too many failed logins from the source address: refused unchecked. */
  | 'throttled';

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

/** Stands for every source address that is not an IP address (see sourceAddress). */
export const UNPARSABLE_ADDRESS = 'unparsable';

/**
 * The client's address as Express decides it (`trust proxy`). Behind a
 * trusted proxy it comes from X-Forwarded-For, which can hold any text;
 * anything but an IP address counts as one and the same source, so made-up
 * values neither multiply the allowance nor reach keys and logs.
 */
export function sourceAddress(req: Request): string {
  const address = req.ip ?? req.socket.remoteAddress ?? '';
  return isIP(address) === 0 ? UNPARSABLE_ADDRESS : address;
}

/** Answers a throttled address: 429 with Retry-After, DESIGN's rate-limit body. */
function tooManyFailures(res: Response, retryAfterSeconds: number): void {
  res.setHeader('Retry-After', String(retryAfterSeconds));
  res.setHeader('Cache-Control', 'no-store');
  res.status(429).json({
    error: 'rate_limited',
    message: 'Too many failed ops logins from this address; try again later',
    retryAfterSeconds,
  });
}

/**
 * HTTP Basic auth for the ops endpoints. Without configured credentials
 * (only possible outside `loadEnv`, e.g. a test harness) every request is
 * refused: the ops endpoints fail closed.
 *
 * With a throttle, wrong credentials count against the source address
 * (`req.ip`, which TRUST_PROXY decides); an address past its limit gets 429
 * without its credentials being checked, right or wrong, so guessing gains
 * nothing. A request without credentials (a browser's first) counts nothing.
 */
export function requireBasicAuth(
  credentials: OpsCredentials | undefined,
  onRefused: (reason: BasicAuthFailure, address: string) => void = () => {},
  throttle?: LoginThrottle,
): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const address = sourceAddress(req);
    let failure: BasicAuthFailure | undefined;
    if (credentials === undefined) failure = 'not_configured';
    else if (header === undefined || header === '') failure = 'missing';
    else {
      const wait = throttle ? await throttle.attempt(address) : 0;
      if (wait > 0) {
        onRefused('throttled', address);
        tooManyFailures(res, wait);
        return;
      }
      const presented = parseBasicAuthorization(header);
      if (presented === undefined) failure = 'malformed';
      else if (!credentialsMatch(credentials, presented)) failure = 'mismatch';
      if (failure === undefined) await throttle?.succeeded(address);
    }
    if (failure === undefined) {
      next();
      return;
    }
    onRefused(failure, address);
    res.setHeader('WWW-Authenticate', `Basic realm="${OPS_REALM}"`);
    res.setHeader('Cache-Control', 'no-store');
    res.status(401).json({ error: 'unauthorized' });
  };
}
