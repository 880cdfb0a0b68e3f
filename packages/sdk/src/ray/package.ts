/**
 * Packaging for Ray (plugins.md §10.7): the plugin's files as a runtime-env working directory,
 * the command that runs Node in it, and the check that a cluster can hold what a job or a serve
 * replica asks for. Shared by Ray jobs (`executors/ray/job.ts`), task workers
 * (`executors/ray/task.ts`) and Ray Serve apps (`serve/ray/backend.ts`), so it lives in its own
 * layer below both rather than in one of them.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Zippable, zipSync } from 'fflate';
import { listArchiveFiles } from '../plugins/archive.ts';
import { ExecutionError } from '../plugins/errors.ts';
import type { RayClient, RayNodeResources } from './client.ts';

/** Same bytes for the same files: Ray then finds the package uploaded already. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The `node_modules` in or above `dir` that holds `synapse-sdk`. */
export function sdkNodeModules(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules', 'synapse-sdk'))) return join(d, 'node_modules');
    if (dirname(d) === d)
      throw new ExecutionError(
        `synapse-sdk is not installed for the plugin in ${dir}: run npm install there`,
      );
  }
}

/** A job command running this Node with `args` in the working directory, `synapse-sdk` resolvable. */
export function nodeCommand(pluginDir: string, args: string[]): string {
  const link = `ln -sfn ${quote(sdkNodeModules(pluginDir))} node_modules`;
  return `${link} && exec ${[process.execPath, ...args].map(quote).join(' ')}`;
}

/** The plugin's files (publish rules, plugins.md §11.2) plus `extra`, as Ray's package name and zip. */
export async function packageWorkingDir(
  dir: string,
  extra: Record<string, string> = {},
): Promise<{ name: string; zip: Uint8Array }> {
  const entries: Zippable = {};
  for (const file of await listArchiveFiles(dir))
    entries[file] = [await readFile(join(dir, file)), { mtime: FIXED_MTIME }];
  for (const [file, text] of Object.entries(extra))
    entries[file] = [Buffer.from(text), { mtime: FIXED_MTIME }];
  const zip = zipSync(entries, { level: 6 });
  return { name: `_ray_pkg_${createHash('md5').update(zip).digest('hex')}.zip`, zip };
}

/** Uploads the package unless the cluster has it; its `gcs://` URI for `runtime_env.working_dir`. */
export async function uploadWorkingDir(
  client: RayClient,
  pkg: { name: string; zip: Uint8Array },
): Promise<string> {
  if (!(await client.packageExists(pkg.name))) await client.uploadPackage(pkg.name, pkg.zip);
  return `gcs://${pkg.name}`;
}

const fmt = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(n));

/**
 * Fails when no node of the cluster could ever hold `request`: Ray would keep such a job
 * PENDING forever instead of failing it.
 */
export function assertFits(nodes: RayNodeResources[], request: Record<string, number>): void {
  const wanted = Object.entries(request).filter(([, n]) => n > 0);
  if (nodes.some((node) => wanted.every(([key, n]) => (node.total[key] ?? 0) >= n))) return;
  const largest = (key: string) => Math.max(0, ...nodes.map((node) => node.total[key] ?? 0));
  const shortfalls = wanted
    .filter(([key, n]) => largest(key) < n)
    .map(([key, n]) => `${key} ${fmt(n)} (largest node: ${fmt(largest(key))})`);
  const detail = shortfalls.length ? shortfalls.join(', ') : 'no single node has all of them';
  throw new ExecutionError(
    `The Ray cluster cannot run this job: it asks for more than a node has: ${detail}`,
  );
}
