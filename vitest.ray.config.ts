import { defineConfig } from 'vitest/config';

/** `npm run test:ray`: the Ray suite, against its own local Ray head (scripts/ray.sh). */
export default defineConfig({
  // The sources, as in vitest.config.ts.
  ssr: { resolve: { conditions: ['synapse-source', 'node', 'development|production'] } },
  test: {
    include: ['packages/sdk/test-ray/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/.tmp/**'],
    globalSetup: ['scripts/test-guest.ts', 'packages/sdk/test-ray/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // One Ray head with 2 CPUs: test files take turns on it.
    fileParallelism: false,
  },
});
