/**
 * Task mode on Ray (plugins.md §10.3 on a cluster): one long-lived Ray job holds a warm worker
 * (`task-server.ts`), and each `execute` is an HTTP call to it, so a run pays no job start-up
 * or import cost. The worker keeps the plugin's modules imported between runs; `close()` stops
 * the job. Same cluster assumption as Ray jobs: its loopback address is reachable from here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { request } from 'undici';
import { ENV } from '../../environment.ts';
import { ActionNotFoundError, ExecutionError } from '../../plugins/errors.ts';
import { defaultDashboardUrl, errorCode, RayClient } from '../../ray/client.ts';
import { nodeCommand } from '../../ray/package.ts';
import { sdkModuleFile, TYPESCRIPT_NODE_OPTIONS } from '../../runtime.ts';
import { RayJobBackend, type RayJobResources } from './job.ts';
import { ADDRESS_MARKER, type TaskRequest, type TaskResponse } from './task-server.ts';

const SERVER = sdkModuleFile('./task-server', import.meta.url);

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

/** A worker being started: its job id once Ray accepted the job, then its address. */
interface Start {
  submitted: Promise<string>;
  worker: Promise<Worker>;
  /** Fails `worker` (close() while it starts). */
  abort: (err: Error) => void;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);

export class RayTaskExecutor {
  readonly #client: RayClient;
  readonly #backend: RayJobBackend;
  /** Only this executor may call its worker. */
  readonly #token = randomBytes(24).toString('hex');
  #start: Start | null = null;

  constructor(options: RayTaskExecutorOptions = {}) {
    const workingDir = resolve(options.workingDir ?? process.cwd());
    this.#client = new RayClient(options.dashboardAddress ?? defaultDashboardUrl());
    this.#backend = new RayJobBackend({
      ...options,
      client: this.#client,
      workingDir,
      env: { ...options.env, [ENV.taskWorkerToken.name]: this.#token },
      entrypointCommand: nodeCommand(workingDir, [...TYPESCRIPT_NODE_OPTIONS, SERVER]),
    });
  }

  /** Runs the action at `entrypoint` in the warm worker (started on first use); its result. */
  async execute(
    entrypoint: string,
    params: unknown = {},
    options: { jobId?: string | null } = {},
  ): Promise<unknown> {
    const start = this.#ensureWorker();
    const worker = await start.worker;
    const body: TaskRequest = { entrypoint, params, job_id: options.jobId ?? null };
    const res = await request(worker.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      // An action runs as long as it needs: undici's default 300 s limits do not apply.
      headersTimeout: 0,
      bodyTimeout: 0,
    }).catch((err: unknown) => {
      // The worker is gone: the next call starts another.
      if (this.#start === start) this.#start = null;
      void this.#stopWorker(worker.jobId).catch(() => {});
      // undici's message names the worker's host and port: only its code travels.
      throw new ExecutionError(
        `Task execution failed: task worker unreachable (${errorCode(err)})`,
        {},
        {
          cause: err,
        },
      );
    });
    const text = await res.body.text();
    if (res.statusCode !== 200)
      throw new ExecutionError(`Task execution failed: the task worker answered HTTP ${res.statusCode}`);
    let reply: TaskResponse;
    try {
      reply = JSON.parse(text) as TaskResponse;
    } catch {
      throw new ExecutionError('Task execution failed: the task worker answered something other than JSON');
    }
    if ('result' in reply) return reply.result;
    const ErrorClass = reply.error.name === 'ActionNotFoundError' ? ActionNotFoundError : ExecutionError;
    throw new ErrorClass(reply.error.message);
  }

  /** The worker's Ray job id, once started. */
  async workerJobId(): Promise<string> {
    return (await this.#ensureWorker().worker).jobId;
  }

  /**
   * Stops the worker's job. Waits for its submission, never for the worker to come up: a call
   * still waiting for the worker fails, and a job that is PENDING (or never prints its address)
   * is stopped all the same.
   */
  async close(): Promise<void> {
    const start = this.#start;
    this.#start = null;
    if (!start) return;
    start.abort(new ExecutionError('Task execution failed: the executor was closed'));
    const jobId = await start.submitted.catch(() => null);
    if (jobId) await this.#stopWorker(jobId);
  }

  /**
   * Asks Ray to stop the worker's job. A running job ends within moments and is waited for. Ray
   * stops a PENDING one only once it can place it: it is not waited for, nor followed any longer.
   */
  async #stopWorker(jobId: string): Promise<void> {
    this.#backend.release(jobId);
    const info = await this.#client.getJob(jobId);
    if (!info || TERMINAL.has(info.status)) return;
    if ((await this.#client.stopJob(jobId)) && info.status === 'RUNNING') await this.#backend.finished(jobId);
  }

  #ensureWorker(): Start {
    if (this.#start) return this.#start;
    const jobId = `synapse-task-${randomUUID().slice(0, 8)}`;
    let found: (url: string) => void = () => {};
    const address = new Promise<string>((resolve) => {
      found = resolve;
    });
    let abort: (err: Error) => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      abort = reject;
    });
    const submitted = this.#backend
      .submit({
        jobId,
        entrypoint: '',
        params: {},
        onBackend: false,
        onOutput: (line) => {
          if (line.startsWith(`${ADDRESS_MARKER} `)) found(line.slice(ADDRESS_MARKER.length + 1).trim());
        },
      })
      .then(() => jobId);
    const worker = Promise.race([submitted.then(() => this.#address(jobId, address)), aborted]);
    const start: Start = { submitted, worker, abort };
    this.#start = start;
    aborted.catch(() => {});
    submitted.catch(() => {}); // the callers see it through `worker`
    worker.catch(() => {
      if (this.#start === start) this.#start = null; // the next call tries again
    });
    return start;
  }

  /** The address the worker job prints, or its end (a failure) when it ends first. */
  async #address(jobId: string, address: Promise<string>): Promise<Worker> {
    const ended = this.#backend.finished(jobId).then(async (status) => {
      const logs = await this.#backend.getLogs(jobId).catch(() => '');
      throw new ExecutionError(`Task worker job ${jobId} ended with status ${status}. Logs:\n${logs}`);
    });
    ended.catch(() => {}); // once the worker answers, its end is close()'s business
    return { jobId, url: await Promise.race([address, ended]) };
  }
}
