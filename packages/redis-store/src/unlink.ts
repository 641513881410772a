import type { RedisClient } from './redis-client.js';

const SLICE = 1000;

/** UNLINK in slices: a snapshot version may have thousands of keys. */
export async function unlinkAll(redis: RedisClient, keys: readonly string[]): Promise<void> {
  for (let from = 0; from < keys.length; from += SLICE) {
    await redis.unlink(...keys.slice(from, from + SLICE));
  }
}
