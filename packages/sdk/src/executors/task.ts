/**
 * `TaskExecutor` (plugins.md §10.3): fast actions run one after another in one persistent worker
 * process, which keeps imported plugin modules, so a run pays no start-up or import cost. A
 * crash in plugin code takes down the worker, not the caller: the call fails and the next call
 * starts a new worker.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { ActionNotFoundError, ExecutionError, type PluginError } from '../plugins/errors.ts';
import { sdkModuleFile, TYPESCRIPT_NODE_OPTIONS } from '../runtime.ts';

/** Parent → worker. */
export interface ExecuteMessage {
  type: 'execute';
  id: number;
  entrypoint: string;
  pluginDir: string;
  params: unknown;
  env: Record<string, string>;
  jobId: string | null;
}

/** Worker → parent. `stage` tells an import failure from a failure of the action itself. */
export type WorkerReply =
  | { type: 'result'; id: number; result: unknown }
  | {
      type: 'error';
      id: number;
      stage: 'import' | 'execute';
      name: string;
      message: string;
      details: Record<string, unknown>;
    };

export interface TaskExecutorOptions {
  /** Variables over the process environment (the plugin config's `env` comes first). */
  env?: Record<string, string>;
  /** The worker's working directory and the default plugin directory. */
  workingDir?: string;
  /**
   * Where the worker's output (its log lines) goes: this process's stdout (default) or stderr,
   * for a caller whose stdout carries the result alone (the CLI).
   */
  workerOutput?: 'stdout' | 'stderr';
}

interface Pending {
  id: number;
  worker: ChildProcess;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

const WORKER = sdkModuleFile('./task-worker', import.meta.url);

/** Import failures keep their class across the process boundary (discovery's errors, §3.2). */
const IMPORT_ERRORS: Record<string, typeof PluginError> = { ActionNotFoundError, ExecutionError };

export class TaskExecutor {
  readonly #env: Record<string, string>;
  readonly #workingDir: string;
  #worker: ChildProcess | null = null;
  #current: Pending | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 0;
  readonly #workerOutput: 'stdout' | 'stderr';

  constructor(options: TaskExecutorOptions = {}) {
    this.#env = options.env ?? {};
    this.#workingDir = resolve(options.workingDir ?? process.cwd());
    this.#workerOutput = options.workerOutput ?? 'stdout';
  }

  /** Runs the action at `entrypoint` (§3.2) after the calls already queued; resolves to its result. */
  execute(
    entrypoint: string,
    params: unknown = {},
    options: { jobId?: string | null; pluginDir?: string } = {},
  ): Promise<unknown> {
    const message: Omit<ExecuteMessage, 'id'> = {
      type: 'execute',
      entrypoint,
      pluginDir: resolve(this.#workingDir, options.pluginDir ?? '.'),
      params,
      env: this.#env,
      jobId: options.jobId ?? null,
    };
    const run = this.#queue.then(() => this.#run(message));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Stops the worker; a call still running fails. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = null;
    const exited = once(worker, 'exit');
    worker.ref(); // waiting for the exit keeps this process alive
    worker.kill();
    await exited;
  }

  #run(message: Omit<ExecuteMessage, 'id'>): Promise<unknown> {
    const worker = this.#ensureWorker();
    const id = ++this.#nextId;
    // Only a call in progress keeps the caller's process alive, not an idle worker.
    worker.ref();
    worker.channel?.ref();
    return new Promise((resolve, reject) => {
      this.#current = { id, worker, resolve, reject };
      worker.send({ ...message, id }, (err) => {
        if (err) reject(new ExecutionError(`Task execution failed: ${err.message}`));
      });
    }).finally(() => {
      this.#current = null;
      worker.unref();
      worker.channel?.unref();
    });
  }

  #ensureWorker(): ChildProcess {
    if (this.#worker) return this.#worker;
    const worker = fork(WORKER, [], {
      cwd: this.#workingDir,
      execArgv: [...TYPESCRIPT_NODE_OPTIONS],
      // The worker writes to this process's stdout, or to its stderr in the worker's fd 1.
      stdio: ['inherit', this.#workerOutput === 'stderr' ? 2 : 'inherit', 'inherit', 'ipc'],
    });
    worker.unref();
    worker.channel?.unref();
    worker.on('message', (reply: WorkerReply) => this.#settle(reply));
    worker.on('exit', (code, signal) => {
      this.#crashed(worker, code !== null ? `worker exited with code ${code}` : `worker killed by ${signal}`);
    });
    worker.on('error', (err) => {
      this.#crashed(worker, err.message);
      worker.kill('SIGKILL');
    });
    this.#worker = worker;
    return worker;
  }

  #settle(reply: WorkerReply): void {
    const current = this.#current;
    if (current?.id !== reply.id) return;
    if (reply.type === 'result') {
      current.resolve(reply.result);
    } else if (reply.stage === 'import') {
      const ErrorClass = IMPORT_ERRORS[reply.name] ?? ExecutionError;
      current.reject(new ErrorClass(reply.message, reply.details));
    } else {
      const cause = Object.assign(new Error(reply.message), { name: reply.name, details: reply.details });
      current.reject(new ExecutionError(`Action execution failed: ${reply.message}`, {}, { cause }));
    }
  }

  /** The worker is gone: forget it (the next call starts another) and fail the call it was running. */
  #crashed(worker: ChildProcess, cause: string): void {
    if (this.#worker === worker) this.#worker = null;
    if (this.#current?.worker === worker)
      this.#current.reject(new ExecutionError(`Task execution failed: ${cause}`));
  }
}
