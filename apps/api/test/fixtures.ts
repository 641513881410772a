import { createStores, type Stores } from '@pinnacle/redis-store';
import { test as base } from '@pinnacle/testing/fixtures';
import { ENCRYPTION_KEY, startTestApi, type TestApi } from './helpers.js';

/**
 * The fixtures of `@pinnacle/testing/fixtures`, and:
 * - `api`: the api role with the tests' defaults (`startTestApi`) on the
 *   file's Redis, one per file, closed after its last test (before the Redis
 *   fixture empties its prefix). A suite that needs other settings starts
 *   its own with `startTestApi`.
 * - `stores`: the repositories on the file's prefix, sealing secrets with the
 *   key the tests' api roles use, for arranging and checking what they store.
 */
export const test = base
  .extend(
    'stores',
    { scope: 'file' },
    async ({ redis }): Promise<Stores> => createStores(redis.redis, redis.prefix, ENCRYPTION_KEY),
  )
  .extend('api', { scope: 'file' }, async ({ redis }, { onCleanup }): Promise<TestApi> => {
    const api = await startTestApi(redis);
    onCleanup(() => api.close());
    return api;
  });
