/**
 * Every environment variable the SDK reads or writes, defined once: its name (never renamed),
 * what it means and its default. The variables of the run protocol (the run and job environments,
 * the serve gateway's address) are the contract's (synapse-core run-protocol.ts), since a platform
 * writes them and a run reads them; the SDK's own settings (the user's session, CLI switches, the
 * Ray dashboard it submits to, other programs' conventions) are defined here, as no platform
 * writes them for a run. Code elsewhere reads a variable through `envValue` or one of the readers
 * below and writes the run and job environments with `runEnvironment` / `jobEnvironment`, so a
 * variable's spelling, default and "empty means unset" rule live in these two modules only. This
 * module imports nothing of the SDK: every layer may use it.
 */
// The protocol entry, not the package root: the clients load this module, and must not load zod.
import { type EnvVar, envVar, JOB_ENV, RUN_ENV, SERVE_ENV } from 'synapse-core/protocol';

export type { EnvVar } from 'synapse-core/protocol';

export const ENV = {
  // The user's own session (client.md §2.2): set in the shell, else the saved login.
  host: envVar(
    'SYNAPSE_HOST',
    'Backend URL of the user session; else the saved login, else the public backend',
  ),
  accessToken: envVar('SYNAPSE_ACCESS_TOKEN', "The user's access token; else the saved login"),
  configDir: envVar(
    'SYNAPSE_CONFIG_DIR',
    'Directory of the CLI config file (config.json); default ~/.synapse',
  ),
  debug: envVar('SYNAPSE_DEBUG', 'CLI: "1" prints the stack of a failure'),
  serveScratchDir: envVar(
    'SYNAPSE_SERVE_SCRATCH_DIR',
    'Where a serve replica keeps the models it downloads (default: the temp dir); the local serve backend sets it per replica process and removes it when that process exits',
  ),
  checkResponses: envVar(
    'SYNAPSE_CHECK_RESPONSES',
    '"1": every client checks each response against the contract (the test suite sets it)',
  ),
  allowedHosts: envVar(
    'SYNAPSE_ALLOWED_HOSTS',
    'Comma-separated hosts (host, host:port, *.domain) that downloads may reach though private',
  ),

  // The run environment (plugins.md §13; synapse-core RUN_ENV): written by the agent that
  // starts a plugin run. SYNAPSE_AGENT_URL / _TOKEN also point a user's CLI at an agent.
  ...RUN_ENV,

  // The job environment (plugins.md §10.5; synapse-core JOB_ENV): written by the executor that
  // starts a job, read by its entrypoint.
  ...JOB_ENV,
  // Between the SDK's Ray task executor and the task worker it starts, both the SDK's own.
  taskWorkerToken: envVar('SYNAPSE_TASK_WORKER_TOKEN', "Secret a Ray task worker's caller presents"),

  // Ray and serve: the gateway's address is the contract's (synapse-core SERVE_ENV), the Ray
  // dashboard a setting of the SDK's executors.
  rayDashboardUrl: envVar('RAY_DASHBOARD_URL', 'The Ray dashboard (Jobs REST API) task and job runs go to'),
  ...SERVE_ENV,

  // Other programs' conventions the SDK honours.
  databaseUrl: envVar('DATABASE_URL', '`synapse dev`: a PostgreSQL database instead of the embedded one'),
  noColor: envVar('NO_COLOR', 'Any value turns off colored console output'),
} as const;

/** Where variables are read from: a plain record (`process.env`) or a `PluginEnvironment`. */
export type EnvSource = Readonly<Record<string, string | undefined>> | { get(key: string): unknown };

/** The raw value of `name` in `source`, or undefined. */
function rawValue(source: EnvSource, name: string): unknown {
  const get = (source as { get?: unknown }).get;
  // A record's `get` entry would be a string: only an environment object has the method.
  if (typeof get === 'function') return (source as { get(key: string): unknown }).get(name);
  return (source as Record<string, unknown>)[name];
}

/** The variable's value as text; unset and empty read as its default (or undefined). */
export function envValue(source: EnvSource, variable: EnvVar): string | undefined {
  const value = rawValue(source, variable.name);
  if (value !== undefined && value !== null) {
    const text = String(value);
    if (text !== '') return text;
  }
  return variable.default;
}

/** Who a plugin run acts as, from its run environment; each part undefined when not set. */
export interface RunConnection {
  host?: string;
  userToken?: string;
  tenant?: string;
}

export function runConnection(source: EnvSource): RunConnection {
  return {
    host: envValue(source, ENV.runHost),
    userToken: envValue(source, ENV.runUserToken),
    tenant: envValue(source, ENV.runTenant),
  };
}

/** The backend a run's code reaches: the run's host, else the user session's. */
export function backendUrlOf(source: EnvSource): string | undefined {
  return envValue(source, ENV.runHost) ?? envValue(source, ENV.host);
}

/** The serve gateway's base URL (`RAY_SERVE_ADDRESS`, else the local default), without a trailing slash. */
export function serveAddress(source: EnvSource): string {
  return envValue(source, ENV.serveAddress)!.replace(/\/+$/, '');
}

/** What the agent gives a plugin run (plugins.md §13). */
export interface RunEnvironmentValues {
  host: string;
  userToken: string;
  tenant?: string;
  releaseCode: string;
  releaseChecksum: string;
  agentId: string;
  agentUrl: string;
  agentToken: string;
}

/** The run environment as variables: what a platform's agent sets for the runs it starts. */
export function runEnvironment(values: RunEnvironmentValues): Record<string, string> {
  const vars: Record<string, string> = {
    [ENV.runHost.name]: values.host,
    [ENV.runUserToken.name]: values.userToken,
    [ENV.releaseCode.name]: values.releaseCode,
    [ENV.releaseChecksum.name]: values.releaseChecksum,
    [ENV.agentId.name]: values.agentId,
    [ENV.agentUrl.name]: values.agentUrl,
    [ENV.agentToken.name]: values.agentToken,
  };
  if (values.tenant !== undefined) vars[ENV.runTenant.name] = values.tenant;
  return vars;
}

/** What an executor gives the job it starts; `params` is the JSON text, or a file holding it. */
export interface JobEnvironmentValues {
  entrypoint: string;
  /** The backend job to report to; undefined for a local run (no such variable then). */
  jobId?: string;
  params: { json: string } | { file: string };
}

/**
 * The job environment as variables. Every job variable is present, those not set as undefined,
 * so that merged over an inherited environment it also removes that environment's stale ones.
 */
export function jobEnvironment(values: JobEnvironmentValues): Record<string, string | undefined> {
  return {
    [ENV.actionEntrypoint.name]: values.entrypoint,
    [ENV.actionParams.name]: 'json' in values.params ? values.params.json : undefined,
    [ENV.actionParamsFile.name]: 'file' in values.params ? values.params.file : undefined,
    [ENV.jobId.name]: values.jobId,
  };
}

/** The job environment as the job's entrypoint reads it; `params` null when neither variable is set. */
export function readJobEnvironment(source: EnvSource): {
  entrypoint?: string;
  jobId: string | null;
  params: { json: string } | { file: string } | null;
} {
  const json = envValue(source, ENV.actionParams);
  const file = envValue(source, ENV.actionParamsFile);
  return {
    entrypoint: envValue(source, ENV.actionEntrypoint),
    // Inside a Ray job started by someone else, Ray's own id stands in for the backend's.
    jobId: envValue(source, ENV.jobId) ?? envValue(source, ENV.rayJobId) ?? null,
    params: json !== undefined ? { json } : file !== undefined ? { file } : null,
  };
}

/** Only the variables that have a value (for an environment that inherits nothing to clear). */
export function definedVariables(vars: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter((e): e is [string, string] => e[1] !== undefined));
}
