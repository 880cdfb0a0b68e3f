/**
 * Task mode on Ray (plugins.md §10.3 on a cluster): one long-lived Ray job holds a warm worker
 * (`ray-task-server.ts`), and each `execute` is an HTTP call to it, so a run pays no job start-up
 * or import cost. The worker keeps the plugin's modules imported between runs; `close()` stops
 * the job. Same cluster assumption as Ray jobs: its loopback address is reachable from here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request } from 'undici';
import { ActionNotFoundError, ExecutionError } from '../plugins/errors.ts';
import { defaultDashboardUrl, RayClient } from './ray-client.ts';
import { nodeCommand, RayJobBackend, type RayJobResources } from './ray-job.ts';
import { ADDRESS_MARKER, type TaskRequest, type TaskResponse } from './ray-task-server.ts';

const SERVER = fileURLToPath(new URL('./ray-task-server.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface RayTaskExecutorOptions extends RayJobResources {
  /** The Ray dashboard; default `RAY_DASHBOARD_URL`, else `http://localhost:8265`. */
  dashboardAddress?: string;
  /** The worker's variables (config `env` first, then these). */
  env?: Record<string, string>;
  /** The plugin directory: the worker job's working directory. */
  workingDir?: string;
  runtimeEnv?: Record<string, unknown>;
}

interface Worker {
  jobId: string;
  url: string;
}

export class RayTaskExecutor {
  readonly #backend: RayJobBackend;
  /** Only this executor may call its worker. */
  readonly #token = randomBytes(24).toString('hex');
  #worker: Promise<Worker> | null = null;

  constructor(options: RayTaskExecutorOptions = {}) {
    const workingDir = resolve(options.workingDir ?? process.cwd());
    this.#backend = new RayJobBackend({
      ...options,
      client: new RayClient(options.dashboardAddress ?? defaultDashboardUrl()),
      workingDir,
      env: { ...options.env, SYNAPSE_TASK_WORKER_TOKEN: this.#token },
      entrypointCommand: nodeCommand(workingDir, ['--import', TSX_LOADER, SERVER]),
    });
  }

  /** Runs the action at `entrypoint` in the warm worker (started on first use); its result. */
  async execute(
    entrypoint: string,
    params: unknown = {},
    options: { jobId?: string | null } = {},
  ): Promise<unknown> {
    const worker = await this.#ensureWorker();
    const body: TaskRequest = { entrypoint, params, job_id: options.jobId ?? null };
    const res = await request(worker.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).catch((err: Error) => {
      throw new ExecutionError(`Task execution failed: ${err.message}`, {}, { cause: err });
    });
    const reply = (await res.body.json()) as TaskResponse;
    if ('result' in reply) return reply.result;
    const ErrorClass = reply.error.name === 'ActionNotFoundError' ? ActionNotFoundError : ExecutionError;
    throw new ErrorClass(reply.error.message);
  }

  /** The worker's Ray job id, once started. */
  async workerJobId(): Promise<string> {
    return (await this.#ensureWorker()).jobId;
  }

  /** Stops the worker's job. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    const started = await worker?.catch(() => null);
    if (started) await this.#backend.stop(started.jobId);
  }

  #ensureWorker(): Promise<Worker> {
    this.#worker ??= this.#start();
    this.#worker.catch(() => {
      this.#worker = null; // the next call tries again
    });
    return this.#worker;
  }

  /** Submits the worker job and waits for the address it prints, or for its end. */
  async #start(): Promise<Worker> {
    const jobId = `synapse-task-${randomUUID().slice(0, 8)}`;
    let found: (url: string) => void = () => {};
    const address = new Promise<string>((resolve) => {
      found = resolve;
    });
    await this.#backend.submit({
      jobId,
      entrypoint: '',
      params: {},
      onBackend: false,
      onOutput: (line) => {
        if (line.startsWith(`${ADDRESS_MARKER} `)) found(line.slice(ADDRESS_MARKER.length + 1).trim());
      },
    });
    const ended = this.#backend.finished(jobId).then(async (status) => {
      throw new ExecutionError(
        `Task worker job ${jobId} ended with status ${status}. Logs:\n${await this.#backend.getLogs(jobId)}`,
      );
    });
    ended.catch(() => {}); // once the worker answers, its end is close()'s business
    return { jobId, url: await Promise.race([address, ended]) };
  }
}
