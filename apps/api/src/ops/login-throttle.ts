import type { RedisClient } from '@pinnacle/queue-runtime';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginThrottleOptions {
  /** The api's store connection: every replica counts in the same keys. */
  redis: RedisClient;
  /** Key prefix of the counters (one key per source address, expiring with its window). */
  keyPrefix: string;
  /** OPS_LOGIN_MAX_FAILURES: failed logins an address may make per window. */
  maxFailures: number;
  /** OPS_LOGIN_WINDOW_SECONDS: the window, from an address's first failure. */
  windowSeconds: number;
}

/**
 * Failed ops logins per source address, counted in Redis by
 * rate-limiter-flexible so every api replica shares them. Each attempt with
 * credentials takes one point before they are checked (one atomic INCR), and
 * right credentials give it back: a burst of guesses sent at once cannot
 * slip past the limit between a check and a count. While Redis is away each
 * process counts in memory instead (the library's insurance limiter), so
 * /metrics keeps answering during an outage and guessing is still slowed.
 */
export interface LoginThrottle {
  /** Takes one attempt from `address`'s allowance: 0 to go on, else the seconds to wait. */
  attempt(address: string): Promise<number>;
  /** The credentials were right: the attempt is given back. */
  succeeded(address: string): Promise<void>;
}

export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const limits = { points: options.maxFailures, duration: options.windowSeconds };
  const limiter = new RateLimiterRedis({
    ...limits,
    storeClient: options.redis,
    keyPrefix: options.keyPrefix,
    // Fail over to the in-memory counter at once instead of queueing on a dead connection.
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ ...limits, keyPrefix: options.keyPrefix }),
  });
  return {
    async attempt(address) {
      try {
        await limiter.consume(address);
        return 0;
      } catch (error) {
        // Past the limit consume rejects with the counter's state.
        if (error instanceof RateLimiterRes) {
          return Math.max(1, Math.ceil(error.msBeforeNext / 1000));
        }
        throw error;
      }
    },
    async succeeded(address) {
      await limiter.reward(address);
    },
  };
}
