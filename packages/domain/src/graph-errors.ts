import type { FailureDetailsByCode } from './failures.js';
import { REQUIRED_GRAPH_ROLES } from './permissions.js';
import {
  type NetworkFailure,
  networkReason,
  secondsToMs,
  type TransientError,
  transient,
} from './transient.js';

/** Which Graph call failed: the group check, a members page, or a users read. */
export type GraphCallContext = 'group' | 'members' | 'users';

/**
 * What Graph answered: the status, `error.code` of its JSON body, and the
 * `Retry-After` delay (from parseRetryAfter, in ms, or raw seconds).
 * `groupId` names the group of a `group`/`members` call for `group_not_found`.
 */
export type GraphErrorResponse = {
  status: number;
  code?: string;
  retryAfterSeconds?: number | null;
  retryAfterMs?: number | null;
  context: GraphCallContext;
  groupId?: string;
};

export type GraphErrorInput = GraphErrorResponse | (NetworkFailure & { context: GraphCallContext });

export type GraphBlockingCode = 'consent_missing' | 'group_not_found' | 'internal_error';

export type GraphBlockingError = {
  [C in GraphBlockingCode]: { kind: 'blocking'; code: C; details: FailureDetailsByCode[C] };
}[GraphBlockingCode];

export type GraphErrorClassification = GraphBlockingError | TransientError;

/** Graph's code for a directory object that does not exist (and the generic one). */
const NOT_FOUND_CODES = new Set(['request_resourcenotfound', 'resourcenotfound']);

/**
 * The permissions a 403 most likely points at, per call. Graph does not say
 * which one is missing; preflight compares the token's roles first, so a
 * 403 here usually means consent was revoked or never granted.
 */
const LIKELY_MISSING: Readonly<Record<GraphCallContext, string[]>> = {
  group: ['GroupMember.Read.All'],
  members: [...REQUIRED_GRAPH_ROLES],
  users: ['User.Read.All'],
};

/**
 * Classifies a failed Graph request.
 * Blocking: 403 (Graph answers `Authorization_RequestDenied` when the app
 * lacks a permission; any 403 on these read-only calls is a permission
 * problem) → consent_missing; 404 `Request_ResourceNotFound` on a group or
 * its members → group_not_found; other 4xx → internal_error (our request was
 * wrong, e.g. a bad query: not the admin's to fix).
 * Transient: 429 and 503 (throttled, honouring Retry-After), other 5xx,
 * 408, network failures and timeouts; 401 too (an access token expired
 * mid-run: the retry gets a fresh one); and a 404 with no Graph error code,
 * which is not Graph speaking (a proxy or a wrong base URL), so retries run
 * out as entra_unreachable instead of blaming the admin's groups.
 */
export function classifyGraphError(input: GraphErrorInput): GraphErrorClassification {
  if ('network' in input) return transient(networkReason(input.network));
  const { status, context } = input;
  const code = input.code && /^[A-Za-z0-9_.-]{1,64}$/.test(input.code) ? input.code : undefined;
  const retryAfterMs = input.retryAfterMs ?? secondsToMs(input.retryAfterSeconds);

  if (status === 429 || status === 503) return transient('throttled', retryAfterMs);
  if (status >= 500 && status <= 599) return transient('server_error', retryAfterMs);
  if (status === 408) return transient('timeout', retryAfterMs);
  if (status === 401) return transient('unauthorized', retryAfterMs);
  if (status === 403) {
    return {
      kind: 'blocking',
      code: 'consent_missing',
      details: {
        missingPermissions: [...LIKELY_MISSING[context]],
        source: 'graph',
        status,
        ...(code ? { graphCode: code } : {}),
      },
    };
  }
  if (status === 404) {
    if (code && NOT_FOUND_CODES.has(code.toLowerCase()) && context !== 'users') {
      return {
        kind: 'blocking',
        code: 'group_not_found',
        details: { groupIds: input.groupId ? [input.groupId] : [] },
      };
    }
    if (!code) return transient('unexpected_response', retryAfterMs);
  }
  if (status >= 400 && status <= 499) {
    return {
      kind: 'blocking',
      code: 'internal_error',
      details: { reason: 'graph_request_rejected', status, ...(code ? { graphCode: code } : {}) },
    };
  }
  return transient('unexpected_response', retryAfterMs);
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept.
const IMF_FIXDATE = new RegExp(
  `^(?:${DAY_NAMES.join('|')}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`,
);
const RFC_850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`,
);
const ASCTIME = new RegExp(`^(?:${DAY_NAMES.join('|')}) (${MONTH}) ([ \\d]\\d) ${TIME} (\\d{4})$`);

function utc(year: number, month: string, day: number, h: number, m: number, s: number) {
  const monthIndex = MONTHS.indexOf(month);
  if (h > 23 || m > 59 || s > 60) return null;
  const ms = Date.UTC(year, monthIndex, day, h, m, Math.min(s, 59));
  // Reject 31 Feb and the like instead of letting Date roll them over.
  return new Date(ms).getUTCDate() === day ? ms : null;
}

/** Parses an HTTP-date (any of the three forms) to epoch ms, or null. */
export function parseHttpDate(value: string, now: Date | number = Date.now()): number | null {
  let match = IMF_FIXDATE.exec(value);
  if (match) {
    const [, d, mon, y, h, mi, s] = match;
    return utc(Number(y), mon!, Number(d), Number(h), Number(mi), Number(s));
  }
  match = RFC_850.exec(value);
  if (match) {
    const [, d, mon, yy, h, mi, s] = match;
    // Two-digit year: the most recent one not more than 50 years ahead (RFC 9110).
    const nowYear = new Date(now).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(yy);
    if (year > nowYear + 50) year -= 100;
    return utc(year, mon!, Number(d), Number(h), Number(mi), Number(s));
  }
  match = ASCTIME.exec(value);
  if (match) {
    const [, mon, d, h, mi, s, y] = match;
    return utc(Number(y), mon!, Number(d!.trim()), Number(h), Number(mi), Number(s));
  }
  return null;
}

/**
 * The wait a `Retry-After` header asks for, in ms from `now`: either
 * delay-seconds or an HTTP-date (a date in the past means 0). Null when the
 * header is absent or malformed, so the caller falls back to its backoff.
 * No cap here: the caller bounds how long it is willing to wait.
 */
export function parseRetryAfter(
  headerValue: string | null | undefined,
  now: Date | number = Date.now(),
): number | null {
  if (headerValue === null || headerValue === undefined) return null;
  const value = headerValue.trim();
  if (value === '' || value.length > 64) return null;
  if (/^\d+(?:\.\d+)?$/.test(value)) return secondsToMs(Number(value));
  const at = parseHttpDate(value, now);
  if (at === null) return null;
  return Math.max(0, at - new Date(now).getTime());
}
