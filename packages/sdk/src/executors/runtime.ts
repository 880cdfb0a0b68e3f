/**
 * The runtime context of a run, built the same way by every executor (plugins.md §5, §10.2):
 * clients from the environment, a JobLogger when the run belongs to a job the backend knows.
 */
import { AgentClient } from '../clients/agent/index.ts';
import type { BackendClient } from '../clients/backend/index.ts';
import { createRunClient } from '../clients/credentials.ts';
import { RuntimeContext } from '../plugins/context.ts';
import { PluginEnvironment } from '../plugins/environment.ts';
import type { BaseLogger } from '../plugins/logging/base.ts';
import { ConsoleLogger } from '../plugins/logging/console.ts';
import { JobLogger } from '../plugins/logging/job.ts';
import type { ServeBackend } from '../serve/backend.ts';

export type EnvVars = Record<string, string | undefined>;

export interface RuntimeOverrides {
  client?: BackendClient | null;
  agentClient?: AgentClient | null;
  logger?: BaseLogger;
  /** The run's stop signal (`ctx.signal`). */
  signal?: AbortSignal;
  /** The plugin's directory, for a run hosted in a process whose working directory is elsewhere. */
  workingDir?: string;
  /** The serve backend a deployment action runs its app on (the local platform's gateway). */
  serveBackend?: ServeBackend | null;
}

/** The action's `ctx.env`: the variables that are set. */
export function pluginEnvironment(vars: EnvVars): PluginEnvironment {
  return new PluginEnvironment(Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined)));
}

/** `vars` is the run's whole environment: process env, then config `env`, then executor `env`. */
export function runtimeContext(vars: EnvVars, jobId: string | null, overrides: RuntimeOverrides = {}) {
  const client = overrides.client !== undefined ? overrides.client : createRunClient(vars);
  const agentClient = overrides.agentClient !== undefined ? overrides.agentClient : AgentClient.fromEnv(vars);
  const logger = overrides.logger ?? (jobId && client ? new JobLogger(client, jobId) : new ConsoleLogger());
  const { signal, workingDir, serveBackend } = overrides;
  return new RuntimeContext({
    logger,
    env: pluginEnvironment(vars),
    jobId,
    client,
    agentClient,
    signal,
    workingDir,
    serveBackend,
  });
}
