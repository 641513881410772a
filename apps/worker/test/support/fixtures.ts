import { test as base } from '@pinnacle/testing/fixtures';
import { type Harness, startHarness } from './harness.js';

/**
 * The fixtures of `@pinnacle/testing/fixtures` and `harness`: the worker
 * harness with the tests' defaults on the file's Redis and simulator, one
 * per file, closed after its last test. A suite that needs other settings
 * calls `startHarness` itself.
 */
export const test = base.extend(
  'harness',
  { scope: 'file' },
  async ({ redis, simulator }, { onCleanup }): Promise<Harness> => {
    const harness = await startHarness({ redis, simulator });
    onCleanup(() => harness.close());
    return harness;
  },
);
