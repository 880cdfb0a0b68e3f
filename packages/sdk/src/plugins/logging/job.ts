/**
 * JobLogger (plugins.md §6.6): records go to the job on the backend (logs as `POST logs/`, progress
 * and metrics as `PATCH jobs/{id}/`) and are echoed in the console format (the job's stdout).
 *
 * Bursts coalesce: each kind of record has at most one request in flight; whatever arrives
 * meanwhile goes out in one request when it completes (all queued log items, or the latest
 * progress/metrics state). Backend failures never throw: a warning goes to stderr and the unsent
 * state goes out with the next call, or at `finish()`.
 */
import type { BackendClient } from '../../clients/backend/index.ts';
import type { JobUpdate } from '../../clients/backend/jobs.ts';
import { fileToDataUri, type LogItem } from '../../clients/backend/logs.ts';
import { ClientError, ValidationError } from '../../clients/errors.ts';
import { BaseLogger, type LoggerRecord } from './base.ts';
import { ConsolePrinter, type OutputStream } from './console.ts';
import { logItem } from './records.ts';

export type JobLoggerClient = Pick<BackendClient, 'createLogs' | 'updateJob'>;

export interface JobLoggerOptions {
  /** Job-wide proportions (0..100) by progress key, e.g. from the action's `progressCategories`. */
  stepProportions?: Record<string, number>;
  /** Also print every record in the console format; default true. */
  echo?: boolean;
  /** Where the echo goes; stdout by default. */
  stream?: OutputStream;
}

/** Keeps a request body bounded however many log items are queued. */
const MAX_LOG_BATCH = 500;

/** Whether the same items may succeed later: not once the server rejected them or a file is unreadable. */
function worthResending(err: unknown): boolean {
  return err instanceof ClientError && !(err instanceof ValidationError);
}

/** Sends one kind of state with at most one request in flight. */
class Sender {
  readonly #send: () => Promise<boolean>;
  #inFlight: Promise<void> | null = null;
  #unsent = false;

  /** `send` delivers the state as it is now and says whether the backend took it. */
  constructor(send: () => Promise<boolean>) {
    this.#send = send;
  }

  /** There is new state: send it now, or right after the request in flight. */
  schedule(): void {
    this.#unsent = true;
    this.#inFlight ??= this.#drain();
  }

  /** Waits for the request in flight, then makes one more attempt if a failure left state unsent. */
  async flush(): Promise<void> {
    await this.#inFlight;
    if (this.#unsent) this.schedule();
    await this.#inFlight;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#unsent) {
        this.#unsent = false;
        if (!(await this.#send())) {
          this.#unsent = true;
          return;
        }
      }
    } finally {
      this.#inFlight = null;
    }
  }
}

export class JobLogger extends BaseLogger {
  readonly #client: JobLoggerClient;
  readonly #jobId: string;
  readonly #echo: ConsolePrinter | null;
  readonly #queue: LogItem[] = [];
  readonly #logs = new Sender(() => this.#sendLogs());
  readonly #progress = new Sender(() =>
    this.#updateJob({ progress_record: this.getProgress() }, 'update progress'),
  );
  readonly #metrics = new Sender(() =>
    this.#updateJob({ metrics_record: this.getMetrics() }, 'update metrics'),
  );

  constructor(client: JobLoggerClient, jobId: string, options: JobLoggerOptions = {}) {
    super();
    this.#client = client;
    this.#jobId = jobId;
    this.#echo = (options.echo ?? true) ? new ConsolePrinter(options.stream) : null;
    if (options.stepProportions) this.declareProportions(options.stepProportions);
  }

  /** Job-wide proportions by progress key (§6.6); merged into earlier ones, before any progress. */
  setStepProportions(proportions: Record<string, number>): void {
    this.declareProportions(proportions);
  }

  protected override write(record: LoggerRecord): void {
    this.#echo?.print(record);
    if (record.kind === 'log') {
      this.#queue.push(logItem(record.event, record.data, record.time, this.#jobId, record.file));
      this.#logs.schedule();
    } else if (record.kind === 'metrics') {
      this.#metrics.schedule();
    } else {
      this.#progress.schedule();
    }
  }

  /** Delivers everything still pending, so the job ends with the final state. */
  protected override async onFinish(): Promise<void> {
    await Promise.all([this.#logs.flush(), this.#progress.flush(), this.#metrics.flush()]);
    this.#echo?.end();
  }

  async #sendLogs(): Promise<boolean> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, MAX_LOG_BATCH);
      const ready = await this.#attachFiles(batch);
      try {
        if (ready.length > 0) await this.#client.createLogs(ready);
      } catch (err) {
        this.#warn('send logs', err);
        if (worthResending(err)) return false;
        // The server refused the batch: find the items it refuses, so only they are lost.
        if (ready.length > 1) await this.#sendEach(ready);
      }
      this.#queue.splice(0, batch.length);
    }
    return true;
  }

  /** Reads attached files now, one by one: an unreadable file loses its own item, not the batch. */
  async #attachFiles(items: LogItem[]): Promise<LogItem[]> {
    const ready: LogItem[] = [];
    for (const item of items) {
      if (!item.file || item.file.startsWith('data:')) {
        ready.push(item);
        continue;
      }
      try {
        ready.push({ ...item, file: await fileToDataUri(item.file) });
      } catch (err) {
        this.#warn('send logs', err);
      }
    }
    return ready;
  }

  async #sendEach(items: LogItem[]): Promise<void> {
    for (const item of items) {
      await this.#client.createLogs([item]).catch((err: unknown) => this.#warn('send logs', err));
    }
  }

  async #updateJob(data: JobUpdate, what: string): Promise<boolean> {
    try {
      await this.#client.updateJob(this.#jobId, data);
      return true;
    } catch (err) {
      this.#warn(what, err);
      return false;
    }
  }

  #warn(what: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`WARNING: JobLogger failed to ${what}: ${message}\n`);
  }
}

/**
 * Declares progress weights on a logger that takes them (a JobLogger), checked by shape: the logger
 * may come from another copy of the SDK. Weights that come after progress has started are ignored.
 */
export function declareProportions(logger: object, proportions: Record<string, number>): void {
  const target = logger as Partial<Pick<JobLogger, 'setStepProportions'>>;
  if (typeof target.setStepProportions !== 'function') return;
  try {
    target.setStepProportions(proportions);
  } catch (err) {
    if ((err as Error).name !== 'RuntimeError') throw err;
  }
}
