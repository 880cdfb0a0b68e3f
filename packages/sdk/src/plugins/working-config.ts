/**
 * The `./config.yaml` of the plugin a deployment or remote inference runs in, read leniently: these
 * actions only need a few keys (code, version, package manager, entrypoints), never a full validation.
 * Here, beside the plugin config, because both the deployment action (actions/) and the remote call
 * (serve/) read it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The mapping at the top of `<dir>/config.yaml`, or `{}` when there is none or it does not parse. */
export function readWorkingConfig(dir: string = process.cwd()): Record<string, unknown> {
  const file = join(dir, 'config.yaml');
  if (!existsSync(file)) return {};
  try {
    const data = parseYaml(readFileSync(file, 'utf8'));
    return typeof data === 'object' && data !== null && !Array.isArray(data)
      ? (data as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
