/**
 * `JobExecutor` (plugins.md §10.4): every submission is a fresh process running the job
 * entrypoint protocol (§10.5), watched through a backend. The `process` backend runs it on this
 * machine; a Ray Jobs backend (§10.7) is another `JobBackend`.
 *
 * The job record's status is the supervisor's to keep, not the entrypoint's: given a `client`,
 * the executor sets it RUNNING at submission and SUCCEEDED, FAILED or STOPPED when the process
 * ends, crashes included.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { JOB_STATUSES, type JobStatus, withoutResultBlock } from 'synapse-core';
import { loadEntrypoint } from '../actions/entrypoint.ts';
import type { BackendClient } from '../clients/backend/index.ts';
import { createRunClient } from '../clients/credentials.ts';
import type { ParamsSchema } from '../plugins/action.ts';
import { ExecutionError } from '../plugins/errors.ts';
import { validateParams } from '../plugins/params.ts';
import { ProcessBackend } from './process-backend.ts';
import { pluginEnvironment } from './runtime.ts';

export type JobExecutionStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'STOPPED' | 'UNKNOWN';
export type OutputStream = 'stdout' | 'stderr';

export interface JobSubmission {
  jobId: string;
  entrypoint: string;
  params: unknown;
  /** Whether the id names a job record on the backend (given by the caller), which the run reports to. */
  onBackend: boolean;
  /** Each line the job prints, as it prints it. */
  onOutput?: (line: string, stream: OutputStream) => void;
}

/** Where jobs run. Lookups of an unknown id throw `Job <id> not found`, except `getStatus`. */
export interface JobBackend {
  submit(job: JobSubmission): Promise<void>;
  /** `UNKNOWN` for an id it never saw. */
  getStatus(jobId: string): Promise<JobExecutionStatus>;
  getLogs(jobId: string): Promise<string>;
  /** The job's result once it SUCCEEDED, else null. */
  getResult(jobId: string): Promise<unknown>;
  /** Resolves with the final status once the job has ended. */
  finished(jobId: string): Promise<JobExecutionStatus>;
  /** Whether a running job was stopped. */
  stop(jobId: string): Promise<boolean>;
}

export interface JobExecutorOptions {
  /** Where jobs run: `process` (default) on this machine, or another `JobBackend` (Ray Jobs). */
  backend?: 'process' | JobBackend;
  /** Variables over the process environment (the plugin config's `env` comes first). */
  env?: Record<string, string>;
  /** The plugin directory: entrypoints resolve against it and jobs run in it. */
  workingDir?: string;
  /** Keeps the job record's status (see above); none by default. */
  client?: BackendClient | null;
  /** Validate params against the action's schema before submitting; default true. */
  validateParams?: boolean;
  /** How much of a job's output is kept, from the end; default 10 MiB. */
  maxLogBytes?: number;
  /** How long a stopped job may take to exit before it is killed; default 5 s. */
  stopGraceMs?: number;
}

export interface SubmitOptions {
  /** Default: the first 8 characters of a UUID v4. */
  jobId?: string;
  onOutput?: JobSubmission['onOutput'];
}

/**
 * Checks `params` against the schema of the action at `entrypoint` (resolved in `workingDir`), as
 * the action itself would before running: a `PluginValidationError` naming every invalid field.
 * A schema built per run gets `client` (else the run's client from the environment and `env`).
 */
export async function validateActionParams(
  entrypoint: string,
  params: unknown,
  options: { workingDir: string; env?: Record<string, string>; client?: BackendClient | null },
): Promise<void> {
  const action = await loadEntrypoint(entrypoint, options.workingDir);
  const schema: ParamsSchema | undefined =
    (action as { actionMeta?: { params?: ParamsSchema } }).actionMeta?.params ??
    (action as { paramsSchema?: ParamsSchema }).paramsSchema;
  if (!schema) return;
  if (typeof schema !== 'function') {
    await validateParams(schema, params);
    return;
  }
  // A schema built per run may query the backend (e.g. "project exists").
  const vars = { ...process.env, ...options.env };
  const client = options.client ?? createRunClient(vars);
  try {
    await validateParams(schema({ client, env: pluginEnvironment(vars), action: action as never }), params);
  } finally {
    if (client !== options.client) await client?.close();
  }
}

export class JobExecutor {
  readonly #backend: JobBackend;
  readonly #env: Record<string, string>;
  readonly #workingDir: string;
  readonly #client: BackendClient | null;
  readonly #validate: boolean;

  constructor(options: JobExecutorOptions = {}) {
    this.#env = options.env ?? {};
    this.#workingDir = resolve(options.workingDir ?? process.cwd());
    this.#client = options.client ?? null;
    this.#validate = options.validateParams ?? true;
    this.#backend =
      typeof options.backend === 'object'
        ? options.backend
        : new ProcessBackend({
            env: this.#env,
            workingDir: this.#workingDir,
            maxLogBytes: options.maxLogBytes ?? 10 * 1024 * 1024,
            stopGraceMs: options.stopGraceMs ?? 5000,
          });
  }

  /** Starts the action at `entrypoint` (§3.2) as a job; resolves to the job id once it runs. */
  async submit(entrypoint: string, params: unknown = {}, options: SubmitOptions = {}): Promise<string> {
    if (this.#validate) await this.#validateParams(entrypoint, params);
    const jobId = options.jobId ?? randomUUID().slice(0, 8);
    const onBackend = options.jobId !== undefined;
    await this.#backend.submit({ jobId, entrypoint, params, onBackend, onOutput: options.onOutput });
    if (this.#client) void this.#reportStatus(this.#client, jobId);
    return jobId;
  }

  getStatus(jobId: string): Promise<JobExecutionStatus> {
    return this.#backend.getStatus(jobId);
  }

  /** What the job printed, without the result block (the protocol's, not the job's output). */
  async getLogs(jobId: string): Promise<string> {
    return withoutResultBlock(await this.#backend.getLogs(jobId));
  }

  getResult(jobId: string): Promise<unknown> {
    return this.#backend.getResult(jobId);
  }

  stop(jobId: string): Promise<boolean> {
    return this.#backend.stop(jobId);
  }

  /** The job's result once it SUCCEEDED; throws when it failed, was stopped or takes too long. */
  async wait(jobId: string, { timeoutSeconds = 300 }: { timeoutSeconds?: number } = {}): Promise<unknown> {
    const finished = this.#backend.finished(jobId);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (!Number.isFinite(timeoutSeconds)) return;
      const error = new ExecutionError(`Job ${jobId} timed out after ${timeoutSeconds}s`);
      timer = setTimeout(() => reject(error), timeoutSeconds * 1000);
    });
    try {
      const status = await Promise.race([finished, timeout]);
      if (status !== 'SUCCEEDED') {
        const logs = (await this.getLogs(jobId)).trimEnd();
        throw new ExecutionError(
          `Job ${jobId} failed with status ${status}` +
            (logs ? `. Logs:\n${logs}` : ' and printed nothing (no logs to show).'),
        );
      }
      return await this.getResult(jobId);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Fails early, in the caller, on an unknown entrypoint or params the action would reject. */
  #validateParams(entrypoint: string, params: unknown): Promise<void> {
    return validateActionParams(entrypoint, params, {
      workingDir: this.#workingDir,
      env: this.#env,
      client: this.#client,
    });
  }

  /** Runs unawaited: every failure, the backend's included, ends as a warning. */
  async #reportStatus(client: BackendClient, jobId: string): Promise<void> {
    const warn = (err: unknown) =>
      process.stderr.write(
        `WARNING: JobExecutor failed to update the status of job ${jobId}: ${(err as Error)?.message ?? err}\n`,
      );
    // The backend's choices, in its casing (`RUNNING`, `SUCCEEDED`), as the Python SDK sends them.
    const update = (status: JobStatus) => client.updateJob(jobId, { status }).catch(warn);
    try {
      await update('RUNNING');
      const finished = await this.#backend.finished(jobId);
      if ((JOB_STATUSES as readonly string[]).includes(finished)) await update(finished as JobStatus);
      else warn(new Error(`the job ended with no status the backend knows (${finished})`));
    } catch (err) {
      warn(err);
    }
  }
}
