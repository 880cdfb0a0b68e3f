/**
 * ToTaskAction (to-task.md §1–§3, §9, §10, §12): annotates a project's tasks from each data unit's
 * JSON file (`file`) or from a pre-processor's inference (`inference`).
 */
import { BaseAction, type SchemaContext } from '../../../plugins/action.ts';
import { RuntimeContext } from '../../../plugins/context.ts';
import type { PluginCategory } from '../../../plugins/enums.ts';
import { isRunStopped } from '../../../plugins/errors.ts';
import { validateParams } from '../../../plugins/params.ts';
import {
  type OrchestratorResult,
  StepFailedError,
  type StepHooks,
  type StepRegistry,
} from '../../../plugins/steps/index.ts';
import { CATEGORY, ToTaskContext, type ToTaskFailure } from './context.ts';
import { DefaultToTaskConverter, type ToTaskConverter } from './converter.ts';
import { errorMessage, PreAnnotationToTaskFailed } from './errors.ts';
import './log-codes.ts';
import { type ToTaskParams, toTaskParamsSchema } from './params.ts';
import {
  FinalizationStep,
  MethodDeterminationStep,
  MethodValidationStep,
  ProcessingInitializationStep,
  ProjectValidationStep,
  TaskProcessingStep,
  TaskValidationStep,
} from './steps.ts';

export const TO_TASK_SUCCESS_MESSAGE = 'Pre-annotation to task completed successfully';

export interface ToTaskOptions {
  preProcessorPollIntervalSeconds?: number;
  preProcessorTimeoutSeconds?: number;
  inferenceTimeoutSeconds?: number;
  /** Timeout of each download of the default file converter (default 30). */
  downloadTimeoutSeconds?: number;
  /** Largest annotation file the default converter accepts, in bytes (default 50 MiB). */
  maxDownloadBytes?: number;
  /** Waits between pre-processor polls; given the run's stop signal, which may end the wait early. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface ToTaskResult {
  status: 'SUCCEEDED';
  message: string;
  total_tasks: number;
  success_count: number;
  failed_count: number;
  failures: ToTaskFailure[];
}

export interface ToTaskInit {
  run: RuntimeContext;
  params: unknown;
  converter?: ToTaskConverter;
  options?: ToTaskOptions;
}

function isInit(value: unknown): value is ToTaskInit {
  return typeof value === 'object' && value !== null && 'run' in value && 'params' in value;
}

export class ToTaskAction extends BaseAction<ToTaskParams, ToTaskResult, ToTaskContext> {
  static override actionName = 'to_task';
  static override category: PluginCategory = 'pre_annotation';
  static override paramsSchema = (v: SchemaContext) => toTaskParamsSchema(v);
  static override progressCategories = { [CATEGORY]: { proportion: 100 } };
  static override metricsCategories = { [CATEGORY]: { total: 0, success: 0, failed: 0, stand_by: 0 } };
  /** A stop ends the run between tasks: the worker pool drains and the counts are kept. */
  static override stoppable = true;

  readonly options: ToTaskOptions;
  /** Extra event emitted per failed task (the `add_task_data` alias sets it). */
  protected failedTaskEvent: string | undefined = undefined;
  #defaults: DefaultToTaskConverter | undefined;
  #converter: ToTaskConverter | undefined;
  #rawParams: unknown;
  #validated: boolean;
  #context: ToTaskContext | null = null;

  /** `new ToTaskAction({run, params, converter?, options?})`, or the framework's `(params, ctx)`. */
  constructor(init: ToTaskInit);
  constructor(params: unknown, ctx: RuntimeContext, options?: ToTaskOptions);
  constructor(a: unknown, b?: RuntimeContext, c?: ToTaskOptions) {
    const seed = b === undefined && isInit(a);
    const run = seed ? (a as ToTaskInit).run : b;
    const params = seed ? (a as ToTaskInit).params : a;
    super(params as ToTaskParams, run as RuntimeContext);
    this.#rawParams = params;
    this.#validated = !seed;
    this.#converter = seed ? (a as ToTaskInit).converter : undefined;
    this.options = (seed ? (a as ToTaskInit).options : c) ?? {};
  }

  /** The context of the current (or last) run. */
  get context(): ToTaskContext | null {
    return this.#context;
  }

  /** The converter: the one given at construction, else this action's (overridable) methods. */
  protected resolveConverter(): ToTaskConverter {
    this.#converter ??= {
      convertDataFromFile: (...args) => this.convertDataFromFile(...args),
      convertDataFromInference: (data, task) => this.convertDataFromInference(data, task),
    };
    return this.#converter;
  }

  /** Override to convert a downloaded file; the default downloads and checks the target JSON. */
  convertDataFromFile(
    primaryUrl: string,
    primaryName: string,
    dataUrl: string,
    dataName: string,
    task: object,
  ): Promise<object> | object {
    this.#defaults ??= new DefaultToTaskConverter(this.options);
    // The run's download rules (backend origin, allowed hosts) live in its context.
    this.#defaults.context = this.#context ?? undefined;
    return this.#defaults.convertDataFromFile(primaryUrl, primaryName, dataUrl, dataName, task);
  }

  /** Override to convert inference output; the default returns it unchanged. */
  convertDataFromInference(data: unknown, _task: object): Promise<object> | object {
    return data as object;
  }

  /** A fresh context per run, kept as `context`. */
  override createContext(): ToTaskContext {
    this.#context = new ToTaskContext(this.ctx, this.params);
    return this.#context;
  }

  /** The seven steps of §3, in order. Subclasses may insert or replace steps. */
  override setupSteps(registry: StepRegistry<ToTaskContext>): void {
    registry.register(new ProjectValidationStep());
    registry.register(new MethodDeterminationStep());
    registry.register(new MethodValidationStep(this.options));
    registry.register(new TaskValidationStep());
    registry.register(new ProcessingInitializationStep());
    registry.register(
      new TaskProcessingStep({
        converter: () => {
          const converter = this.resolveConverter();
          converter.context = this.#context ?? undefined;
          return converter;
        },
        failedTaskEvent: this.failedTaskEvent,
        inference: this.options,
      }),
    );
    registry.register(new FinalizationStep());
  }

  /** The step messages of §3 and the rollback reports of §9, around the Orchestrator's loop. */
  protected override stepHooks(): StepHooks<ToTaskContext> {
    const run = this.ctx;
    return {
      onStepStart: (step) => run.logMessageWithCode('STEP_STARTED', [step.name]),
      onStepComplete: (step, _result, context) => {
        context.stepsCompleted.push(step.name);
        run.logMessageWithCode('STEP_COMPLETED', [step.name]);
      },
      onStepFailed: (step, error) => {
        run.logMessageWithCode('STEP_FAILED', [step.name, errorMessage(error)]);
        try {
          run.setProgressFailed(CATEGORY);
        } catch (progressError) {
          run.logMessageWithCode('PROGRESS_UPDATE_FAILED', [errorMessage(progressError)]);
        }
      },
      // Before the rollback, which resets the in-memory counters.
      onStopped: (step, context) => {
        const { success, failed, stand_by } = context.metrics;
        run.logMessageWithCode('TO_TASK_STOPPED', [step.name, success, failed, stand_by]);
      },
      onRollbackError: (error, step) => {
        if (step) run.logMessageWithCode('ROLLBACK_FAILED', [step.name, errorMessage(error)]);
        else run.logMessageWithCode('ROLLBACK_ACTION_FAILED', [errorMessage(error)]);
      },
    };
  }

  /**
   * ToTask's progress on the wire is per task under `annotate_task_data` (§3 steps 5–7), so the
   * step-weighted progress is not sent; a subclass may report it elsewhere.
   */
  protected override onStepProgress(_current: number, _total: number): void {}

  protected override stepResult(_summary: OrchestratorResult, context: ToTaskContext): ToTaskResult {
    const { total, success, failed } = context.metrics;
    return {
      status: 'SUCCEEDED',
      message: TO_TASK_SUCCESS_MESSAGE,
      total_tasks: total,
      success_count: success,
      failed_count: failed,
      failures: context.failures,
    };
  }

  /** §1: the framework's `run()` and `execute()` are `start()`. */
  override run(): Promise<ToTaskResult> {
    return this.start();
  }

  override execute(): Promise<ToTaskResult> {
    return this.start();
  }

  /** Validates the params unless `dispatch` did, then runs the steps with the messages of §3. */
  async start(): Promise<ToTaskResult> {
    const ctx = this.ctx as RuntimeContext | undefined;
    if (!(ctx instanceof RuntimeContext) || this.#rawParams === undefined || this.#rawParams === null) {
      throw new PreAnnotationToTaskFailed('Run instance or parameters not properly initialized');
    }
    if (!this.#validated) {
      const schema = toTaskParamsSchema({ client: ctx.client });
      (this as { params: ToTaskParams }).params = await validateParams(schema, this.#rawParams);
      this.#validated = true;
    }
    try {
      ctx.logMessageWithCode('TO_TASK_STARTED');
      try {
        const result = await this.#runSteps();
        ctx.logMessageWithCode('TO_TASK_COMPLETED');
        return result;
      } catch (err) {
        // A stop was reported by `onStopped`; the executor ends the job STOPPED.
        if (isRunStopped(err)) throw err;
        if (err instanceof PreAnnotationToTaskFailed) {
          ctx.logMessageWithCode('TO_TASK_FAILED', [err.message]);
          throw err;
        }
        const message = `ToTask action failed: ${errorMessage(err)}`;
        ctx.logMessage(message, 'danger');
        throw new PreAnnotationToTaskFailed(message, {}, { cause: err });
      }
    } finally {
      ctx.endLog();
    }
  }

  /** The Orchestrator's run (BaseAction); a step's own `PreAnnotationToTaskFailed` is the failure (§3). */
  async #runSteps(): Promise<ToTaskResult> {
    try {
      return await super.run();
    } catch (err) {
      if (!(err instanceof StepFailedError)) throw err;
      const cause = err.cause ?? err;
      if (cause instanceof PreAnnotationToTaskFailed) throw cause;
      const completed = this.#context?.stepsCompleted.length ?? 0;
      throw new PreAnnotationToTaskFailed(
        `Workflow failed at step ${completed}: ${errorMessage(cause)}`,
        {},
        { cause },
      );
    }
  }
}

/** The `add_task_data` alias (§12): the same action, plus `add_task_data_task_failed` per failed task. */
export class AddTaskDataAction extends ToTaskAction {
  static override actionName = 'add_task_data';
  protected override failedTaskEvent: string | undefined = 'add_task_data_task_failed';
}
