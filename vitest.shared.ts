import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the
// "@pinnacle/source" condition, so tests run against src without a build.
export default defineConfig({
  resolve: { conditions: ['@pinnacle/source', 'import', 'module', 'node', 'default'] },
  // Not 'import': these reach Node as --conditions, and with it require() of a
  // dual CJS/ESM package loads its ESM build (Express's router then breaks).
  // Node still applies 'import' to real imports on its own.
  ssr: { resolve: { conditions: ['@pinnacle/source', 'node', 'default'] } },
  test: {
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files share one machine's Redis and spawn servers; keep the load bounded.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
