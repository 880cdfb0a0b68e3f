/**
 * BaseLogger (plugins.md §6.1): argument checks, the progress and metrics state, and the records
 * built from it. Subclasses only decide where each record goes (console, backend, nowhere).
 */
import { LOG_LEVELS, type LogLevel, type MessageContext } from '../enums.ts';
import { RuntimeError } from '../errors.ts';
import {
  DEFAULT_KEY,
  failedEntry,
  type MetricsRecord,
  metricsRecord,
  type ProgressEntry,
  type ProgressRecord,
  progressEntry,
  progressRecord,
  round2,
  undeclaredWeight,
  weightedOverall,
} from './records.ts';

/** One logger call, as handed to the subclass. */
export type LoggerRecord =
  | {
      kind: 'log';
      level: LogLevel;
      event: string;
      data: Record<string, unknown>;
      file?: string;
      step: string | null;
      time: Date;
    }
  | { kind: 'progress'; key: string; current: number; total: number; entry: ProgressEntry }
  | { kind: 'progress_failed'; key: string; entry: ProgressEntry }
  | { kind: 'metrics'; key: string; value: Record<string, unknown> };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export abstract class BaseLogger {
  #step: string | null = null;
  #finishing: Promise<void> | null = null;
  readonly #progress = new Map<string, ProgressEntry>();
  readonly #startedAt = new Map<string, number>();
  #currentKey: string | null = null;
  /** Job-wide weight per key, in order: declared keys, then undeclared ones as first used (§6.6). */
  readonly #weights = new Map<string, number>();
  #overall = 0;
  readonly #metrics = new Map<string, Record<string, unknown>>();

  /** Delivers one record: print it, send it, or drop it. */
  protected abstract write(record: LoggerRecord): void;

  /** Runs once, on the first `finish()`: flush whatever is pending. */
  protected onFinish(): void | Promise<void> {}

  log(level: LogLevel, event: string, data: object, file?: string, step?: string): void {
    this.#checkOpen();
    if (!(LOG_LEVELS as readonly unknown[]).includes(level)) {
      throw new TypeError(`level must be a LogLevel enum, got ${typeof level}`);
    }
    if (!isPlainObject(data)) throw new TypeError(`data must be a dict, got ${typeof data}`);
    // A copy, so later changes by the caller do not alter what is queued.
    this.write({
      kind: 'log',
      level,
      event,
      data: { ...data },
      file,
      step: step ?? this.#step,
      time: new Date(),
    });
  }

  debug(message: string): void {
    this.log('debug', 'debug', { message });
  }

  info(message: string): void {
    this.log('info', 'info', { message });
  }

  warning(message: string): void {
    this.log('warning', 'warning', { message });
  }

  error(message: string): void {
    this.log('error', 'error', { message });
  }

  critical(message: string): void {
    this.log('critical', 'critical', { message });
  }

  /** The step that un-categorised progress, metrics and console lines belong to. */
  setStep(step: string | null): void {
    this.#step = step;
  }

  logMessage(content: string, context: MessageContext = 'info'): void {
    this.log('info', 'message', { context, content });
  }

  setProgress(current: number, total: number, category?: string): void {
    if (!(total > 0)) throw new RangeError(`total must be > 0, got ${total}`);
    if (!(current >= 0 && current <= total)) {
      throw new RangeError(`current must be between 0 and ${total}, got ${current}`);
    }
    this.#checkOpen();
    const key = this.#progressKey(category);
    const now = Date.now();
    if (current === 0 || !this.#startedAt.has(key)) this.#startedAt.set(key, now);
    const elapsed = (now - this.#startedAt.get(key)!) / 1000;
    const percent = round2((current / total) * 100);
    const timeRemaining = current === 0 ? null : round2((elapsed / current) * (total - current));
    const entry = progressEntry(percent, timeRemaining, this.#weightOf(key));
    this.#progress.set(key, entry);
    this.#currentKey = key;
    this.#overall = this.#nextOverall(key, percent);
    this.write({ kind: 'progress', key, current, total, entry });
  }

  /** Marks the key failed; the job-wide overall stays where it was. */
  setProgressFailed(category?: string): void {
    this.#checkOpen();
    const key = this.#progressKey(category);
    const startedAt = this.#startedAt.get(key);
    const elapsed = startedAt === undefined ? null : round2((Date.now() - startedAt) / 1000);
    const entry = failedEntry(elapsed, this.#weightOf(key));
    this.#progress.set(key, entry);
    this.#currentKey = key;
    this.write({ kind: 'progress_failed', key, entry });
  }

  /** Shallow-merges `value` into the category's metrics. */
  setMetrics(value: object, category?: string): void {
    const key = category || this.#step;
    if (!key) throw new Error('A category argument must be a non-empty string.');
    if (!isPlainObject(value)) {
      throw new TypeError(`A value argument must be a dictionary, but got ${typeof value}.`);
    }
    this.#checkOpen();
    this.#metrics.set(key, { ...this.#metrics.get(key), ...value });
    this.write({ kind: 'metrics', key, value: { ...value } });
  }

  /** The `progress_record` as sent to the backend; null before any progress call. */
  getProgress(): ProgressRecord | null {
    return this.#currentKey === null ? null : progressRecord(this.#progress, this.#currentKey, this.#overall);
  }

  /** The `metrics_record` as sent to the backend. */
  getMetrics(): MetricsRecord {
    return metricsRecord(this.#metrics);
  }

  /** Ends the logger: later calls throw. Await it so pending records are delivered. */
  finish(): Promise<void> {
    this.#finishing ??= this.#finish();
    return this.#finishing;
  }

  /** Declares job-wide proportions (merged into earlier ones); only before the first progress call. */
  protected declareProportions(proportions: Record<string, number>): void {
    if (this.#currentKey !== null) {
      throw new RuntimeError(
        'Cannot set step proportions after progress has started. Call setStepProportions() before any setProgress() calls.',
      );
    }
    for (const [key, proportion] of Object.entries(proportions)) this.#weights.set(key, proportion);
  }

  async #finish(): Promise<void> {
    await this.onFinish();
  }

  #checkOpen(): void {
    if (this.#finishing) throw new RuntimeError('Cannot log to a finished logger');
  }

  #progressKey(category: string | undefined): string {
    return category || this.#step || DEFAULT_KEY;
  }

  /** The key's job-wide weight once proportions are declared; an undeclared key locks one at first use. */
  #weightOf(key: string): number | undefined {
    if (this.#weights.size === 0) return undefined;
    if (!this.#weights.has(key)) this.#weights.set(key, undeclaredWeight(this.#weights.values()));
    return this.#weights.get(key);
  }

  #nextOverall(key: string, percent: number): number {
    if (this.#weights.size === 0) return percent;
    // A key left with no weight says nothing about the job as a whole.
    if (this.#weights.get(key) === 0) return this.#overall;
    return Math.max(this.#overall, weightedOverall(this.#weights, key, percent));
  }
}
