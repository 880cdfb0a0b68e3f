/**
 * The wire records the platform UI reads (plugins.md §6.2–§6.4), and the job-wide overall
 * progress weighting of §6.6. Pure functions: the loggers keep the state.
 */
import type { LogItem } from '../../clients/backend/logs.ts';

/** The progress key used when neither a category nor a step is given. */
export const DEFAULT_KEY = '__default__';

export interface ProgressEntry {
  /** Share (0..100) of job-wide progress, only when known. */
  proportion?: number;
  percent: number;
  time_remaining: number | null;
  /** Failed entries only. */
  elapsed_time?: number | null;
  status?: 'failed';
}

export interface CurrentProgress {
  overall: number;
  category?: string;
  step: string;
  percent: number;
  time_remaining: number | null;
}

export type ProgressRecord = {
  record: {
    categories: Record<string, ProgressEntry>;
    steps: Record<string, ProgressEntry>;
    percent?: number;
    time_remaining?: number | null;
  };
  current_progress: CurrentProgress;
};

export type MetricsRecord = {
  record: {
    categories: Record<string, Record<string, unknown>>;
    steps: Record<string, Record<string, unknown>>;
  };
};

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Key order as on the wire: `proportion` first, when known. */
export function progressEntry(
  percent: number,
  timeRemaining: number | null,
  proportion?: number,
): ProgressEntry {
  return { ...(proportion === undefined ? {} : { proportion }), percent, time_remaining: timeRemaining };
}

export function failedEntry(elapsedTime: number | null, proportion?: number): ProgressEntry {
  return { ...progressEntry(0, null, proportion), elapsed_time: elapsedTime, status: 'failed' };
}

/**
 * The whole `progress_record`, in both dialects at once (README D27): older readers use
 * `record.categories` and `current_progress.category`, newer ones `record.steps` and
 * `current_progress.step`. The `__default__` key also gets the flat fields older readers expect.
 */
export function progressRecord(
  entries: ReadonlyMap<string, ProgressEntry>,
  currentKey: string,
  overall: number,
): ProgressRecord {
  const categories: Record<string, ProgressEntry> = {};
  const steps: Record<string, ProgressEntry> = {};
  for (const [key, entry] of entries) {
    categories[key] = { ...entry };
    steps[key] = { ...entry };
  }
  const record: ProgressRecord['record'] = { categories, steps };
  const defaultEntry = entries.get(DEFAULT_KEY);
  if (defaultEntry) {
    Object.assign(record, { percent: defaultEntry.percent, time_remaining: defaultEntry.time_remaining });
  }

  const current = entries.get(currentKey)!;
  const { percent, time_remaining } = current;
  const current_progress: CurrentProgress =
    currentKey === DEFAULT_KEY
      ? { overall, step: DEFAULT_KEY, percent, time_remaining }
      : { overall, category: currentKey, step: currentKey, percent, time_remaining };
  return { record, current_progress };
}

/** The whole `metrics_record`, identical under `categories` (older readers) and `steps` (newer). */
export function metricsRecord(metrics: ReadonlyMap<string, Record<string, unknown>>): MetricsRecord {
  const categories: Record<string, Record<string, unknown>> = {};
  const steps: Record<string, Record<string, unknown>> = {};
  for (const [key, values] of metrics) {
    categories[key] = { ...values };
    steps[key] = { ...values };
  }
  return { record: { categories, steps } };
}

/**
 * The weight an undeclared key takes at its first use: half of the still-unassigned weight
 * (rounded down, at least 1 while any remains), so later surprises still get a share.
 */
export function undeclaredWeight(assigned: Iterable<number>): number {
  let remaining = 100;
  for (const weight of assigned) remaining -= weight;
  return remaining <= 0 ? 0 : Math.max(1, Math.floor(remaining / 2));
}

/**
 * Job-wide progress while `key` is at `percent`: the keys before it (in `weights` order) count as
 * done. Rounded to 2 dp and clamped to 100; callers keep it from decreasing.
 */
export function weightedOverall(weights: ReadonlyMap<string, number>, key: string, percent: number): number {
  let done = 0;
  for (const [k, weight] of weights) {
    if (k === key) break;
    done += weight;
  }
  return Math.min(100, round2(done + ((weights.get(key) ?? 0) * percent) / 100));
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function localParts(date: Date): [day: string, time: string] {
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  // Millisecond clock: microseconds are milliseconds × 1000.
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}000`;
  return [day, time];
}

/** A log item's `datetime`: `YYYY-MM-DD HH:MM:SS.ffffff`, process-local time. */
export function formatDatetime(date: Date): string {
  return localParts(date).join(' ');
}

/** A `created` value inside log data: `YYYY-MM-DDTHH:MM:SS.ffffff`, local time without a zone. */
export function formatCreated(date: Date): string {
  return localParts(date).join('T');
}

/** The `POST logs/` item envelope (§6.4); `file` only when given. */
export function logItem(
  event: string,
  data: Record<string, unknown>,
  date: Date,
  jobId: string | null,
  file?: string,
): LogItem {
  return { event, data, datetime: formatDatetime(date), job: jobId, ...(file ? { file } : {}) };
}
