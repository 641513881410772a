import { test as base } from '@pinnacle/testing/fixtures';
import { startTestApi, type TestApi } from './helpers.js';

/**
 * The fixtures of `@pinnacle/testing/fixtures` and `api`: the api role with
 * the tests' defaults (`startTestApi`) on the file's Redis, one per file,
 * closed after its last test (before the Redis fixture empties its prefix).
 * A suite that needs other settings starts its own with `startTestApi`.
 */
export const test = base.extend(
  'api',
  { scope: 'file' },
  async ({ redis }, { onCleanup }): Promise<TestApi> => {
    const api = await startTestApi(redis);
    onCleanup(() => api.close());
    return api;
  },
);
