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
    // Hang guards, not speed limits: on a busy 2-core machine the heaviest tests (the demo's real
    // detector, the packed-install test) take minutes; a test must never fail for being slow.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
