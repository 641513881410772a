import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      // The browser tests start the whole stack and a browser once per file.
      testTimeout: 120_000,
      hookTimeout: 180_000,
    },
  }),
);
