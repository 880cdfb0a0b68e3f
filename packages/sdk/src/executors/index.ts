/** Running plugin actions (plugins.md §10): `runPlugin` and the executor of each mode. */
import { existsSync } from 'node:fs';
import { request } from 'undici';
import { STOCK_EXPORT_ADAPTERS } from '../actions/entrypoint.ts';
import { createRunClient, loadCredentials } from '../clients/credentials.ts';
import { PluginDiscovery } from '../plugins/discovery.ts';
import type { ActionExport } from '../plugins/entrypoint.ts';
import { EXECUTION_MODES, type ExecutionMode } from '../plugins/enums.ts';
import { PluginError, RunStoppedError } from '../plugins/errors.ts';
import { JobExecutor, type JobExecutorOptions, type SubmitOptions } from './job.ts';
import { LocalExecutor, type LocalExecutorOptions } from './local.ts';
import { RayJobExecutor, type RayJobExecutorOptions } from './ray/executor.ts';
import { RayTaskExecutor } from './ray/task.ts';
import { TaskExecutor, type TaskExecutorOptions } from './task.ts';

// The job output markers are the run protocol's (synapse-core); exported here as they always were.
export { RESULT_END, RESULT_START } from 'synapse-core';
export { parseResult } from './entrypoint.ts';
export {
  type JobBackend,
  type JobExecutionStatus,
  JobExecutor,
  type JobExecutorOptions,
  type JobSubmission,
  type OutputStream,
  type SubmitOptions,
} from './job.ts';

import { ENV, envValue } from '../environment.ts';

export { RayClient, type RayJobInfo, type RayNodeResources } from '../ray/client.ts';
export { LocalExecutor, type LocalExecutorOptions } from './local.ts';
export { RayJobExecutor, type RayJobExecutorOptions } from './ray/executor.ts';
export { RayTaskExecutor, type RayTaskExecutorOptions } from './ray/task.ts';
export { TaskExecutor, type TaskExecutorOptions } from './task.ts';

export type RunPluginOptions = LocalExecutorOptions &
  JobExecutorOptions & {
    mode?: ExecutionMode;
    /** Job mode: wait for the job and resolve to its result instead of its id. */
    wait?: boolean;
    /** Job mode: each line the job prints. */
    onOutput?: SubmitOptions['onOutput'];
    /** Local mode: run this action instead of the one the plugin's config names. */
    actionClass?: ActionExport;
    /**
     * Task and job modes: the Ray dashboard to run on (plugins.md §12 `--ray-address`): an
     * http(s) URL, or `auto` (see `resolveRayAddress`). Unset: `RAY_DASHBOARD_URL` when set,
     * else local processes.
     */
    rayAddress?: string;
    /** Told about unknown keys of the plugin's config that look like typos (none by default). */
    warn?: (message: string) => void;
    /** Task mode on this machine: where the worker's output goes (see `TaskExecutorOptions`). */
    workerOutput?: TaskExecutorOptions['workerOutput'];
  } & Pick<RayJobExecutorOptions, 'numCpus' | 'numGpus' | 'memory'>;

const DASHBOARD_URL = /^https?:\/\/[^/]/i;
/** The dashboard port of a Ray head (`ray start --head`). */
const RAY_DASHBOARD_PORT = 8265;

/** Throws `Invalid --ray-address` unless `value` is an http(s) URL or `auto`. */
export function checkRayAddress(value: string): void {
  if (value !== 'auto' && !DASHBOARD_URL.test(value))
    throw new PluginError(`Invalid --ray-address: ${value}. Use an http(s) dashboard URL or auto.`);
}

/** Whether a Ray dashboard answers at `url` (one quick request; any failure is a no). */
async function dashboardAnswers(url: string): Promise<boolean> {
  try {
    const res = await request(`${url}/api/version`, { headersTimeout: 1000, bodyTimeout: 1000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/**
 * The Ray dashboard a task or job runs on (plugins.md §12), or undefined for local processes.
 * An http(s) URL is used as given. `auto`: the selected agent's host (`http://<host>:8265`, where
 * a platform agent runs next to its Ray head) when a dashboard answers there, else
 * `RAY_DASHBOARD_URL`; a local agent (`synapse dev`) has no Ray, so its jobs stay local processes.
 * Unset: `RAY_DASHBOARD_URL`.
 */
export async function resolveRayAddress(
  value: string | undefined,
  env: Record<string, string | undefined> = process.env,
): Promise<string | undefined> {
  if (value === undefined) return envValue(env, ENV.rayDashboardUrl);
  checkRayAddress(value);
  if (value !== 'auto') return value;
  const agentUrl = loadCredentials(env).agent?.url;
  const host = agentUrl && URL.canParse(agentUrl) ? new URL(agentUrl).hostname : '';
  const candidate = host ? `http://${host}:${RAY_DASHBOARD_PORT}` : '';
  if (candidate && (await dashboardAnswers(candidate))) return candidate;
  return envValue(env, ENV.rayDashboardUrl);
}

async function runLocal(action: unknown, params: unknown, options: LocalExecutorOptions): Promise<unknown> {
  const executor = new LocalExecutor(options);
  try {
    return await executor.execute(action, params);
  } finally {
    await executor.close();
  }
}

/** A plugin directory or config file; anything else is imported as a module of actions. */
async function discover(plugin: string, warn?: (message: string) => void): Promise<PluginDiscovery> {
  if (existsSync(plugin)) return PluginDiscovery.fromPath(plugin, { adapters: STOCK_EXPORT_ADAPTERS, warn });
  return PluginDiscovery.fromModule(await import(plugin));
}

/**
 * Runs `action` of `plugin` (a directory, config path or module specifier). Local and task
 * modes resolve to the action's result, job mode to the id of the job it started (or, with
 * `wait`, to its result).
 */
export async function runPlugin(
  plugin: string,
  action: string,
  params: Record<string, unknown> = {},
  options: RunPluginOptions = {},
): Promise<unknown> {
  const {
    mode = 'local',
    actionClass,
    wait,
    onOutput,
    rayAddress,
    numCpus,
    numGpus,
    memory,
    warn,
    workerOutput,
    ...executorOptions
  } = options;
  if (!EXECUTION_MODES.includes(mode))
    throw new PluginError(`Invalid mode: ${mode}. Use local, task, or job.`);
  if (mode === 'local' && actionClass) return runLocal(actionClass, params, executorOptions);

  const discovery = await discover(plugin, warn);
  const env = { ...discovery.config.env, ...options.env };
  if (mode === 'local')
    return runLocal(await discovery.getActionClass(action), params, { ...executorOptions, env });
  // Task and job modes run the action in another process, which finds it through the plugin's files.
  if (!discovery.configPath)
    throw new PluginError(`Mode '${mode}' needs a plugin directory, not a module: ${plugin}`);
  const entrypoint = discovery.getActionEntrypoint(action);
  const workingDir = discovery.pluginDir;
  const jobId = options.jobId ?? undefined;
  const dashboardAddress = await resolveRayAddress(rayAddress);
  if (mode === 'task') {
    const executor = dashboardAddress
      ? new RayTaskExecutor({ env, workingDir, dashboardAddress, numCpus, numGpus, memory })
      : new TaskExecutor({ env, workingDir, workerOutput });
    try {
      return await executor.execute(entrypoint, params, { jobId });
    } finally {
      await executor.close();
    }
  }
  // A job the backend knows (id given) gets its status kept there; a local one reports nowhere.
  const client = executorOptions.client ?? (jobId ? createRunClient({ ...process.env, ...env }) : null);
  const executor = dashboardAddress
    ? new RayJobExecutor({
        client,
        env,
        workingDir,
        dashboardAddress,
        numCpus,
        numGpus,
        memory,
        validateParams: executorOptions.validateParams,
        runtimeEnv: discovery.config.runtime_env,
        metadata: { plugin_code: discovery.config.code, action },
      })
    : new JobExecutor({ ...executorOptions, client, env, workingDir });
  const id = await executor.submit(entrypoint, params, { jobId, onOutput });
  return wait ? waitForJob(executor, id, options.signal) : id;
}

/** The job's result; aborting `signal` stops the job (once) and ends with a `RunStoppedError`. */
async function waitForJob(
  executor: Pick<JobExecutor, 'wait' | 'stop'>,
  id: string,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const stop = () => void executor.stop(id).catch(() => {});
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    return await executor.wait(id, { timeoutSeconds: Number.POSITIVE_INFINITY });
  } catch (err) {
    if (signal?.aborted) throw new RunStoppedError(`Job ${id} was stopped`, { job_id: id }, { cause: err });
    throw err;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}
