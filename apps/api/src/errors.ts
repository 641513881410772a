import type { ValidationIssue } from '@pinnacle/domain';

export type ApiErrorCode =
  | 'validation_failed'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'bad_request'
  | 'unavailable'
  | 'rate_limited'
  | 'internal_error'
  /** A check against Entra ID with the org's stored settings stopped (`failure` says why). */
  | 'entra_check_failed'
  /** Entra ID or Graph did not answer well enough to decide (transient). */
  | 'entra_unreachable';

/**
 * An error the API answers with as is: its status and `{ error: code }`
 * (plus `issues` for validation). Thrown from handlers; the error handler
 * turns it into the response.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    readonly issues?: ValidationIssue[],
    /** A sentence for the caller (`message` in the body); never echoes what they sent. */
    readonly detail?: string,
    /** A 429's wait and the limit that refused (`retryAfterSeconds`, `limit` in the body). */
    readonly rateLimit?: { retryAfterSeconds: number; limit: string },
    /** Further fields of the body (e.g. the `failure` of an Entra check). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(code);
    this.name = 'ApiError';
  }

  body(): {
    error: ApiErrorCode;
    issues?: ValidationIssue[];
    message?: string;
    retryAfterSeconds?: number;
    limit?: string;
  } {
    return {
      ...this.extra,
      error: this.code,
      ...(this.issues ? { issues: this.issues } : {}),
      ...(this.detail !== undefined ? { message: this.detail } : {}),
      ...(this.rateLimit ?? {}),
    };
  }
}

export const notFound = () => new ApiError(404, 'not_found');
export const forbidden = () => new ApiError(403, 'forbidden');
/** 401; `detail` says why when the reason helps the token's issuer (a claim it must fix). */
export const unauthorized = (detail?: string) =>
  new ApiError(401, 'unauthorized', undefined, detail);
export const validationFailed = (issues: ValidationIssue[]) =>
  new ApiError(400, 'validation_failed', issues);
/** 429, DESIGN's body `{ error: "rate_limited", message, retryAfterSeconds }` plus the `limit` that refused. */
export const rateLimited = (limit: string, retryAfterSeconds: number, message: string) =>
  new ApiError(429, 'rate_limited', undefined, message, { retryAfterSeconds, limit });
/** A `?cursor=` this API did not hand out (or no longer can read). */
export const invalidCursor = () =>
  validationFailed([{ path: 'cursor', message: 'must be a cursor returned as nextCursor' }]);

/** Redis (or the queue on it) did not answer; the request is answered 503 at once. */
export class UnavailableError extends Error {
  readonly code = 'unavailable';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'UnavailableError';
  }
}

// What ioredis and BullMQ say when the connection is down, reconnecting,
// timing out or the server is not serving yet. Matched on text because
// ioredis raises plain Errors for most of these; codes come from node's net.
const UNAVAILABLE_MESSAGE =
  /Stream isn't writeable|Connection is closed|Command timed out|max retries per request|Reached the max retries|Connection lost|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY/i;
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** True when `error` (or its cause) means Redis is away rather than a bug. */
export function isRedisUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false;
  if (error instanceof UnavailableError) return true;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (UNAVAILABLE_MESSAGE.test(error.message)) return true;
  return isRedisUnavailable(error.cause, depth + 1);
}

/**
 * Bounds a Redis-backed call. The fail-fast connection already rejects while
 * Redis is down, but BullMQ waits for its first `ready` without a limit, so
 * a queue made while Redis was away would hang a request without this.
 */
export async function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
