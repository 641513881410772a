import type { Redis } from 'ioredis';

/** Where `pnpm demo` keeps its Redis data unless DEMO_PREFIX says otherwise. */
export const DEFAULT_DEMO_PREFIX = 'entra-sync-demo';

/**
 * DEMO_PREFIX, checked: letters, digits, `_`, `.` and `-` only, so it is
 * a plain key prefix (no hash tag) and no glob character can widen the
 * clean-up's SCAN pattern beyond the demo's own keys.
 */
export function demoPrefix(value: string | undefined): string {
  const prefix = value === undefined || value === '' ? DEFAULT_DEMO_PREFIX : value;
  if (!/^[A-Za-z0-9_.-]{1,48}$/.test(prefix)) {
    throw new Error(
      'DEMO_PREFIX must be 1 to 48 letters, digits, "_", "." or "-" (it prefixes every Redis key of the demo)',
    );
  }
  return prefix;
}

/**
 * Deletes every key under `<prefix>:` (the queues, the data, the metrics),
 * a SCAN page at a time with UNLINK: never FLUSHDB, the Redis may be shared.
 * Returns how many keys went.
 */
export async function clearPrefix(redis: Redis, prefix: string): Promise<number> {
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}
