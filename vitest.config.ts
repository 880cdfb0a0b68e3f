import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // Plugins scaffolded by the CLI tests carry their own tests, run by those tests.
    exclude: ['**/node_modules/**', '**/.tmp/**'],
    // Isolated config dir, no inherited SYNAPSE_* settings, no process left behind.
    globalSetup: ['scripts/test-guest.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
