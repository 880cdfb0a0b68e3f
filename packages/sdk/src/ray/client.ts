/**
 * The Ray dashboard's REST API (plugins.md §10.7): Jobs, runtime-env packages, cluster
 * resources and Serve applications. There is no Ray client for Node; these routes are the
 * contract Ray keeps for its own `ray job` CLI and `serve deploy`.
 *
 * Error messages name the call, never the dashboard's address. The executors (Ray jobs, task
 * workers) and Ray Serve both talk to the dashboard, so the client sits below both layers.
 */
import { request } from 'undici';
import { ENV, envValue } from '../environment.ts';
import { ExecutionError } from '../plugins/errors.ts';

/** Ray's job states (`ray.job_submission.JobStatus`). */
export type RayJobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

export interface RayJobRequest {
  entrypoint: string;
  submission_id: string;
  runtime_env?: Record<string, unknown>;
  metadata?: Record<string, string>;
  entrypoint_num_cpus?: number;
  entrypoint_num_gpus?: number;
  entrypoint_memory?: number;
  entrypoint_resources?: Record<string, number>;
}

export interface RayJobInfo {
  submission_id: string;
  status: RayJobStatus;
  message: string | null;
  entrypoint: string;
  start_time: number | null;
  end_time: number | null;
  metadata: Record<string, string> | null;
}

/** A node's `CPU`, `GPU` and `memory` (bytes): what it has and what is in use. */
export interface RayNodeResources {
  /** Ray's node id, when the cluster status names it. */
  nodeId?: string;
  total: Record<string, number>;
  used: Record<string, number>;
}

/** What went wrong with a connection, without where: `ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`, ... */
export function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; errors?: unknown[] } | null;
  if (typeof e?.code === 'string' && e.code) return e.code;
  // Node's connection attempts to several addresses fail as one AggregateError.
  const first = Array.isArray(e?.errors) ? (e.errors[0] as { code?: unknown } | undefined) : undefined;
  if (typeof first?.code === 'string' && first.code) return first.code;
  return typeof e?.name === 'string' && e.name ? e.name : 'Error';
}

/** How long one dashboard call may take: Ray answers within seconds or not at all. */
const REQUEST_TIMEOUT_MS = 30_000;

/** `RAY_DASHBOARD_URL`, else the local default (plugins.md §10.7). */
export function defaultDashboardUrl(env: Record<string, string | undefined> = process.env): string {
  return envValue(env, ENV.rayDashboardUrl) ?? 'http://localhost:8265';
}

export class RayClient {
  readonly #base: string;

  constructor(dashboardUrl: string = defaultDashboardUrl()) {
    this.#base = dashboardUrl.replace(/\/+$/, '');
  }

  /**
   * The body of `method path` as text; null for a 404 when `allow404`. Not `fetch`: it sends
   * `Sec-Fetch-Mode`, and Ray refuses PUT and POST from anything that looks like a browser.
   */
  async #call(
    method: 'GET' | 'PUT' | 'POST',
    path: string,
    body?: unknown,
    { allow404 = false }: { allow404?: boolean } = {},
  ): Promise<string | null> {
    const isBytes = body instanceof Uint8Array;
    let status: number;
    let text: string;
    try {
      const res = await request(`${this.#base}${path}`, {
        method,
        headers:
          body === undefined ? {} : { 'content-type': isBytes ? 'application/zip' : 'application/json' },
        body: body === undefined ? undefined : isBytes ? body : JSON.stringify(body),
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      // undici's message names the host and port: only its code travels (job logs, dashboard).
      throw new ExecutionError(
        `Ray dashboard unreachable (${errorCode(err)}): ${method} ${path}`,
        {},
        {
          cause: err,
        },
      );
    }
    if (allow404 && status === 404) return null;
    if (status >= 400) {
      // Ray puts a Python traceback in error bodies; its last line is the error.
      const reason = text.trim().split('\n').at(-1) ?? '';
      throw new ExecutionError(`Ray dashboard ${method} ${path} failed with HTTP ${status}: ${reason}`);
    }
    return text;
  }

  async #json<T>(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown): Promise<T> {
    return JSON.parse((await this.#call(method, path, body))!) as T;
  }

  /** `{ray_version, ...}`; also proves the dashboard answers. */
  version(): Promise<{ ray_version: string; version: string }> {
    return this.#json('GET', '/api/version');
  }

  async packageExists(name: string): Promise<boolean> {
    return (await this.#call('GET', `/api/packages/gcs/${name}`, undefined, { allow404: true })) !== null;
  }

  async uploadPackage(name: string, zip: Uint8Array): Promise<void> {
    await this.#call('PUT', `/api/packages/gcs/${name}`, zip);
  }

  submitJob(request: RayJobRequest): Promise<{ submission_id: string }> {
    return this.#json('POST', '/api/jobs/', request);
  }

  /** The job, or null when Ray never saw it. */
  async getJob(submissionId: string): Promise<RayJobInfo | null> {
    const text = await this.#call('GET', `/api/jobs/${submissionId}`, undefined, { allow404: true });
    return text === null ? null : (JSON.parse(text) as RayJobInfo);
  }

  /** Every job the cluster knows. */
  listJobs(): Promise<RayJobInfo[]> {
    return this.#json('GET', '/api/jobs/');
  }

  /** The job's whole driver log (stdout and stderr), or null when Ray never saw it. */
  async getJobLogs(submissionId: string): Promise<string | null> {
    const text = await this.#call('GET', `/api/jobs/${submissionId}/logs`, undefined, { allow404: true });
    return text === null ? null : (JSON.parse(text) as { logs: string }).logs;
  }

  /** Whether Ray stopped a running job (false when it had ended already). */
  async stopJob(submissionId: string): Promise<boolean> {
    return (await this.#json<{ stopped: boolean }>('POST', `/api/jobs/${submissionId}/stop`)).stopped;
  }

  /**
   * Each alive node's resources, from the autoscaler's load report (`ray status`). The report
   * is empty for the first seconds of a cluster, so an empty one is asked again for a while.
   */
  async nodeResources(): Promise<RayNodeResources[]> {
    for (let attempt = 0; ; attempt++) {
      const { data } = await this.#json<{ data: ClusterStatus }>('GET', '/api/cluster_status?format=0');
      const byNode = data.clusterStatus?.loadMetricsReport?.usageByNode ?? {};
      const nodes = Object.entries(byNode).map(([nodeId, usage]) => ({ nodeId, ...nodeResources(usage) }));
      if (nodes.length > 0 || attempt >= 20) return nodes;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Serve's declarative config (`serve deploy`): replaces the whole set of applications. */
  async putServeApplications(config: Record<string, unknown>): Promise<void> {
    await this.#call('PUT', '/api/serve/applications/', config);
  }

  /** `serve status` as JSON: `{applications: {<name>: {status, route_prefix, deployments, ...}}}`. */
  getServeApplications(): Promise<RayServeDetails> {
    return this.#json('GET', '/api/serve/applications/');
  }
}

export interface RayServeDetails {
  http_options?: Record<string, unknown>;
  applications: Record<
    string,
    {
      name: string;
      route_prefix: string | null;
      status: string;
      message: string;
      last_deployed_time_s: number;
      deployed_app_config: Record<string, unknown> | null;
      deployments: Record<string, { status: string; message: string; replicas: unknown[] }>;
    }
  >;
}

interface ClusterStatus {
  clusterStatus?: { loadMetricsReport?: { usageByNode?: Record<string, Record<string, [number, number]>> } };
}

/** Ray reports `[used, total]` per resource, memory in bytes. */
function nodeResources(usage: Record<string, [number, number]>): RayNodeResources {
  const total: Record<string, number> = {};
  const used: Record<string, number> = {};
  for (const key of ['CPU', 'GPU', 'memory']) {
    used[key] = usage[key]?.[0] ?? 0;
    total[key] = usage[key]?.[1] ?? 0;
  }
  return { total, used };
}
