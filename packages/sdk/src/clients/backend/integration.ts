/**
 * Agents, plugins and releases, plugin runs, jobs and their logs, serve applications and
 * storages (IntegrationClientMixin; client.md §8.5, backend-api.md §10–§13).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { FileNotFoundError } from '../errors.ts';
import type { FileInput } from '../http.ts';
import { type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

export interface Agent {
  id: number;
  name: string;
  url: string;
  status: string;
  token: string;
  node_install_script?: string;
  /** Computed by the SDK: `status` is `connected` (any case). */
  is_connected: boolean;
  [key: string]: unknown;
}

export interface Plugin {
  id: number;
  code: string;
  name: string;
  category: string;
  description: string;
  is_active: boolean;
  is_public: boolean;
  system_only: boolean;
  detail: Record<string, unknown>;
  created: string;
  [key: string]: unknown;
}

export interface PluginCreate {
  name: string;
  code: string;
  /** `neural_net, export, upload, smart_tool, pre_annotation, post_annotation, data_validation, converter`. */
  category: string;
  description?: string;
  is_public?: boolean;
  is_active?: boolean;
  system_only?: boolean;
  detail?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface PluginRunRequest {
  agent?: number;
  action?: string;
  /** Release version; the server defaults to the newest release. */
  version?: string;
  params?: Record<string, unknown>;
  storage_id?: number | null;
  job_id?: string | null;
  debug?: boolean;
  [key: string]: unknown;
}

export interface PluginRelease {
  id: number;
  plugin: number;
  plugin_code: string;
  version: string;
  /** `<plugin code>@<version>`. */
  code: string;
  /** MD5 hex of `code`; names the archive and the serve route prefix. */
  checksum: string;
  config: Record<string, any>;
  requirements: string[];
  debug: boolean;
  file: string | null;
  archive_checksum?: string;
  created: string;
  [key: string]: unknown;
}

export interface PluginReleaseCreate {
  /** The plugin's code. */
  plugin: string;
  version: string;
  config?: Record<string, unknown>;
  requirements?: string[];
  /** Let the server overwrite an existing release of this version. */
  debug?: boolean;
}

export type JobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

export interface Job {
  id: string;
  status: JobStatus;
  action: string;
  plugin_release: number | null;
  agent: number | null;
  params: Record<string, unknown>;
  progress_record: Record<string, unknown> | null;
  metrics_record: Record<string, unknown> | null;
  result: unknown;
  console_logs: string[] | Record<string, unknown> | null;
  is_active: boolean;
  created: string;
  modified: string;
  completed: string | null;
  [key: string]: unknown;
}

export interface JobUpdate {
  /** Either case: the server stores it upper case. */
  status?: string;
  progress_record?: Record<string, unknown> | null;
  metrics_record?: Record<string, unknown> | null;
  console_logs?: string[] | Record<string, unknown> | null;
  result?: unknown;
}

export interface LogItem {
  event: string;
  data: Record<string, unknown>;
  /** `YYYY-MM-DD HH:MM:SS.ffffff`. */
  datetime?: string;
  job?: string | null;
  /** A `data:` URI, or a local file path that is sent as one. */
  file?: string | null;
  [key: string]: unknown;
}

export interface Log {
  id: number;
  job: string | null;
  event: string;
  data: Record<string, unknown>;
  datetime: string;
  file: string | null;
  created: string;
  [key: string]: unknown;
}

export type ServeApplicationStatus =
  | 'NOT_STARTED'
  | 'DEPLOYING'
  | 'RUNNING'
  | 'DEPLOY_FAILED'
  | 'UNHEALTHY'
  | 'DELETING';

export interface ServeApplication {
  id: number;
  name: string;
  status: ServeApplicationStatus;
  plugin_release: number | null;
  plugin_code: string;
  agent: number | null;
  job: string | null;
  route_prefix: string | null;
  num_replicas: number;
  data: Record<string, unknown>;
  created: string;
  modified: string;
  [key: string]: unknown;
}

/** Either a deployment's report (`{job, status, data}`) or a declaration of a release's app. */
export type ServeApplicationCreate =
  | { job: string; status?: ServeApplicationStatus; data: Record<string, unknown>; [key: string]: unknown }
  | {
      name: string;
      plugin_release: number;
      action?: string;
      params?: Record<string, unknown>;
      num_replicas?: number;
      [key: string]: unknown;
    };

export interface Storage {
  id: number;
  name: string;
  category: string;
  provider: string;
  configuration?: Record<string, unknown>;
  is_default: boolean;
  [key: string]: unknown;
}

export interface IntegrationClientMixin {
  /** The first page of agents, each with `token` (taken from the install script URL if absent) and `is_connected`. */
  listAgents(params?: QueryParams): Promise<Agent[]>;
  healthCheckAgent(agentToken: string): Promise<unknown>;
  listPlugins(params?: QueryParams): Promise<[Plugin[], number]>;
  getPlugin(pluginIdOrCode: number | string): Promise<Plugin>;
  createPlugin(data: PluginCreate): Promise<Plugin>;
  updatePlugin(pluginIdOrCode: number | string, data: Partial<PluginCreate>): Promise<Plugin>;
  /** `{job_id, status}` for job actions, the action's result otherwise. */
  runPlugin(
    pluginIdOrCode: number | string,
    data: PluginRunRequest,
    opts?: { timeout?: number; signal?: AbortSignal },
  ): Promise<any>;
  listPluginReleases(params?: QueryParams): Promise<[PluginRelease[], number]>;
  getPluginRelease(releaseId: number, opts?: { params?: QueryParams }): Promise<PluginRelease>;
  /** Publishes a release: multipart, with `config` and `requirements` as JSON and the zip as `file`. */
  createPluginRelease(data: PluginReleaseCreate, opts: { file: FileInput }): Promise<PluginRelease>;
  getJob(jobId: string, opts?: { params?: QueryParams }): Promise<Job>;
  listJobs(params?: QueryParams): Promise<[Job[], number]>;
  updateJob(jobId: string, data: JobUpdate): Promise<Job>;
  listJobConsoleLogs(jobId: string): Promise<unknown>;
  /** Console log lines (each ending in `\n`) as the job writes them, until it finishes. */
  tailJobConsoleLogs(jobId: string, opts?: { signal?: AbortSignal }): AsyncIterable<string>;
  /** Sends one item or many, always as a list; a local `file` path becomes a `data:` URI. */
  createLogs(items: LogItem | LogItem[]): Promise<Log[]>;
  createServeApplication(data: ServeApplicationCreate): Promise<ServeApplication>;
  listServeApplications<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<ServeApplication, O>>;
  /** The storage with its `configuration`. */
  getStorage(storageId: number): Promise<Storage>;
}

const AGENT_TOKEN = /agents\/([a-f0-9]{40})\/node_install_script/;

/** Types of log attachments, by extension. */
const MIME_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.csv': 'text/csv',
  '.html': 'text/html',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.mp4': 'video/mp4',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
};

export async function fileToDataUri(path: string): Promise<string> {
  const mime = MIME_TYPES[extname(path).toLowerCase()];
  if (!mime) throw new Error(`Cannot determine MIME type for file: ${path}`);
  const bytes = await readFile(path).catch((err) => {
    if (err?.code === 'ENOENT') throw new FileNotFoundError(`File not found: ${path}`);
    throw err;
  });
  return `data:${mime};base64,${bytes.toString('base64')}`;
}

/** Adds what older servers leave out (`token`) and what the SDK computes (`is_connected`). */
function withAgentFields(agent: Record<string, any>): Agent {
  const token = agent.token || AGENT_TOKEN.exec(agent.node_install_script ?? '')?.[1];
  return {
    ...agent,
    token,
    is_connected: String(agent.status ?? '').toLowerCase() === 'connected',
  } as Agent;
}

const segment = (value: number | string) => encodeURIComponent(String(value));

export const integrationMethods: IntegrationClientMixin & ThisType<BackendClient> = {
  async listAgents(params) {
    const [agents] = await paginate(this, 'agents/', params);
    return (agents as Array<Record<string, any>>).map(withAgentFields);
  },

  healthCheckAgent(agentToken) {
    return this.post(`agents/${segment(agentToken)}/connect/`);
  },

  listPlugins(params) {
    return paginate(this, 'plugins/', params);
  },

  getPlugin(pluginIdOrCode) {
    return this.get<Plugin>(`plugins/${segment(pluginIdOrCode)}/`);
  },

  createPlugin(data) {
    return this.post<Plugin>('plugins/', { data });
  },

  updatePlugin(pluginIdOrCode, data) {
    return this.put<Plugin>(`plugins/${segment(pluginIdOrCode)}/`, { data });
  },

  runPlugin(pluginIdOrCode, data, opts = {}) {
    return this.post(`plugins/${segment(pluginIdOrCode)}/run/`, { data, ...opts });
  },

  listPluginReleases(params) {
    return paginate(this, 'plugin_releases/', params);
  },

  getPluginRelease(releaseId, opts = {}) {
    return this.get<PluginRelease>(`plugin_releases/${releaseId}/`, { params: opts.params });
  },

  async createPluginRelease(data, opts) {
    if (!opts?.file) throw new Error('Plugin release file is required');
    return this.post<PluginRelease>('plugin_releases/', {
      data: { ...data, debug: data.debug ?? false },
      files: { file: opts.file },
    });
  },

  getJob(jobId, opts = {}) {
    return this.get<Job>(`jobs/${segment(jobId)}/`, { params: opts.params });
  },

  listJobs(params) {
    return paginate(this, 'jobs/', params);
  },

  updateJob(jobId, data) {
    return this.patch<Job>(`jobs/${segment(jobId)}/`, { data });
  },

  listJobConsoleLogs(jobId) {
    return this.get(`jobs/${segment(jobId)}/console_logs/`);
  },

  async *tailJobConsoleLogs(jobId, opts = {}) {
    const lines = this.streamLines(`async/jobs/${segment(jobId)}/tail_console_logs/`, {
      signal: opts.signal,
    });
    for await (const line of lines) if (line) yield `${line}\n`;
  },

  async createLogs(items) {
    const list = Array.isArray(items) ? items : [items];
    const body = await Promise.all(
      list.map(async (item) =>
        item.file && !item.file.startsWith('data:')
          ? { ...item, file: await fileToDataUri(item.file) }
          : item,
      ),
    );
    return this.post<Log[]>('logs/', { data: body });
  },

  createServeApplication(data) {
    return this.post<ServeApplication>('serve_applications/', { data });
  },

  listServeApplications(params, opts) {
    return paginate(this, 'serve_applications/', params, opts);
  },

  getStorage(storageId) {
    return this.get<Storage>(`storages/${storageId}/`, { params: { with_configuration: true } });
  },
};
