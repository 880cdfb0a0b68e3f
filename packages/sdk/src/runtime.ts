/**
 * How this copy of the SDK runs: compiled (dist/*.js, the published package) or from its
 * TypeScript sources (this repo, under the `synapse-source` export condition). Processes the SDK
 * starts from its own modules (job entrypoints, task and serve workers, Ray commands) must load the
 * same copy, or plugin code's `synapse-sdk` would be a second one (other classes, stale code).
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const FROM_SOURCES = extname(fileURLToPath(import.meta.url)) === '.ts';

/**
 * Node options for such a process: the source condition when running from the sources. Passed on
 * the command line because Ray starts commands with the cluster's environment, not ours.
 */
export const SDK_NODE_OPTIONS: readonly string[] = FROM_SOURCES ? ['--conditions=synapse-source'] : [];

/** The file of the SDK module `relative` (no extension) to the module at URL `base`. */
export function sdkModuleFile(relative: string, base: string): string {
  return fileURLToPath(new URL(`${relative}${FROM_SOURCES ? '.ts' : '.js'}`, base));
}
