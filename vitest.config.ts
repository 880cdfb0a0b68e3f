import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The suite runs the packages' TypeScript sources, not a build (their `synapse-source` exports),
  // before Vite's default server conditions.
  ssr: { resolve: { conditions: ['synapse-source', 'module', 'node', 'development|production'] } },
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
