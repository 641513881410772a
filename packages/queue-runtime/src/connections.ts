import { Redis, type RedisOptions } from 'ioredis';

/**
 * How a connection behaves when Redis is away:
 * - `worker`: BullMQ workers block and must retry forever (maxRetriesPerRequest null).
 * - `producer`: the API answers 503 at once instead of hanging a request, so
 *   commands fail fast while disconnected (no offline queue).
 */
export type ConnectionRole = 'worker' | 'producer';

export function createRedisConnection(
  url: string,
  role: ConnectionRole,
  extra: Partial<RedisOptions> = {},
): Redis {
  const common: RedisOptions = {
    connectionName: `entra-sync-${role}`,
    // Keep reconnecting with a capped backoff; readiness reports the outage.
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  };
  if (role === 'worker') {
    return new Redis(url, { ...common, maxRetriesPerRequest: null, enableReadyCheck: true });
  }
  return new Redis(url, {
    ...common,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: 5000,
  });
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
