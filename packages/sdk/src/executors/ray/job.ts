/**
 * The `ray` job backend (plugins.md §10.4, §10.7): each job is a Ray Job running the SDK's job
 * entrypoint (§10.5) under Node in the plugin's files, uploaded as the job's working directory.
 *
 * Assumption: Node and this SDK are installed at the same paths on the cluster's nodes as here
 * (true for a local head, and for an image built with the SDK). The entrypoint links the
 * working directory's `node_modules` to the one that resolves `synapse-sdk` for the plugin here,
 * since ESM imports ignore NODE_PATH.
 */
import { fileURLToPath } from 'node:url';
import { PARAMS_ENV_LIMIT } from 'synapse-core';
import { definedVariables, jobEnvironment } from '../../environment.ts';
import { ExecutionError } from '../../plugins/errors.ts';
import type { RayClient, RayJobInfo } from '../../ray/client.ts';
import { assertFits, nodeCommand, packageWorkingDir, uploadWorkingDir } from '../../ray/package.ts';
import { SDK_NODE_OPTIONS } from '../../runtime.ts';
import { ResultScanner } from '../entrypoint.ts';
import type { JobBackend, JobExecutionStatus, JobSubmission } from '../job.ts';

const ENTRYPOINT_BIN = fileURLToPath(new URL('../../../bin/synapse-entrypoint.js', import.meta.url));
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

/**
 * A job this backend follows: its status and logs read until it ends, each new line handed on.
 * Its polling keeps the process alive only while someone listens: an output callback, or a
 * caller waiting for the end (`watch()`); a library caller that only submitted can exit.
 */
class FollowedJob {
  readonly scanner = new ResultScanner();
  readonly #finished: Promise<JobExecutionStatus>;
  #seen = 0;
  #partial = '';
  #watched: boolean;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    readonly client: RayClient,
    readonly id: string,
    readonly onOutput?: JobSubmission['onOutput'],
  ) {
    this.#watched = onOutput !== undefined;
    this.#finished = this.#follow();
    // Nobody may ever wait for it (submit only): its failure is the waiter's, when there is one.
    this.#finished.catch(() => {});
  }

  /** The job's final status; the process stays up until then. */
  watch(): Promise<JobExecutionStatus> {
    this.#watched = true;
    this.#timer?.ref();
    return this.#finished;
  }

  /** Its polling no longer keeps the process up. */
  unwatch(): void {
    this.#watched = false;
    this.#timer?.unref();
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
      await new Promise((resolve) => {
        this.#timer = setTimeout(resolve, POLL_MS);
        if (!this.#watched) this.#timer.unref();
      });
      this.#timer = null;
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
    // The run's credentials (tokens, `SYNAPSE_*` of §10.5) travel in the job's runtime_env
    // env_vars: whoever can reach the Ray dashboard can read them. Keep the dashboard on
    // loopback (scripts/ray.sh does) or behind a trusted network.
    const envVars: Record<string, string> = {
      ...this.#options.env,
      ...definedVariables(
        jobEnvironment({
          entrypoint,
          params: large ? { file: PARAMS_FILE } : { json },
          // A local id (none given) is not a backend job: the run must not report to one.
          jobId: onBackend ? jobId : undefined,
        }),
      ),
    };
    const runtimeEnv = this.#options.runtimeEnv ?? {};
    await client.submitJob({
      entrypoint:
        this.#options.entrypointCommand ??
        nodeCommand(this.#options.workingDir, [...SDK_NODE_OPTIONS, ENTRYPOINT_BIN]),
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
      await followed.watch();
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
    return followed.watch();
  }

  /** Keeps following the job (and its output) without keeping the process up for it. */
  release(jobId: string): void {
    this.#jobs.get(jobId)?.unwatch();
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
