import { createHash } from 'node:crypto';
import { securityDefaults } from '@pinnacle/config';
import type { Logger } from '@pinnacle/logging';
import type { RedisClient } from '@pinnacle/queue-runtime';
import { globalKeys, orgKeys } from '@pinnacle/redis-store';
import type { RequestHandler } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ANY_ORG, type AuthClaims, authOf } from './auth.js';
import { rateLimited, UnavailableError, withTimeout } from './errors.js';

/** Which limit refused a request: the `limit` of a 429's body. */
export type RateLimitName = 'request_rate' | 'sync_now_budget';

/** The limits' settings (the environment's knobs). */
export interface LimitSettings {
  /** SYNC_NOW_BUDGET: new runs Sync Now may start per org within the window. */
  syncNowBudget: number;
  /** SYNC_NOW_BUDGET_WINDOW_SECONDS. */
  syncNowWindowSeconds: number;
  /** API_RATE_LIMIT_PER_MINUTE: requests per minute of an org's token (`sub`, `org`). */
  requestsPerMinute: number;
  /** API_RATE_LIMIT_ANY_ORG_PER_MINUTE: the same for the portal backend's `org: "*"` token. */
  anyOrgRequestsPerMinute: number;
}

export const DEFAULT_LIMIT_SETTINGS: LimitSettings = {
  syncNowBudget: securityDefaults.SYNC_NOW_BUDGET,
  syncNowWindowSeconds: securityDefaults.SYNC_NOW_BUDGET_WINDOW_SECONDS,
  requestsPerMinute: securityDefaults.API_RATE_LIMIT_PER_MINUTE,
  anyOrgRequestsPerMinute: securityDefaults.API_RATE_LIMIT_ANY_ORG_PER_MINUTE,
};

/** What a limit answered: go on, or wait this many seconds (at least 1). */
export type LimitDecision =
  | { allowed: true }
  | {
      allowed: false;
      retryAfterSeconds: number;
      /** The first refusal of the window (later ones in it are not worth a log line each). */
      first: boolean;
    };

export interface ApiLimits {
  readonly settings: LimitSettings;
  /** Counts one request of a token against its (`sub`, `org`) allowance. */
  request(claims: AuthClaims): Promise<LimitDecision>;
  /** Takes one new run from the org's Sync Now budget. */
  takeSyncNow(orgId: string): Promise<LimitDecision>;
  /** Gives a run back (the press joined a run after all, or its job could not be queued). */
  giveBackSyncNow(orgId: string): Promise<void>;
}

/**
 * A token's `sub` as it appears in a key: hashed, so user IDs and email
 * addresses stay out of Redis key names, and any text makes a plain key.
 */
export function subjectKey(sub: string): string {
  return createHash('sha256').update(sub, 'utf8').digest('base64url').slice(0, 22);
}

/**
 * The API's rate limits, counted in Redis by rate-limiter-flexible (one
 * counter per key, expiring with its window: every api replica shares
 * them). Keys of one org carry its `{o:<orgId>}` tag, like its other keys.
 *
 * While Redis is away a limit cannot be checked, and the request is
 * answered 503 like every other request that needs Redis then: the limits
 * are never skipped, and no replica counts on its own.
 */
export function createApiLimits(options: {
  redis: RedisClient;
  /** The data prefix (`dataPrefix(QUEUE_PREFIX)`). */
  prefix: string;
  settings: LimitSettings;
  /** Bound of one limiter call. */
  timeoutMs: number;
}): ApiLimits {
  const { redis, prefix, settings, timeoutMs } = options;
  // Keys are whole (from the store's key layout): no prefix of the library's own.
  const limiter = (points: number, duration: number) =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: '',
      points,
      duration,
      // Refuse at once while the connection is down instead of queueing on it.
      rejectIfRedisNotReady: true,
    });
  const perToken = limiter(settings.requestsPerMinute, 60);
  const perAnyOrgToken = limiter(settings.anyOrgRequestsPerMinute, 60);
  const syncNow = limiter(settings.syncNowBudget, settings.syncNowWindowSeconds);

  const consume = async (
    which: RateLimiterRedis,
    points: number,
    key: string,
  ): Promise<LimitDecision> => {
    try {
      await withTimeout('checking a rate limit', timeoutMs, which.consume(key));
      return { allowed: true };
    } catch (error) {
      // Past the limit consume rejects with the counter's state.
      if (error instanceof RateLimiterRes) {
        return {
          allowed: false,
          retryAfterSeconds: Math.max(1, Math.ceil(error.msBeforeNext / 1000)),
          first: error.consumedPoints === points + 1,
        };
      }
      if (error instanceof UnavailableError) throw error;
      throw new UnavailableError('a rate limit could not be checked', { cause: error });
    }
  };

  return {
    settings,
    request(claims) {
      const subject = subjectKey(claims.sub);
      return claims.org === ANY_ORG
        ? consume(
            perAnyOrgToken,
            settings.anyOrgRequestsPerMinute,
            globalKeys(prefix).anyOrgRequestRate(subject),
          )
        : consume(
            perToken,
            settings.requestsPerMinute,
            orgKeys(prefix, claims.org).requestRate(subject),
          );
    },
    takeSyncNow(orgId) {
      return consume(syncNow, settings.syncNowBudget, orgKeys(prefix, orgId).syncNowBudget);
    },
    async giveBackSyncNow(orgId) {
      try {
        await withTimeout(
          'giving back a Sync Now',
          timeoutMs,
          syncNow.reward(orgKeys(prefix, orgId).syncNowBudget),
        );
      } catch (error) {
        throw new UnavailableError('the Sync Now budget could not be updated', { cause: error });
      }
    },
  };
}

/** "45 seconds", "4 minutes", "2 hours": a wait or a window, rounded up. */
export function spanText(seconds: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (seconds < 60) return unit(Math.max(1, Math.ceil(seconds)), 'second');
  if (seconds < 3600) return unit(Math.ceil(seconds / 60), 'minute');
  return unit(Math.ceil(seconds / 3600), 'hour');
}

/**
 * The request rate limit of /api/v1, after authentication (it is keyed by
 * the token): past the token's allowance a 429 with Retry-After, logged
 * once per window and token.
 */
export function requireRequestAllowance(limits: ApiLimits, logger: Logger): RequestHandler {
  return async (req, _res, next) => {
    const claims = authOf(req);
    const decision = await limits.request(claims);
    if (!decision.allowed) {
      const perMinute =
        claims.org === ANY_ORG
          ? limits.settings.anyOrgRequestsPerMinute
          : limits.settings.requestsPerMinute;
      if (decision.first) {
        logger.warn(
          { sub: claims.sub, tokenOrg: claims.org, perMinute, limit: 'request_rate' },
          'request rate limit reached',
        );
      }
      throw rateLimited(
        'request_rate',
        decision.retryAfterSeconds,
        `Too many requests with this token: at most ${perMinute} a minute. Try again in ${spanText(decision.retryAfterSeconds)}.`,
      );
    }
    next();
  };
}
