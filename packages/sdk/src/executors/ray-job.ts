/**
 * The `ray` job backend (plugins.md §10.4, §10.7): each job is a Ray Job running the SDK's job
 * entrypoint (§10.5) under Node in the plugin's files, uploaded as the job's working directory.
 *
 * Assumption: Node and this SDK are installed at the same paths on the cluster's nodes as here
 * (true for a local head, and for an image built with the SDK). The entrypoint links the
 * working directory's `node_modules` to the one that resolves `synapse-sdk` for the plugin here,
 * since ESM imports ignore NODE_PATH.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Zippable, zipSync } from 'fflate';
import { listArchiveFiles } from '../plugins/archive.ts';
import { ExecutionError } from '../plugins/errors.ts';
import { PARAMS_ENV_LIMIT, ResultScanner } from './entrypoint.ts';
import type { JobBackend, JobExecutionStatus, JobSubmission } from './job.ts';
import type { RayClient, RayJobInfo, RayNodeResources } from './ray-client.ts';

const ENTRYPOINT_BIN = fileURLToPath(new URL('../../bin/synapse-entrypoint.js', import.meta.url));
/** Same bytes for the same files: Ray then finds the package uploaded already. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);
/** Large params travel in the working directory (§10.5). */
const PARAMS_FILE = '.synapse_params.json';
/** How often a followed job's status and logs are read. */
const POLL_MS = 500;
const TERMINAL = new Set<string>(['SUCCEEDED', 'FAILED', 'STOPPED']);

export interface RayJobResources {
  numCpus?: number;
  numGpus?: number;
  /** Bytes. */
  memory?: number;
}

export interface RayJobBackendOptions extends RayJobResources {
  client: RayClient;
  /** The plugin directory: packaged as the job's working directory. */
  workingDir: string;
  /** The job's variables (config `env`, executor `env`, credentials). */
  env: Record<string, string>;
  /** The plugin config's `runtime_env`, under what the job needs. */
  runtimeEnv?: Record<string, unknown>;
  /** Shell command of the job; default: this Node running the SDK's entrypoint. */
  entrypointCommand?: string;
  metadata?: Record<string, string>;
}

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

/** A job this backend follows: its status and logs read until it ends, each new line handed on. */
class FollowedJob {
  readonly scanner = new ResultScanner();
  readonly finished: Promise<JobExecutionStatus>;
  #seen = 0;
  #partial = '';

  constructor(
    readonly client: RayClient,
    readonly id: string,
    readonly onOutput?: JobSubmission['onOutput'],
  ) {
    this.finished = this.#follow();
  }

  async #follow(): Promise<JobExecutionStatus> {
    for (;;) {
      // Status before logs: once the status is final, the logs read after it are complete.
      const info = await this.client.getJob(this.id);
      this.#take((await this.client.getJobLogs(this.id)) ?? '');
      if (!info || TERMINAL.has(info.status)) {
        if (this.#partial) this.#line(this.#partial);
        return (info?.status ?? 'UNKNOWN') as JobExecutionStatus;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Ray's log only grows: what is past the part seen so far is new. */
  #take(logs: string): void {
    const text = this.#partial + logs.slice(this.#seen);
    this.#seen = logs.length;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
  }

  #line(line: string): void {
    this.scanner.line(line);
    this.onOutput?.(line, 'stdout');
  }
}

export class RayJobBackend implements JobBackend {
  readonly #options: RayJobBackendOptions;
  readonly #jobs = new Map<string, FollowedJob>();

  constructor(options: RayJobBackendOptions) {
    this.#options = options;
  }

  async submit({ jobId, entrypoint, params, onBackend, onOutput }: JobSubmission): Promise<void> {
    const { client, numCpus, numGpus, memory } = this.#options;
    assertFits(await client.nodeResources(), { CPU: numCpus ?? 0, GPU: numGpus ?? 0, memory: memory ?? 0 });

    const json = JSON.stringify(params ?? {});
    const large = json.length >= PARAMS_ENV_LIMIT;
    const pkg = await packageWorkingDir(this.#options.workingDir, large ? { [PARAMS_FILE]: json } : {});
    const envVars: Record<string, string> = {
      ...this.#options.env,
      SYNAPSE_ACTION_ENTRYPOINT: entrypoint,
      ...(large ? { SYNAPSE_ACTION_PARAMS_FILE: PARAMS_FILE } : { SYNAPSE_ACTION_PARAMS: json }),
      // A local id (none given) is not a backend job: the run must not report to one.
      ...(onBackend ? { SYNAPSE_JOB_ID: jobId } : {}),
    };
    const runtimeEnv = this.#options.runtimeEnv ?? {};
    await client.submitJob({
      entrypoint: this.#options.entrypointCommand ?? nodeCommand(this.#options.workingDir, [ENTRYPOINT_BIN]),
      submission_id: jobId,
      runtime_env: {
        ...runtimeEnv,
        working_dir: await uploadWorkingDir(client, pkg),
        env_vars: { ...(runtimeEnv.env_vars as Record<string, string> | undefined), ...envVars },
      },
      metadata: { ...this.#options.metadata, job_id: jobId },
      ...(numCpus ? { entrypoint_num_cpus: numCpus } : {}),
      ...(numGpus ? { entrypoint_num_gpus: numGpus } : {}),
      ...(memory ? { entrypoint_memory: Math.round(memory) } : {}),
    });
    this.#jobs.set(jobId, new FollowedJob(client, jobId, onOutput));
  }

  async getStatus(jobId: string): Promise<JobExecutionStatus> {
    return (await this.#options.client.getJob(jobId))?.status ?? 'UNKNOWN';
  }

  /** The job's output; Ray's reason when the job failed before printing anything. */
  async getLogs(jobId: string): Promise<string> {
    const [info, logs] = [await this.#info(jobId), await this.#options.client.getJobLogs(jobId)];
    return logs || (info.status === 'FAILED' && info.message ? `${info.message}\n` : (logs ?? ''));
  }

  async getResult(jobId: string): Promise<unknown> {
    const info = await this.#info(jobId);
    if (info.status !== 'SUCCEEDED') return null;
    const followed = this.#jobs.get(jobId);
    if (followed) {
      await followed.finished;
      return followed.scanner.result();
    }
    const scanner = new ResultScanner();
    for (const line of (await this.getLogs(jobId)).split('\n')) scanner.line(line);
    return scanner.result();
  }

  async finished(jobId: string): Promise<JobExecutionStatus> {
    let followed = this.#jobs.get(jobId);
    if (!followed) {
      await this.#info(jobId);
      followed = new FollowedJob(this.#options.client, jobId);
      this.#jobs.set(jobId, followed);
    }
    return followed.finished;
  }

  /** Asks Ray to stop the job (SIGTERM, then SIGKILL); resolves once it has ended. */
  async stop(jobId: string): Promise<boolean> {
    await this.#info(jobId);
    const stopped = await this.#options.client.stopJob(jobId);
    if (stopped) await this.finished(jobId);
    return stopped;
  }

  async #info(jobId: string): Promise<RayJobInfo> {
    const info = await this.#options.client.getJob(jobId);
    if (!info) throw new ExecutionError(`Job ${jobId} not found`);
    return info;
  }
}
