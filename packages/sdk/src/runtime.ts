/**
 * How this copy of the SDK runs: compiled (dist/*.js, the published package) or from its
 * TypeScript sources (this repo, under the `synapse-source` export condition). Processes the SDK
 * starts from its own modules (job entrypoints, task and serve workers, Ray commands) must load the
 * same copy, or plugin code's `synapse-sdk` would be a second one (other classes, stale code).
 */
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const FROM_SOURCES = extname(fileURLToPath(import.meta.url)) === '.ts';

/**
 * Node options for such a process: the source condition when running from the sources. Passed on
 * the command line because Ray starts commands with the cluster's environment, not ours.
 */
export const SDK_NODE_OPTIONS: readonly string[] = FROM_SOURCES ? ['--conditions=synapse-source'] : [];

/**
 * Node options for a worker process that imports plugin code, which may be TypeScript: the SDK's
 * options and a loader. Compiled, tsx (what plugin authors' TypeScript is tested with); from the
 * sources, bin/source-loader.js, which loads the SDK's sources and the repo's plugins alike.
 */
export const TYPESCRIPT_NODE_OPTIONS: readonly string[] = [
  ...SDK_NODE_OPTIONS,
  '--import',
  FROM_SOURCES
    ? new URL('../bin/source-loader.js', import.meta.url).href
    : pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
];

/** The file of the SDK module `relative` (no extension) to the module at URL `base`. */
export function sdkModuleFile(relative: string, base: string): string {
  return fileURLToPath(new URL(`${relative}${FROM_SOURCES ? '.ts' : '.js'}`, base));
}
