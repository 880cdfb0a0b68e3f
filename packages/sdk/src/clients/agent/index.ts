/** AgentClient: the agent service in front of a compute cluster (client.md §10, backend-api.md §14). */
import type {
  AgentContainer,
  AgentPolicy,
  AgentPolicyUpdate,
  ClusterResources,
  GpuStatus,
  SystemStatus,
} from 'synapse-core';
import { ENV, envValue, runConnection } from '../../environment.ts';
import { loadCredentials } from '../credentials.ts';
import { BaseClient, type ClientOptions } from '../http.ts';
import { type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import { type TailOptions, tailJobLogs } from './tail.ts';

export type { TailOptions, TailProtocol } from './tail.ts';
export type { AgentContainer, AgentPolicy, AgentPolicyUpdate, ClusterResources, GpuStatus, SystemStatus };

/** The capacity gate's question (inference.md §7.2). */
export interface FeasibilityPayload {
  kind: string;
  num_cpus?: number;
  num_gpus?: number;
  memory_bytes?: number | null;
  replicas?: number;
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface FeasibilityResult {
  allowed: boolean;
  reasons: string[];
  [key: string]: unknown;
}

/** A job as Ray's Jobs API shows it. */
export interface RayJob {
  submission_id: string;
  job_id: string | null;
  status: 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';
  entrypoint: string;
  message: string;
  start_time: number | null;
  end_time: number | null;
  metadata: Record<string, unknown>;
  runtime_env: Record<string, unknown>;
  [key: string]: unknown;
}

/** A serve application as Ray Serve shows it. */
export interface AgentServeApplication {
  name: string;
  status: string;
  route_prefix: string | null;
  message: string;
  last_deployed_time_s: number;
  docs_path: string | null;
  deployments: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface RunReleaseOptions {
  action?: string;
  params?: Record<string, unknown>;
  /** Sent verbatim instead of the body built from the other options. */
  data?: Record<string, unknown>;
  requirements?: string[];
  jobId?: string;
}

export interface RunDebugOptions {
  pluginPath?: string;
  config?: Record<string, unknown>;
  modules?: unknown;
  requirements?: string[];
  jobId?: string;
}

/** Path segments keep `@` readable (`my-plugin@1.0.0`); it is valid in a path. */
const segment = (value: number | string) => encodeURIComponent(String(value)).replace(/%40/g, '@');

export interface AgentClientOptions extends ClientOptions {
  /** Sent as `SYNAPSE-User: Token <t>`. */
  userToken?: string;
  /** Sent as `SYNAPSE-Tenant: Token <t>`. */
  tenant?: string;
}

export class AgentClient extends BaseClient {
  readonly #agentToken: string;
  readonly #userToken: string | undefined;
  readonly #tenant: string | undefined;

  constructor(baseUrl: string, agentToken: string, options: AgentClientOptions = {}) {
    super(baseUrl, 'Agent', { connect: 3, read: 10 }, options);
    this.#agentToken = agentToken;
    this.#userToken = options.userToken;
    this.#tenant = options.tenant;
  }

  /**
   * The agent of this environment: `SYNAPSE_AGENT_URL` + `SYNAPSE_AGENT_TOKEN`, else the `agent`
   * of the credentials file; null when neither gives both.
   */
  static fromEnv(env: Record<string, string | undefined> = process.env): AgentClient | null {
    // URL and token come from the same source: a token is never paired with another agent's URL.
    const saved = loadCredentials(env).agent;
    const envUrl = envValue(env, ENV.agentUrl);
    const [url, token] = envUrl ? [envUrl, envValue(env, ENV.agentToken)] : [saved?.url, saved?.token];
    if (!url || !token) return null;
    const { userToken, tenant } = runConnection(env);
    return new AgentClient(url, token, { userToken, tenant });
  }

  override getHeaders(): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.#agentToken) headers.Authorization = this.#agentToken;
    if (this.#userToken) headers['SYNAPSE-User'] = `Token ${this.#userToken}`;
    if (this.#tenant) headers['SYNAPSE-Tenant'] = `Token ${this.#tenant}`;
    return headers;
  }

  healthCheck(): Promise<{ status: string }> {
    return this.get('health/');
  }

  /** Releases cached on the agent. */
  listPluginReleases<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<Record<string, any>, O>> {
    return paginate(this, 'plugin_releases/', params, opts);
  }

  /** A cached release by id or `code@version`. */
  getPluginRelease(lookup: number | string): Promise<Record<string, any>> {
    return this.get(`plugin_releases/${segment(lookup)}`);
  }

  /** Makes the agent fetch and cache a release. */
  createPluginRelease(plugin: string, version: string): Promise<Record<string, any>> {
    return this.post('plugin_releases/', { data: { plugin, version } });
  }

  deletePluginRelease(lookup: number | string): Promise<null> {
    return this.delete(`plugin_releases/${segment(lookup)}`);
  }

  /** `{job_id}` for job actions, the action's result otherwise. */
  runPluginRelease(lookup: number | string, opts: RunReleaseOptions = {}): Promise<any> {
    const { action, params, requirements, jobId } = opts;
    const data = opts.data ?? { action, params, requirements, job_id: jobId };
    return this.post(`plugin_releases/${segment(lookup)}/run/`, { data });
  }

  /** Runs an action of a plugin that is not published (a local checkout on the agent). */
  runDebugPluginRelease(
    action: string,
    params: Record<string, unknown> = {},
    opts: RunDebugOptions = {},
  ): Promise<any> {
    const { pluginPath, config, modules, requirements, jobId } = opts;
    return this.post('plugin_releases/run_debug/', {
      data: { action, params, plugin_path: pluginPath, config, modules, requirements, job_id: jobId },
    });
  }

  // Ray's state on the paths the platform's Python SDK 2026.2 calls (no `ray/` prefix, its
  // trailing slashes); the local platform answers these and the `ray/` forms.
  listJobs(): Promise<RayJob[]> {
    return this.get('jobs/');
  }

  getJob(jobId: string): Promise<RayJob> {
    return this.get(`jobs/${segment(jobId)}/`);
  }

  /** The whole log so far: `{logs: "<text>"}`. */
  getJobLogs(jobId: string): Promise<{ logs: string }> {
    return this.get(`jobs/${segment(jobId)}/logs/`);
  }

  stopJob(jobId: string): Promise<{ stopped: boolean }> {
    return this.post(`jobs/${segment(jobId)}/stop/`);
  }

  listNodes(): Promise<Array<Record<string, any>>> {
    return this.get('nodes/');
  }

  getNode(nodeId: string): Promise<Record<string, any>> {
    return this.get(`nodes/${segment(nodeId)}/`);
  }

  listTasks(): Promise<Array<Record<string, any>>> {
    return this.get('tasks/');
  }

  getTask(taskId: string): Promise<Record<string, any>> {
    return this.get(`tasks/${segment(taskId)}/`);
  }

  listServeApplications(): Promise<AgentServeApplication[]> {
    return this.get('serve_applications/');
  }

  getServeApplication(name: string): Promise<AgentServeApplication> {
    return this.get(`serve_applications/${segment(name)}/`);
  }

  deleteServeApplication(name: string): Promise<null> {
    return this.delete(`serve_applications/${segment(name)}/`);
  }

  /**
   * A job's log lines as they come, over WebSocket or HTTP (`protocol`, default `auto`); breaking
   * out of the loop closes the connection. Arguments are checked at once: a bad job id, timeout or
   * protocol throws `ClientError(400, ...)` before anything is sent.
   */
  tailJobLogs(jobId: string, opts?: TailOptions): AsyncIterable<string> {
    return tailJobLogs(this, jobId, opts);
  }

  /** Whether the cluster can take a deployment of this size now. */
  checkFeasibility(payload: FeasibilityPayload): Promise<FeasibilityResult> {
    return this.post('resources/feasibility/', { data: payload });
  }

  /** The cluster's resources now (`GET resources/cluster/`); `useCache: false` asks the agent to collect them afresh. */
  getClusterResources(opts: { useCache?: boolean } = {}): Promise<ClusterResources> {
    return this.get('resources/cluster/', {
      params: { use_cache: String(opts.useCache ?? true) },
      schema: 'clusterResources',
    });
  }

  /** The agent's policy (`resources/policy/`): gatekeeping and runtime limits are one object there. */
  getGatekeepingPolicy(): Promise<AgentPolicy> {
    return this.get('resources/policy/', { schema: 'agentPolicy' });
  }

  /** Changes the given policy fields; answers the whole policy. */
  updateGatekeepingPolicy(patch: AgentPolicyUpdate): Promise<AgentPolicy> {
    return this.patch('resources/policy/', { data: patch, schema: 'agentPolicy' });
  }

  /** The same policy object, read for its runtime limits (`max_concurrent_jobs`, utilisation caps, ...). */
  getRuntimePolicy(): Promise<AgentPolicy> {
    return this.getGatekeepingPolicy();
  }

  updateRuntimePolicy(patch: AgentPolicyUpdate): Promise<AgentPolicy> {
    return this.updateGatekeepingPolicy(patch);
  }

  /** The GPUs of every node of the cluster (`GET gpu_status/`). */
  getGpuStatus(): Promise<GpuStatus> {
    return this.get('gpu_status/', { schema: 'gpuStatus' });
  }

  /** The agent service's own status (`GET system/status/`). */
  getSystemStatus(): Promise<SystemStatus> {
    return this.get('system/status/', { schema: 'systemStatus' });
  }

  /** Containers the agent runs for plugin releases (paginated). */
  listContainers<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<AgentContainer, O>> {
    return paginate(this, 'containers/', params, { schema: 'agentContainer', ...opts });
  }

  getContainer(containerId: number): Promise<AgentContainer> {
    return this.get(`containers/${segment(containerId)}`, { schema: 'agentContainer' });
  }

  /**
   * Starts a container of a published release, named `code@version` (sent with `plugin` and
   * `version` split out, as the Python SDK sends it).
   */
  createContainer(pluginRelease: string, opts: CreateContainerOptions = {}): Promise<AgentContainer> {
    const at = pluginRelease.lastIndexOf('@');
    const data: Record<string, unknown> = { plugin_release: pluginRelease };
    if (at > 0)
      Object.assign(data, { plugin: pluginRelease.slice(0, at), version: pluginRelease.slice(at + 1) });
    const { model, params, envs, metadata, labels, kind, backendContainerId } = opts;
    if (model !== undefined) data.model = model;
    if (params !== undefined) data.params = params;
    // Empty ones are left out, as the Python SDK leaves them out.
    if (envs && Object.keys(envs).length > 0) data.envs = envs;
    if (metadata && Object.keys(metadata).length > 0) data.metadata = metadata;
    const labelList = labels ? [...labels] : [];
    if (labelList.length > 0) data.labels = labelList;
    if (kind) data.kind = kind;
    if (backendContainerId !== undefined) data.backend_container_id = backendContainerId;
    return this.post('containers/', { data, schema: 'agentContainer' });
  }

  updateContainer(containerId: number, changes: { status?: string }): Promise<AgentContainer> {
    const data = changes.status === undefined ? {} : { status: changes.status };
    return this.patch(`containers/${segment(containerId)}`, { data, schema: 'agentContainer' });
  }

  deleteContainer(containerId: number): Promise<null> {
    return this.delete(`containers/${segment(containerId)}`);
  }
}

export interface CreateContainerOptions {
  model?: number;
  params?: Record<string, unknown>;
  envs?: Record<string, string>;
  metadata?: Record<string, unknown>;
  labels?: Iterable<string>;
  kind?: string;
  backendContainerId?: number;
}
