/**
 * `synapse-sdk/testing`: a plugin's tests against a real local platform, over real HTTP. Start
 * one (`startLocalPlatform`, which needs the optional peer `synapse-devserver`) or connect to one
 * that is already running (`connectLocalPlatform`), publish the plugin folder, run an action and
 * read the job the platform recorded for it.
 *
 * ```ts
 * const platform = await startLocalPlatform();
 * await platform.publishPlugin(pluginDir);
 * const { job, result } = await platform.runAction('my-plugin', 'train', { epochs: 2 });
 * await platform.close();
 * ```
 */
import { AgentClient } from '../clients/agent/index.ts';
import { BackendClient } from '../clients/backend/index.ts';
import type { Job, JobStatus } from '../clients/backend/jobs.ts';
import { type PublishResult, publishPlugin } from '../plugins/publish.ts';

/** What a test needs to reach a local platform: its URLs and credentials. */
export interface LocalPlatformAddress {
  /** Base URL of the backend API. */
  url: string;
  /** Base URL of the agent API. */
  agentUrl: string;
  accessToken: string;
  agentToken: string;
  /** The platform's own agent, which runs jobs and hosts deployments. */
  agentId: number;
}

/** Options of `startLocalPlatform`, passed to the devserver (see `synapse-devserver`). */
export interface LocalPlatformOptions {
  /** Keep state here; by default it lives in memory and a temp folder removed on close. */
  dataDir?: string;
  /** Host `deployment` runs on a serve gateway of the platform (port 0 picks a free one). */
  serve?: { port?: number };
  /** Run `job` actions as local processes (default true); off, they stay PENDING. */
  runJobs?: boolean;
  /** Any other devserver option (`capacity`, `deploymentDelayMs`, `faults`, ...). */
  devserver?: Record<string, unknown>;
}

export interface RunActionOptions {
  /** The release version; default the newest. */
  version?: string;
  /** The agent that runs it; default the platform's own. */
  agent?: number;
  /** For a job action: how long to wait for its end (default 120 s). */
  timeoutMs?: number;
}

export interface ActionRun {
  /** The job of a `job` action, in its final state; null for actions answered directly. */
  job: Job | null;
  /** The job's result, or the answer of an action without a job. */
  result: unknown;
}

const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);
const DEFAULT_JOB_TIMEOUT_MS = 120_000;
const POLL_INTERVAL_MS = 100;

/** The devserver's surface this module uses; the package is an optional peer, so no type import. */
interface DevServerHandle {
  url: string;
  agentUrl: string;
  credentials: { accessToken: string; agentToken: string; agentId: number };
  close(): Promise<void>;
}

export class LocalPlatform {
  readonly address: LocalPlatformAddress;
  /** A backend client with the platform user's token. */
  readonly client: BackendClient;
  /** An agent client with the platform agent's token. */
  readonly agent: AgentClient;
  readonly #server: DevServerHandle | null;

  /** `server` is closed with the platform when this object started it. */
  constructor(address: LocalPlatformAddress, server: DevServerHandle | null = null) {
    this.address = address;
    this.#server = server;
    this.client = new BackendClient(address.url, { accessToken: address.accessToken });
    this.agent = new AgentClient(address.agentUrl, address.agentToken);
  }

  get url(): string {
    return this.address.url;
  }

  /** Publishes a plugin folder (its `config.yaml` and code) as a release, as `synapse plugin publish` does. */
  publishPlugin(
    pluginDir: string,
    options: { debug?: boolean; config?: string } = {},
  ): Promise<PublishResult> {
    return publishPlugin(pluginDir, { client: this.client, warn: () => {}, ...options });
  }

  /**
   * Runs `action` of a published plugin on the platform (`POST plugins/<code>/run/`). A job action
   * is awaited to its final state; the job comes back whatever that state is, so a test can
   * assert a failure too.
   */
  async runAction(
    pluginCode: string,
    action: string,
    params: Record<string, unknown> = {},
    options: RunActionOptions = {},
  ): Promise<ActionRun> {
    const answer = await this.client.runPlugin(pluginCode, {
      agent: options.agent ?? this.address.agentId,
      action,
      params,
      ...(options.version === undefined ? {} : { version: options.version }),
    });
    const jobId =
      typeof answer === 'object' && answer !== null ? (answer as { job_id?: unknown }).job_id : undefined;
    if (typeof jobId !== 'string') return { job: null, result: answer };
    const job = await this.waitForJob(jobId, { timeoutMs: options.timeoutMs });
    return { job, result: job.result };
  }

  /** The job as the platform records it now. */
  readJob(jobId: string): Promise<Job> {
    return this.client.getJob(jobId);
  }

  /** The job once it SUCCEEDED, FAILED or was STOPPED; throws when it is still running after `timeoutMs`. */
  async waitForJob(jobId: string, options: { timeoutMs?: number } = {}): Promise<Job> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.readJob(jobId);
      if (FINAL_STATUSES.has(job.status)) return job;
      if (Date.now() >= deadline)
        throw new Error(
          `Job ${jobId} is still ${job.status} after ${timeoutMs} ms (raise timeoutMs to wait longer)`,
        );
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  /** Closes the clients, and the platform itself when `startLocalPlatform` started it. */
  async close(): Promise<void> {
    await Promise.all([this.client.close(), this.agent.close()]);
    await this.#server?.close();
  }
}

/** Connects to a local platform that is already running (e.g. one a test suite's setup started). */
export function connectLocalPlatform(address: LocalPlatformAddress): LocalPlatform {
  return new LocalPlatform(address);
}

/** Starts a local platform on loopback, on a free port, with its own state; `close()` stops it. */
export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const { devserver, ...known } = options;
  const { startDevServer } = await loadDevServer();
  const server = await startDevServer({ host: '127.0.0.1', ...devserver, ...known });
  const { accessToken, agentToken, agentId } = server.credentials;
  return new LocalPlatform(
    { url: server.url, agentUrl: server.agentUrl, accessToken, agentToken, agentId },
    server,
  );
}

async function loadDevServer(): Promise<{ startDevServer(options: object): Promise<DevServerHandle> }> {
  // A specifier in a variable: the SDK builds and installs without the devserver, which itself
  // depends on the SDK; only a test that starts a platform needs it.
  const name = 'synapse-devserver';
  try {
    return await import(name);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String(err).includes(name)) {
      throw new Error(
        `startLocalPlatform needs the package ${name} (an optional peer of synapse-sdk): npm install --save-dev ${name}`,
      );
    }
    throw err;
  }
}
