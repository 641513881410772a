import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// On a Cluster run (TEST_REDIS_CLUSTER=1) every store script must have run.
export default mergeConfig(shared, {
  test: {
    setupFiles: ['./test/support/script-log.ts'],
    globalSetup: ['./test/support/script-coverage.ts'],
  },
});
