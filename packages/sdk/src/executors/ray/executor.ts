/**
 * `JobExecutor` with the `ray` backend (plugins.md §10.4, §10.7): the same submit / status /
 * logs / stop / result / wait surface, each job a Ray Job.
 */
import { resolve } from 'node:path';
import type { BackendClient } from '../../clients/backend/index.ts';
import { loadCredentials } from '../../clients/credentials.ts';
import { ENV, envValue, runConnection } from '../../environment.ts';
import { defaultDashboardUrl, RayClient } from '../../ray/client.ts';
import { JobExecutor } from '../job.ts';
import { RayJobBackend, type RayJobResources } from './job.ts';

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
  const run = runConnection(env);
  if (run.host || run.userToken || envValue(env, ENV.accessToken)) return {};
  const { host, accessToken } = loadCredentials({ ...process.env, ...env });
  return {
    ...(host ? { [ENV.host.name]: host } : {}),
    ...(accessToken ? { [ENV.accessToken.name]: accessToken } : {}),
  };
}

export class RayJobExecutor extends JobExecutor {
  constructor(options: RayJobExecutorOptions = {}) {
    const env = options.env ?? {};
    const workingDir = resolve(options.workingDir ?? process.cwd());
    super({
      env,
      workingDir,
      client: options.client,
      validateParams: options.validateParams,
      backend: new RayJobBackend({
        ...options,
        client: new RayClient(options.dashboardAddress ?? defaultDashboardUrl()),
        workingDir,
        env: { ...credentialsEnv(env), ...env },
      }),
    });
  }
}
