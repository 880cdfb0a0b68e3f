/** The context shared by the ToTask steps and its converter (to-task.md §11). */
import type { BackendClient } from '../../../clients/backend/index.ts';
import type { DownloadPool, HostRule } from '../../../clients/safe-fetch/index.ts';
import type { RuntimeContext } from '../../../plugins/context.ts';
import type { BaseLogger } from '../../../plugins/logging/base.ts';
import { BaseStepContext } from '../../../plugins/steps/index.ts';
import type { ToTaskParams } from './params.ts';

export const CATEGORY = 'annotate_task_data';

export interface ToTaskMetrics {
  total: number;
  success: number;
  failed: number;
  stand_by: number;
}

export interface ToTaskFailure {
  task_id: number;
  error: string;
}

/** What step 3 learned about the pre-processor (inference method). */
export interface PreProcessorInfo {
  code: string;
  version: string;
}

export class ToTaskContext extends BaseStepContext {
  readonly run: RuntimeContext;
  readonly params: ToTaskParams;
  config: Record<string, unknown> = {};
  pluginConfig: Record<string, unknown> = {};
  project: Record<string, any> | null = null;
  dataCollection: Record<string, any> | null = null;
  taskIds: number[] = [];
  /** The metrics in the seed's key order (README D3). */
  metrics: ToTaskMetrics = { total: 0, success: 0, failed: 0, stand_by: 0 };
  annotationMethod: string | null = null;
  preProcessor: PreProcessorInfo | null = null;
  failures: ToTaskFailure[] = [];
  /** Origins the default converter may download from (set by `method_validation`, file method). */
  downloadRules: HostRule[] | null = null;
  /** The task loop's keep-alive connections for annotation files (`task_processing`). */
  downloadPool: DownloadPool | null = null;
  /** Local paths deleted when `task_processing` is rolled back. */
  tempFiles: string[] = [];
  /**
   * While the task loop runs, `client` as a view that tells the run's adaptive limit of the
   * platform's overload answers (`task_processing`); the requests are the same.
   */
  taskClient: BackendClient | null = null;
  /** Names of the steps that completed, in order. */
  stepsCompleted: string[] = [];

  constructor(run: RuntimeContext, params: ToTaskParams) {
    super(run);
    this.run = run;
    this.params = params;
  }

  get client(): BackendClient {
    if (this.taskClient) return this.taskClient;
    if (!this.run.client) throw new Error('No backend client in context. Provide one via RuntimeContext.');
    return this.run.client;
  }

  get logger(): BaseLogger {
    return this.run.logger;
  }

  get jobId(): string | null {
    return this.run.jobId;
  }

  /** Sets the counters; `stand_by = total - success - failed`. */
  updateMetrics(success: number, failed: number, total: number): ToTaskMetrics {
    this.metrics = { total, success, failed, stand_by: total - success - failed };
    return this.metrics;
  }

  logCode(code: string, args: unknown[] = []): void {
    this.run.logMessageWithCode(code, args);
  }
}
