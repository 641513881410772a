import { test as base } from '@pinnacle/testing/fixtures';
import { type NotifierHarness, startHarness } from './harness.js';

/**
 * The fixtures of `@pinnacle/testing/fixtures` and `harness`: the notifier
 * harness on the file's Redis and SMTP capture, one per file, closed after
 * its last test (its role is started by the suite, with its own settings).
 */
export const test = base.extend(
  'harness',
  { scope: 'file' },
  async ({ redis, smtp }, { onCleanup }): Promise<NotifierHarness> => {
    const harness = await startHarness({ redis, smtp });
    onCleanup(() => harness.close());
    return harness;
  },
);
