/** Loggers and the wire records they produce (plugins.md §6). */
export { BaseLogger, type LoggerRecord } from './base.ts';
export { ConsoleLogger, ConsolePrinter, type OutputStream } from './console.ts';
export { JobLogger, type JobLoggerClient, type JobLoggerOptions } from './job.ts';
export { NoOpLogger } from './noop.ts';
export {
  type CurrentProgress,
  DEFAULT_KEY,
  formatCreated,
  formatDatetime,
  logItem,
  type MetricsRecord,
  metricsRecord,
  type ProgressEntry,
  type ProgressRecord,
  progressRecord,
} from './records.ts';
