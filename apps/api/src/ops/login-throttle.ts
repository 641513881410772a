import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginThrottleOptions {
  /** The api's store connection: every replica counts in the same keys. */
  redis: Redis;
  /** Key prefix of the counters (one key per source address, expiring with its window). */
  keyPrefix: string;
  /** OPS_LOGIN_MAX_FAILURES: failed logins an address may make per window. */
  maxFailures: number;
  /** OPS_LOGIN_WINDOW_SECONDS: the window, from an address's first failure. */
  windowSeconds: number;
}

/**
 * Failed ops logins per source address, counted in Redis by
 * rate-limiter-flexible so every api replica shares them. While Redis is
 * away each process counts in memory instead (the library's insurance
 * limiter), so /metrics keeps answering during an outage and guessing is
 * still slowed.
 */
export interface LoginThrottle {
  /** Seconds until `address` may try again; 0 when it may now. */
  blockedFor(address: string): Promise<number>;
  /** Counts one failed login from `address`. */
  failed(address: string): Promise<void>;
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
    async blockedFor(address) {
      const state = await limiter.get(address);
      if (state === null || state.consumedPoints < options.maxFailures) return 0;
      return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
    },
    async failed(address) {
      try {
        await limiter.consume(address);
      } catch (error) {
        // Past the limit consume rejects with the counter's state: counted all the same.
        if (!(error instanceof RateLimiterRes)) throw error;
      }
    },
  };
}
