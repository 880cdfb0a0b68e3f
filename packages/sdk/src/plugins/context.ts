/**
 * The runtime context of an action run (plugins.md §5): the backend and agent clients, the
 * logger that reports to the platform, the environment, and the job this run belongs to.
 */
import type { AgentClient } from '../clients/agent/index.ts';
import type { BackendClient } from '../clients/backend/index.ts';
import type { ServeBackend } from '../serve/backend.ts';
import type { LogLevel, MessageContext } from './enums.ts';
import { PluginEnvironment } from './environment.ts';
import { resolveLogMessage } from './log-messages.ts';
import type { BaseLogger } from './logging/base.ts';
import { NoOpLogger } from './logging/noop.ts';
import { formatCreated } from './logging/records.ts';

export interface RuntimeContextInit {
  logger?: BaseLogger;
  env?: PluginEnvironment;
  jobId?: string | null;
  client?: BackendClient | null;
  agentClient?: AgentClient | null;
  checkpoint?: { category: string; path: string } | null;
  actionName?: string | null;
  /** Where a deployment action runs its serve app; unset: the process's default gateway. */
  serveBackend?: ServeBackend | null;
}

export interface TrialsData {
  base?: unknown[];
  trials: Record<string, unknown>;
  hyperparameters?: unknown[];
  metrics?: unknown[];
  best_trial?: string;
}

export class RuntimeContext {
  logger: BaseLogger;
  env: PluginEnvironment;
  jobId: string | null;
  client: BackendClient | null;
  agentClient: AgentClient | null;
  checkpoint: { category: string; path: string } | null;
  actionName: string | null;
  serveBackend: ServeBackend | null;

  constructor(init: RuntimeContextInit = {}) {
    this.logger = init.logger ?? new NoOpLogger();
    this.env = init.env ?? new PluginEnvironment();
    this.jobId = init.jobId ?? null;
    this.client = init.client ?? null;
    this.agentClient = init.agentClient ?? null;
    this.checkpoint = init.checkpoint ?? null;
    this.actionName = init.actionName ?? null;
    this.serveBackend = init.serveBackend ?? null;
  }

  /** An INFO event with its data (and an optional file, a local path sent as a data URI). */
  log(event: string, data: Record<string, unknown> = {}, file?: string): void {
    this.logger.log('info', event, data, file);
  }

  setProgress(current: number, total: number, category?: string): void {
    this.logger.setProgress(current, total, category);
  }

  setProgressFailed(category?: string): void {
    this.logger.setProgressFailed(category);
  }

  setMetrics(value: Record<string, unknown>, category?: string): void {
    this.logger.setMetrics(value, category);
  }

  logMessage(content: string, context: MessageContext = 'info'): void {
    this.logger.logMessage(content, context);
  }

  logMessageWithCode(code: string, args?: unknown[] | Record<string, unknown>, level?: MessageContext): void {
    const [text, templateLevel] = resolveLogMessage(code, args);
    this.logger.logMessage(text, level ?? templateLevel);
  }

  logMetric(category: string, key: string, value: number, metrics: Record<string, unknown> = {}): void {
    this.log('metric', { category, key, value, metrics });
  }

  logVisualization(
    category: string,
    group: string,
    index: number,
    image: string,
    meta: Record<string, unknown> = {},
  ): void {
    this.log('visualization', { category, group, index, ...meta }, image);
  }

  logTrials(data: TrialsData): void {
    this.log('trials', { base: [], hyperparameters: [], metrics: [], best_trial: '', ...data });
  }

  logDevEvent(message: string, data: Record<string, unknown> = {}, level: LogLevel = 'info'): void {
    this.logger.log('debug', 'dev_event', {
      event_type: `${this.actionName ?? 'plugin'}_dev_log`,
      message,
      data,
      level,
      created: formatCreated(new Date()),
    });
  }

  /** The closing message of a run: `Plugin run is complete.` */
  endLog(): void {
    this.logMessageWithCode('PLUGIN_RUN_COMPLETE');
  }
}
