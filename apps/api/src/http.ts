import { randomUUID } from 'node:crypto';
import { type Logger, withLogContext } from '@pinnacle/logging';
import { syncJobId } from '@pinnacle/queue-contracts';
import { OrgOffboardedError } from '@pinnacle/redis-store';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiError, isRedisUnavailable } from './errors.js';
import { requestContext } from './request-context.js';

export const JSON_BODY_LIMIT = '64kb';

/**
 * One structured line per request: method, route pattern, status, duration
 * and the validated org. Never the Authorization header, a body or the raw
 * URL (which may carry hostile text).
 */
export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    let logged = false;
    const log = () => {
      if (logged) return;
      logged = true;
      const context = requestContext(req);
      const entry = {
        requestId,
        method: req.method,
        route: context.route ?? null,
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        orgId: context.orgId ?? null,
        ...(context.runId ? { runId: context.runId, jobId: syncJobId(context.runId) } : {}),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (res.statusCode >= 500) logger.warn(entry, 'request');
      else logger.info(entry, 'request');
    };
    res.once('finish', log);
    res.once('close', log);
    // Every line logged while serving it (auth refusals, enqueue trouble, ...) names the request.
    withLogContext({ requestId }, next);
  };
}

/**
 * Pages and data that must never be shown inside another site's frame
 * (clickjacking): CSP `frame-ancestors 'none'` for current browsers and
 * `X-Frame-Options: DENY` for old ones. On /admin/queues and /metrics (and
 * the console).
 */
export const denyFraming: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
  res.setHeader('X-Frame-Options', 'DENY');
  next();
};

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A write with a body must say it is JSON (415 otherwise); a write may have no body. */
export const requireJsonContentType: RequestHandler = (req, _res, next) => {
  const write =
    req.method === 'POST' ||
    req.method === 'PUT' ||
    req.method === 'PATCH' ||
    req.method === 'DELETE';
  if (write && hasBody(req) && !req.is(['application/json', 'application/*+json'])) {
    throw new ApiError(415, 'unsupported_media_type');
  }
  next();
};

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && value >= 400 && value < 600 ? value : undefined;
}

/** body-parser's errors carry a `type`; map the ones a client causes. */
function bodyParserError(error: unknown): ApiError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json');
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'entity.verify.failed':
      return new ApiError(400, 'bad_request');
    default:
      return undefined;
  }
}

export const notFoundHandler: RequestHandler = () => {
  throw new ApiError(404, 'not_found');
};

/**
 * The last word on every error: codes a client can act on, 503 when Redis
 * is away (at once, so callers retry instead of hanging), and for anything
 * else 500 with the detail in the log only.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const known =
      error instanceof ApiError
        ? error
        : // A write fenced out: the org's integration was deleted meanwhile.
          error instanceof OrgOffboardedError
          ? new ApiError(404, 'not_found')
          : bodyParserError(error);
    const status = httpStatusOf(error);
    let apiError: ApiError;
    if (known) {
      apiError = known;
    } else if (isRedisUnavailable(error)) {
      // Expected during an outage, once per request: the reason, not a stack.
      logger.warn(
        { reason: (error as Error).message, route: requestContext(req).route ?? null },
        'redis unavailable; answered 503',
      );
      apiError = new ApiError(503, 'unavailable');
    } else if (status !== undefined && status < 500) {
      // Express's own client errors, e.g. a path that does not URL-decode.
      apiError = new ApiError(status, 'bad_request');
    } else {
      logger.error({ err: error, route: requestContext(req).route ?? null }, 'unhandled error');
      apiError = new ApiError(500, 'internal_error');
    }
    if (apiError.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    if (apiError.status === 503) res.setHeader('Retry-After', '5');
    if (apiError.rateLimit) {
      res.setHeader('Retry-After', String(apiError.rateLimit.retryAfterSeconds));
    }
    res.status(apiError.status).json(apiError.body());
  };
}
