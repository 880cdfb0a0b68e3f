/**
 * `JobExecutor` with the `ray` backend (plugins.md §10.4, §10.7): the same submit / status /
 * logs / stop / result / wait surface, each job a Ray Job.
 *
 * It mirrors `JobExecutor` because that class builds its process backend itself; once it takes
 * a `JobBackend`, this class reduces to `new JobExecutor({ backend: new RayJobBackend(...) })`.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { BackendClient } from '../clients/backend/index.ts';
import { createRunClient, loadCredentials } from '../clients/credentials.ts';
import type { ParamsSchema } from '../plugins/action.ts';
import { loadEntrypoint } from '../plugins/entrypoint.ts';
import { ExecutionError } from '../plugins/errors.ts';
import { validateParams } from '../plugins/params.ts';
import type { JobExecutionStatus, SubmitOptions } from './job.ts';
import { defaultDashboardUrl, RayClient } from './ray-client.ts';
import { RayJobBackend, type RayJobResources } from './ray-job.ts';
import { pluginEnvironment } from './runtime.ts';

export interface RayJobExecutorOptions extends RayJobResources {
  /** The Ray dashboard (Jobs REST API); default `RAY_DASHBOARD_URL`, else `http://localhost:8265`. */
  dashboardAddress?: string;
  /** The job's variables (config `env` first, then these). */
  env?: Record<string, string>;
  /** The plugin directory: entrypoints resolve against it; it is the job's working directory. */
  workingDir?: string;
  /** The plugin config's `runtime_env`. */
  runtimeEnv?: Record<string, unknown>;
  /** Shell command of the job; default: Node running the SDK's `synapse-entrypoint`. */
  entrypointCommand?: string;
  /** `metadata` of the Ray job (`plugin_code`, `action`). */
  metadata?: Record<string, string>;
  /** Keeps the job record's status, as `JobExecutor` does; none by default. */
  client?: BackendClient | null;
  /** Validate params against the action's schema before submitting; default true. */
  validateParams?: boolean;
}

/** The user's credentials travel with the job when the run's environment has none (§10.7). */
function credentialsEnv(env: Record<string, string>): Record<string, string> {
  if (env.SYNAPSE_PLUGIN_RUN_HOST || env.SYNAPSE_PLUGIN_RUN_USER_TOKEN || env.SYNAPSE_ACCESS_TOKEN) return {};
  const { host, accessToken } = loadCredentials({ ...process.env, ...env });
  return {
    ...(host ? { SYNAPSE_HOST: host } : {}),
    ...(accessToken ? { SYNAPSE_ACCESS_TOKEN: accessToken } : {}),
  };
}

export class RayJobExecutor {
  readonly #backend: RayJobBackend;
  readonly #env: Record<string, string>;
  readonly #workingDir: string;
  readonly #client: BackendClient | null;
  readonly #validate: boolean;

  constructor(options: RayJobExecutorOptions = {}) {
    this.#env = options.env ?? {};
    this.#workingDir = resolve(options.workingDir ?? process.cwd());
    this.#client = options.client ?? null;
    this.#validate = options.validateParams ?? true;
    this.#backend = new RayJobBackend({
      ...options,
      client: new RayClient(options.dashboardAddress ?? defaultDashboardUrl()),
      workingDir: this.#workingDir,
      env: { ...credentialsEnv(this.#env), ...this.#env },
    });
  }

  /** Starts the action at `entrypoint` as a Ray job; resolves to the job id once Ray has it. */
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

  getLogs(jobId: string): Promise<string> {
    return this.#backend.getLogs(jobId);
  }

  getResult(jobId: string): Promise<unknown> {
    return this.#backend.getResult(jobId);
  }

  stop(jobId: string): Promise<boolean> {
    return this.#backend.stop(jobId);
  }

  /** The job's result once it SUCCEEDED; throws when it failed, was stopped or takes too long. */
  async wait(jobId: string, { timeoutSeconds = 300 }: { timeoutSeconds?: number } = {}): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (!Number.isFinite(timeoutSeconds)) return;
      const error = new ExecutionError(`Job ${jobId} timed out after ${timeoutSeconds}s`);
      timer = setTimeout(() => reject(error), timeoutSeconds * 1000);
    });
    try {
      const status = await Promise.race([this.#backend.finished(jobId), timeout]);
      if (status !== 'SUCCEEDED') {
        const logs = await this.getLogs(jobId);
        throw new ExecutionError(`Job ${jobId} failed with status ${status}. Logs:\n${logs}`);
      }
      return await this.getResult(jobId);
    } finally {
      clearTimeout(timer);
    }
  }

  async #validateParams(entrypoint: string, params: unknown): Promise<void> {
    const action = await loadEntrypoint(entrypoint, this.#workingDir);
    const schema: ParamsSchema | undefined =
      (action as { actionMeta?: { params?: ParamsSchema } }).actionMeta?.params ??
      (action as { paramsSchema?: ParamsSchema }).paramsSchema;
    if (!schema) return;
    if (typeof schema !== 'function') {
      await validateParams(schema, params);
      return;
    }
    const vars = { ...process.env, ...this.#env };
    const client = this.#client ?? createRunClient(vars);
    try {
      await validateParams(schema({ client, env: pluginEnvironment(vars), action: action as never }), params);
    } finally {
      if (client !== this.#client) await client?.close();
    }
  }

  async #reportStatus(client: BackendClient, jobId: string): Promise<void> {
    const update = (status: string) =>
      client.updateJob(jobId, { status }).catch((err: Error) => {
        process.stderr.write(`WARNING: failed to update the status of job ${jobId}: ${err.message}\n`);
      });
    await update('running');
    await update((await this.#backend.finished(jobId)).toLowerCase());
  }
}
