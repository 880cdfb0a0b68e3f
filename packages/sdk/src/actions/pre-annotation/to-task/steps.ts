/**
 * The seven ToTask workflow steps (to-task.md §3), each with its rollback (§9) and its declared
 * share of the workflow (`progressWeight`, summing to 1), which the Orchestrator turns into
 * overall progress: the task loop is nearly all the work.
 */

import { rm } from 'node:fs/promises';
import { isObject } from 'synapse-core';
import { AdaptiveLimit, isOverload } from '../../../clients/adaptive-limit.ts';
import {
  AllowedHostError,
  DownloadPool,
  type HostRule,
  originRule,
  parseHostRules,
} from '../../../clients/safe-fetch/index.ts';
import { ENV } from '../../../environment.ts';
import { RunStoppedError } from '../../../plugins/errors.ts';
import { BaseStep, StepResult } from '../../../plugins/steps/index.ts';
import { CATEGORY, type ToTaskContext } from './context.ts';
import type { ToTaskConverter } from './converter.ts';
import {
  CriticalError,
  errorMessage,
  isBackendConnectionFailure,
  PreAnnotationToTaskFailed,
} from './errors.ts';
import { annotateFromFile } from './file-strategy.ts';
import type { TaskOutcome } from './files.ts';
import {
  annotateFromInference,
  ensurePreProcessorReady,
  type InferenceOptions,
} from './inference-strategy.ts';
import { DEFAULT_CONCURRENCY, DEFAULT_MAX_CONNECTION_FAILURES, MAX_CONCURRENCY } from './params.ts';
import { logTaskEvent, recordTaskFailure, recordTaskSuccess, redactText } from './records.ts';

const fail = (message: string, cause?: unknown) =>
  new PreAnnotationToTaskFailed(message, {}, cause === undefined ? undefined : { cause });

/** Step 1: the project and its data collection. */
export class ProjectValidationStep extends BaseStep<ToTaskContext> {
  get name() {
    return 'project_validation';
  }

  get progressWeight() {
    return 0.05;
  }

  async execute(ctx: ToTaskContext): Promise<StepResult> {
    try {
      const project: unknown = await ctx.client.getProject(ctx.params.project);
      if (!isObject(project)) {
        ctx.logCode('INVALID_PROJECT_RESPONSE');
        throw fail('Invalid project response received');
      }
      if (!project.data_collection) {
        ctx.logCode('NO_DATA_COLLECTION');
        throw fail('Project has no data collection');
      }
      const collection: unknown = await ctx.client.getDataCollection(project.data_collection);
      if (!isObject(collection)) {
        ctx.logCode('INVALID_DATA_COLLECTION_RESPONSE');
        throw fail('Invalid data collection response received');
      }
      ctx.project = project;
      ctx.dataCollection = collection;
      return new StepResult({ data: { project: project.id, data_collection: collection.id } });
    } catch (err) {
      if (err instanceof PreAnnotationToTaskFailed) throw err;
      const message = `Project validation failed: ${errorMessage(err)}`;
      ctx.logCode('VALIDATION_FAILED', [message]);
      throw fail(message, err);
    }
  }

  override rollback(ctx: ToTaskContext): void {
    ctx.project = null;
    ctx.dataCollection = null;
  }
}

/** Step 2: `file` or `inference`. */
export class MethodDeterminationStep extends BaseStep<ToTaskContext> {
  get name() {
    return 'method_determination';
  }

  get progressWeight() {
    return 0.01;
  }

  execute(ctx: ToTaskContext): StepResult {
    const { method } = ctx.params;
    if (method !== 'file' && method !== 'inference') {
      ctx.logCode('UNSUPPORTED_METHOD', [method]);
      throw fail(`Unsupported annotation method: ${method}`);
    }
    ctx.annotationMethod = method;
    return new StepResult({ data: { method } });
  }
}

export const ALLOWED_HOSTS_ENV = ENV.allowedHosts.name;

/**
 * Where annotation files may come from: the backend's own origin (its files are served there),
 * the `allowed_hosts` param, and `SYNAPSE_ALLOWED_HOSTS` (the run's environment, else the process's).
 * Storage origins found in data unit URLs are not trusted by themselves: those URLs are the data
 * an attacker would write, so a storage host must be allowed explicitly.
 */
export function downloadRules(ctx: ToTaskContext): HostRule[] {
  const env = ctx.run.env.has(ALLOWED_HOSTS_ENV)
    ? ctx.run.env.getStr(ALLOWED_HOSTS_ENV)
    : process.env[ALLOWED_HOSTS_ENV];
  return [
    originRule(ctx.client.baseUrl),
    ...parseHostRules(ctx.params.allowed_hosts ?? [], 'allowed_hosts'),
    ...parseHostRules(env, ALLOWED_HOSTS_ENV),
  ];
}

/** Step 3: the target specification exists (file) or the pre-processor is running (inference, D7). */
export class MethodValidationStep extends BaseStep<ToTaskContext> {
  constructor(readonly options: InferenceOptions = {}) {
    super();
  }

  get name() {
    return 'method_validation';
  }

  get progressWeight() {
    return 0.1; // may deploy the pre-processor and wait for it
  }

  async execute(ctx: ToTaskContext): Promise<StepResult> {
    if (ctx.annotationMethod === 'inference') {
      await ensurePreProcessorReady(ctx, this.options);
      return new StepResult();
    }
    const name = ctx.params.target_specification_name;
    if (!name) {
      ctx.logCode('TARGET_SPEC_REQUIRED');
      throw fail('Target specification name is required for file annotation method');
    }
    if (!ctx.dataCollection) throw fail('Data collection not available for validation');
    const specs: unknown = ctx.dataCollection.file_specifications;
    const names = Array.isArray(specs) ? specs.map((s) => (isObject(s) ? s.name : undefined)) : [];
    if (!names.includes(name)) {
      ctx.logCode('TARGET_SPEC_NOT_FOUND', [name]);
      throw fail(
        `Target specification not found: '${name}' is not in the data collection's file specifications`,
      );
    }
    try {
      ctx.downloadRules = downloadRules(ctx);
    } catch (err) {
      if (!(err instanceof AllowedHostError)) throw err;
      ctx.logCode('ALLOWED_HOSTS_INVALID', [err.message]);
      throw fail(`Invalid allowed hosts: ${err.message}`, err);
    }
    return new StepResult({ data: { target_specification_name: name } });
  }
}

/** A positive integer `limit` caps the number of tasks (D12); any `limit` is removed from the query. */
function splitLimit(taskFilters: Record<string, unknown>): [Record<string, unknown>, number | null] {
  const { limit, ...filters } = taskFilters;
  const cap = typeof limit === 'number' && Number.isInteger(limit) && limit > 0 ? limit : null;
  return [filters, cap];
}

/** Step 4: the ids of the tasks matching `task_filters`. */
export class TaskValidationStep extends BaseStep<ToTaskContext> {
  get name() {
    return 'task_validation';
  }

  get progressWeight() {
    return 0.05;
  }

  async execute(ctx: ToTaskContext): Promise<StepResult> {
    const [filters, cap] = splitLimit(ctx.params.task_filters);
    const ids: number[] = [];
    try {
      const query = { project: ctx.params.project, fields: 'id', ...filters };
      const tasks = await ctx.client.listTasks(query as never, { listAll: true });
      for await (const task of tasks as AsyncIterable<unknown>) {
        if (cap !== null && ids.length >= cap) break;
        const id = isObject(task) ? task.id : undefined;
        if (Number.isInteger(id)) ids.push(id);
      }
    } catch (err) {
      throw fail(`Task validation failed: ${errorMessage(err)}`, err);
    }
    if (ids.length === 0) {
      ctx.logCode('NO_TASKS_FOUND');
      throw fail('No tasks found matching filters');
    }
    ctx.taskIds = ids;
    return new StepResult({ data: { task_count: ids.length } });
  }

  override rollback(ctx: ToTaskContext): void {
    ctx.taskIds = [];
  }
}

/** Publishes the metrics; a logger problem is logged under `code` and never stops the run. */
function publishMetrics(ctx: ToTaskContext, code = 'METRICS_UPDATE_FAILED'): void {
  try {
    ctx.run.setMetrics({ ...ctx.metrics }, CATEGORY);
  } catch (err) {
    ctx.logCode(code, [errorMessage(err)]);
  }
}

function publishProgress(ctx: ToTaskContext, current: number, total: number): void {
  try {
    ctx.run.setProgress(current, total, CATEGORY);
  } catch (err) {
    ctx.logCode('PROGRESS_UPDATE_FAILED', [errorMessage(err)]);
  }
}

/** Step 5: metrics and progress at 0. */
export class ProcessingInitializationStep extends BaseStep<ToTaskContext> {
  get name() {
    return 'processing_initialization';
  }

  get progressWeight() {
    return 0.01;
  }

  execute(ctx: ToTaskContext): StepResult {
    const total = ctx.taskIds.length;
    ctx.updateMetrics(0, 0, total);
    ctx.failures = [];
    publishMetrics(ctx, 'METRICS_RECORDING_FAILED');
    publishProgress(ctx, 0, total);
    ctx.logCode('ANNOTATING_DATA');
    return new StepResult({ data: { total } });
  }

  override rollback(ctx: ToTaskContext): void {
    ctx.metrics = { total: 0, success: 0, failed: 0, stand_by: 0 };
  }
}

export interface TaskProcessingOptions {
  converter: () => ToTaskConverter;
  /** An extra event per failed task (`add_task_data_task_failed` for the alias). */
  failedTaskEvent?: string;
  inference?: InferenceOptions;
}

/**
 * Step 6: every task, as many at a time as an adaptive limit allows (at most `concurrency` when
 * given); counters, progress and failures stay exact.
 */
export class TaskProcessingStep extends BaseStep<ToTaskContext> {
  constructor(readonly options: TaskProcessingOptions) {
    super();
  }

  get name() {
    return 'task_processing';
  }

  get progressWeight() {
    return 0.75; // nearly all the work: one unit per task
  }

  async processTask(ctx: ToTaskContext, taskId: number): Promise<TaskOutcome> {
    const task: unknown = await ctx.client.getTask(taskId, {
      params: { fields: 'id,data,data_unit', expand: 'data_unit' },
    });
    if (!isObject(task)) {
      logTaskEvent(ctx, 'INVALID_TASK_RESPONSE', [taskId]);
      return { ok: false, error: `Invalid task response received for task ${taskId}` };
    }
    const converter = this.options.converter();
    if (ctx.annotationMethod === 'inference')
      return annotateFromInference(ctx, task, converter, this.options.inference);
    return annotateFromFile(ctx, task, converter);
  }

  async execute(ctx: ToTaskContext): Promise<StepResult> {
    const ids = ctx.taskIds;
    const total = ids.length;
    const failures: Array<{ index: number; task_id: number; error: string }> = [];
    let success = 0;
    let failed = 0;
    let next = 0;
    let critical: { error: unknown; unreachable: boolean } | null = null;
    // Consecutive tasks that failed because the backend could not be reached; any other outcome
    // (a success, or a failure the backend answered) proves it is there and resets the count.
    let connectionFailures = 0;
    let lastConnectionError = '';
    const maxConnectionFailures = ctx.params.max_connection_failures ?? DEFAULT_MAX_CONNECTION_FAILURES;

    // One limit per run: it finds how many tasks at once the platform serves best (see
    // AdaptiveLimit), and the run's requests tell it of every overload answer, retried ones too.
    const cap = Math.min(ctx.params.concurrency ?? MAX_CONCURRENCY, total);
    const limit = new AdaptiveLimit({ max: cap, initial: DEFAULT_CONCURRENCY });
    ctx.taskClient = ctx.run.client?.reportingLoad(limit.overloaded) ?? null;
    ctx.downloadPool = new DownloadPool();

    // A stop lets the tasks in flight finish and starts no new one: the pool drains.
    const stopped = () => ctx.signal.aborted;
    const more = () => critical === null && !stopped() && next < ids.length;
    const worker = async () => {
      while (more()) {
        await limit.acquire();
        if (!more()) {
          limit.release();
          return;
        }
        const index = next++;
        const taskId = ids[index]!;
        const started = performance.now();
        let outcome: TaskOutcome;
        try {
          outcome = await this.processTask(ctx, taskId);
        } catch (err) {
          if (err instanceof CriticalError) {
            limit.release();
            critical ??= { error: err, unreachable: false };
            return;
          }
          const message = redactText(errorMessage(err));
          logTaskEvent(ctx, 'TASK_PROCESSING_FAILED', [taskId, message]);
          outcome = { ok: false, error: message, cause: err };
        }
        limit.release(
          performance.now() - started,
          outcome.ok ? 'ok' : isOverload(outcome.cause) ? 'overload' : 'error',
        );
        if (outcome.ok) {
          success += 1;
          recordTaskSuccess(ctx, taskId);
        } else {
          failed += 1;
          const error = redactText(outcome.error);
          recordTaskFailure(ctx, taskId, error, this.options.failedTaskEvent);
          failures.push({ index, task_id: taskId, error });
        }
        if (!outcome.ok && isBackendConnectionFailure(outcome.cause)) {
          connectionFailures += 1;
          lastConnectionError = redactText(errorMessage(outcome.cause));
          if (connectionFailures >= maxConnectionFailures) {
            critical ??= { error: outcome.cause, unreachable: true };
          }
        } else {
          connectionFailures = 0;
        }
        ctx.updateMetrics(success, failed, total);
        publishProgress(ctx, success + failed, total);
        publishMetrics(ctx);
      }
    };

    try {
      await Promise.all(Array.from({ length: cap }, worker));
    } finally {
      ctx.taskClient = null;
      ctx.downloadPool.close();
      ctx.downloadPool = null;
    }
    failures.sort((a, b) => a.index - b.index);
    ctx.failures = failures.map(({ task_id, error }) => ({ task_id, error }));
    if (critical !== null) {
      const { error, unreachable } = critical as { error: unknown; unreachable: boolean };
      if (unreachable) {
        ctx.logCode('BACKEND_UNREACHABLE', [maxConnectionFailures, lastConnectionError]);
        ctx.logCode('CRITICAL_ERROR');
        throw fail(
          `Critical error occurred during task processing: the backend is unreachable ` +
            `(${maxConnectionFailures} consecutive connection failures, last: ${lastConnectionError})`,
          error,
        );
      }
      ctx.logCode('CRITICAL_ERROR');
      throw fail('Critical error occurred during task processing', error);
    }
    if (next < ids.length && stopped()) {
      // The counters were published after each task; the untouched tasks are `stand_by`.
      throw new RunStoppedError(
        `The run was stopped after ${success + failed} of ${total} tasks`,
        { success, failed, not_processed: total - success - failed },
        { cause: ctx.signal.reason },
      );
    }
    return new StepResult({ data: { success, failed } });
  }

  override async rollback(ctx: ToTaskContext): Promise<void> {
    for (const path of ctx.tempFiles) await rm(path, { force: true, recursive: true });
    ctx.tempFiles = [];
  }
}

/** Step 7: the completion log and the final progress and metrics. */
export class FinalizationStep extends BaseStep<ToTaskContext> {
  get name() {
    return 'finalization';
  }

  get progressWeight() {
    return 0.03;
  }

  execute(ctx: ToTaskContext): StepResult {
    const { success, failed, total } = ctx.metrics;
    ctx.logCode('ANNOTATION_COMPLETED', [success, failed]);
    try {
      if (success > 0) ctx.run.setProgress(total, total, CATEGORY);
      else ctx.run.setProgressFailed(CATEGORY);
    } catch (err) {
      ctx.logCode('PROGRESS_UPDATE_FAILED', [errorMessage(err)]);
    }
    publishMetrics(ctx, 'METRICS_FINALIZATION_FAILED');
    return new StepResult({ data: { success, failed, total } });
  }
}
