import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The suite runs the packages' TypeScript sources, not a build (their `synapse-source` exports),
  // then what Node itself resolves. Not `module`: it names bundler-only builds that Node cannot
  // load (the AWS SDK's `dist-es`, whose imports have no file extensions).
  ssr: { resolve: { conditions: ['synapse-source', 'node', 'development|production'] } },
  // Global setup (the shared local platform) is loaded by vitest's own `__vitest__` environment:
  // the same sources there, or it would run whatever stale build `dist/` holds (or fail without one).
  environments: {
    __vitest__: { resolve: { conditions: ['synapse-source', 'node', 'development|production'] } },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // Plugins scaffolded by the CLI tests carry their own tests, run by those tests.
    exclude: ['**/node_modules/**', '**/.tmp/**'],
    // Isolated config dir, no inherited SYNAPSE_* settings, no process left behind; then the
    // local platform the test files share (torn down first, before the leftover check).
    globalSetup: ['scripts/test-guest.ts', 'scripts/test-platform.ts'],
    // A guard against hangs, not a speed check: on a two-core machine kept busy by other work a
    // test that starts CLI, job and replica processes took over 60 s though nothing was broken.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
    // A worker loads the SDK's modules once for all the files it runs, not once per file: that
    // loading was a quarter of the suite's CPU. Safe because the packages keep no process-global
    // mutable state, and tests restore what they change (env, cwd, spies).
    isolate: false,
  },
});
