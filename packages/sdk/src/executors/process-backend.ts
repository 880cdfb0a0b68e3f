/**
 * The `process` job backend (plugins.md §10.4): each job is a `synapse-entrypoint` child process
 * in the plugin directory, so a crash or a leak in plugin code ends with the job, not the caller.
 * The job's logs are its stdout and stderr, of which the last `maxLogBytes` are kept.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { PARAMS_ENV_LIMIT } from 'synapse-core';
import { jobEnvironment } from '../environment.ts';
import { ExecutionError } from '../plugins/errors.ts';
import { SDK_NODE_OPTIONS } from '../runtime.ts';
import { ResultScanner } from './entrypoint.ts';
import type { JobBackend, JobExecutionStatus, JobSubmission, OutputStream } from './job.ts';

/** Run with this Node directly: no PATH lookup, and tsx is registered by the bin itself. */
const ENTRYPOINT_BIN = fileURLToPath(new URL('../../bin/synapse-entrypoint.js', import.meta.url));

export interface ProcessBackendOptions {
  /** Variables over the process environment. */
  env: Record<string, string>;
  /** The plugin directory: the job's working directory. */
  workingDir: string;
  maxLogBytes: number;
  /** How long a stopped job may take to exit after SIGTERM before it gets SIGKILL. */
  stopGraceMs: number;
}

/** The last `max` bytes of the output. */
class LogTail {
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor(readonly max: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size > this.max) {
      const excess = this.#size - this.max;
      const first = this.#chunks[0];
      if (first.length <= excess) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(excess);
      this.#size -= Math.min(first.length, excess);
    }
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/** One job's process, its output and how it ended. */
class ProcessJob {
  status: JobExecutionStatus = 'PENDING';
  /** Set by `stop()`: however the process then ends, the job was STOPPED. */
  stopping = false;
  readonly logs: LogTail;
  readonly scanner = new ResultScanner();
  readonly finished: Promise<JobExecutionStatus>;

  constructor(
    readonly child: ChildProcess,
    maxLogBytes: number,
    readonly onOutput?: JobSubmission['onOutput'],
  ) {
    this.logs = new LogTail(maxLogBytes);
    this.#collect(child.stdout!, 'stdout');
    this.#collect(child.stderr!, 'stderr');
    child.once('spawn', () => {
      if (this.status === 'PENDING') this.status = 'RUNNING';
    });
    child.on('error', (err) => this.#note(`Job process error: ${err.message}`));
    // 'close' comes after the last output line, and also after a failed spawn.
    this.finished = new Promise((resolve) => {
      child.once('close', (code, signal) => resolve(this.#end(code, signal)));
    });
  }

  #end(code: number | null, signal: NodeJS.Signals | null): JobExecutionStatus {
    if (this.stopping) this.status = 'STOPPED';
    else if (code === 0) this.status = 'SUCCEEDED';
    else {
      this.status = 'FAILED';
      this.#note(signal ? `Job process killed by ${signal}` : `Job process exited with code ${code}`);
    }
    return this.status;
  }

  /** Keeps the raw output in the logs and hands on each line. */
  #collect(stream: Readable, name: OutputStream): void {
    stream.on('data', (chunk: Buffer) => this.logs.push(chunk));
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
      this.#emit(line, name),
    );
  }

  #emit(line: string, stream: OutputStream): void {
    if (stream === 'stdout') this.scanner.line(line);
    this.onOutput?.(line, stream);
  }

  /** A line of our own about the process, in the logs as if the job had printed it. */
  #note(line: string): void {
    this.logs.push(Buffer.from(`${line}\n`));
    this.#emit(line, 'stderr');
  }
}

const TERMINAL = new Set<JobExecutionStatus>(['SUCCEEDED', 'FAILED', 'STOPPED']);

export class ProcessBackend implements JobBackend {
  readonly #options: ProcessBackendOptions;
  readonly #jobs = new Map<string, ProcessJob>();

  constructor(options: ProcessBackendOptions) {
    this.#options = options;
  }

  async submit({ jobId, entrypoint, params, onBackend, onOutput }: JobSubmission): Promise<void> {
    const previous = this.#jobs.get(jobId);
    if (previous && !TERMINAL.has(previous.status))
      throw new ExecutionError(`Job ${jobId} is already running`);
    const json = JSON.stringify(params ?? {});
    let paramsDir: string | null = null;
    let paramsFile: string | null = null;
    if (json.length >= PARAMS_ENV_LIMIT) {
      paramsDir = await mkdtemp(join(tmpdir(), 'synapse-params-'));
      paramsFile = join(paramsDir, 'params.json');
      await writeFile(paramsFile, json);
    }
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...this.#options.env,
      // Every job variable is set (or cleared), none inherited from this process.
      ...jobEnvironment({
        entrypoint,
        // A local id (none given) is not a backend job: the run must not report to one.
        jobId: onBackend ? jobId : undefined,
        params: paramsFile ? { file: paramsFile } : { json },
      }),
    };

    const child = spawn(process.execPath, [...SDK_NODE_OPTIONS, ENTRYPOINT_BIN], {
      cwd: this.#options.workingDir,
      env,
      // The IPC channel ties the job to this process: the entrypoint exits when it closes, so a
      // supervisor that dies (even by SIGKILL) leaves no orphan running unfollowed.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: a terminal's Ctrl-C reaches the supervisor alone, which stops the
      // job once (SIGTERM), instead of the job seeing both the SIGINT and then that SIGTERM.
      detached: true,
    });
    const job = new ProcessJob(child, this.#options.maxLogBytes, onOutput);
    this.#jobs.set(jobId, job);
    if (paramsDir) void job.finished.then(() => rm(paramsDir, { recursive: true, force: true }));
    await Promise.race([once(child, 'spawn'), job.finished]).catch(() => {});
  }

  async getStatus(jobId: string): Promise<JobExecutionStatus> {
    return this.#jobs.get(jobId)?.status ?? 'UNKNOWN';
  }

  async getLogs(jobId: string): Promise<string> {
    return this.#job(jobId).logs.text();
  }

  async getResult(jobId: string): Promise<unknown> {
    const job = this.#job(jobId);
    return job.status === 'SUCCEEDED' ? job.scanner.result() : null;
  }

  async finished(jobId: string): Promise<JobExecutionStatus> {
    return this.#job(jobId).finished;
  }

  /**
   * SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. Asking
   * again while it stops only waits: a second SIGTERM would cut short the job's own clean stop.
   */
  async stop(jobId: string): Promise<boolean> {
    const job = this.#job(jobId);
    if (TERMINAL.has(job.status)) return false;
    if (job.stopping) {
      await job.finished;
      return false;
    }
    job.stopping = true;
    job.child.kill('SIGTERM');
    const kill = setTimeout(() => job.child.kill('SIGKILL'), this.#options.stopGraceMs);
    await job.finished;
    clearTimeout(kill);
    return true;
  }

  #job(jobId: string): ProcessJob {
    const job = this.#jobs.get(jobId);
    if (!job) throw new ExecutionError(`Job ${jobId} not found`);
    return job;
  }
}
