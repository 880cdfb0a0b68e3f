/**
 * Which build of the SDK a bin runs. The package's `imports` map decides: `#cli` and `#entrypoint`
 * are the compiled modules in dist/ (the published package), or their TypeScript sources when Node
 * runs with `--conditions=synapse-source`, as the repo's own loop does (.npmrc sets it for npm
 * scripts and npx, vitest for the suite; child processes inherit it through NODE_OPTIONS), so the
 * bin, the SDK and plugin code's `synapse-sdk` imports all load one copy. Sources load through
 * source-loader.js, registered only then: the compiled CLI starts without a TypeScript compiler.
 */
import { existsSync } from 'node:fs';

const CONDITION = '--conditions=synapse-source';

export async function launch(specifier) {
  const target = new URL(import.meta.resolve(specifier));
  const fromSources = target.pathname.endsWith('.ts');
  if (!fromSources && existsSync(target)) return import(specifier);
  if (!fromSources) {
    // A checkout where dist/ was never built: run the sources, with the condition on for the
    // processes this one starts (jobs, workers); the source hooks turn it on for this one.
    process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, CONDITION].filter(Boolean).join(' ');
  }
  await import('./source-loader.js');
  return import(specifier);
}
