import type { RedisOptions } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { TestingError } from './errors.js';
import type { RedisRoleEnv } from './redis-target.js';
import { type TestRedis, useTestRedis } from './test-redis.js';
import type { RedisClient } from './test-redis-cluster.js';

export type TestRedisHandle = Omit<TestRedis, 'cleanup'>;

/**
 * `useTestRedis` wired into vitest: call at the top of a test file (or describe);
 * the Redis is ready in tests and cleaned up after the last one.
 *
 *   const r = setupTestRedis('sync-runs');
 *   it('...', async () => { await r.redis.set(`${r.prefix}:k`, 'v'); });
 */
export function setupTestRedis(name: string): TestRedisHandle {
  let current: TestRedis | undefined;
  beforeAll(async () => {
    current = await useTestRedis(name);
  });
  afterAll(async () => {
    await current?.cleanup();
  });
  const ready = (): TestRedis => {
    if (current === undefined) {
      throw new TestingError(
        'invalid_usage',
        `setupTestRedis('${name}') is used before its beforeAll hook ran`,
      );
    }
    return current;
  };
  return {
    get url(): string {
      return ready().url;
    },
    get prefix(): string {
      return ready().prefix;
    },
    get env(): RedisRoleEnv {
      return ready().env;
    },
    get cluster(): boolean {
      return ready().cluster;
    },
    get processEnv(): Record<string, string> {
      return ready().processEnv;
    },
    get redis(): RedisClient {
      return ready().redis;
    },
    connect: (options?: RedisOptions) => ready().connect(options),
    keys: () => ready().keys(),
  };
}
