/**
 * Orchestrator (plugins.md §8.4): runs a workflow's steps in order with weighted progress; on a
 * failure it rolls back every step that ran, the failed one included, newest first (README D31),
 * then the context's rollback actions, newest first. A stop (the run's `AbortSignal`) ends the
 * workflow between steps the same way, with a `RunStoppedError` instead of a failure.
 */
import { isRunStopped, RunStoppedError, RuntimeError } from '../errors.ts';
import { declareProportions } from '../logging/job.ts';
import type { BaseStep, BaseStepContext } from './base.ts';
import type { StepRegistry } from './registry.ts';
import { StepResult } from './result.ts';

export type ProgressCallback = (current: number, total: number) => void;

/**
 * Observers of a workflow, for actions that report each step (log codes, messages).
 * `onStepStart` runs as part of the step (what it throws fails the step); the others must not throw.
 */
export interface StepHooks<C extends BaseStepContext = BaseStepContext> {
  onStepStart?(step: BaseStep<C>, context: C): void | Promise<void>;
  onStepComplete?(step: BaseStep<C>, result: StepResult, context: C): void | Promise<void>;
  /** The step failed (`error` is what it threw, else its result's error); called before the rollback. */
  onStepFailed?(step: BaseStep<C>, error: unknown, context: C): void | Promise<void>;
  /** The run was stopped before or during `step`; called before the rollback. */
  onStopped?(step: BaseStep<C>, context: C): void | Promise<void>;
  /** A rollback threw: `step` is null for one of the context's rollback actions. */
  onRollbackError?(error: unknown, step: BaseStep<C> | null, context: C): void;
}

export interface OrchestratorOptions<C extends BaseStepContext = BaseStepContext> {
  /** Overall progress 0..100 by the steps' `progressWeight`, after each step. */
  onProgress?: ProgressCallback;
  hooks?: StepHooks<C>;
  /** Stops the workflow between steps; default `context.signal`. */
  signal?: AbortSignal;
}

export interface OrchestratorResult {
  success: true;
  steps_executed: number;
  steps_total: number;
}

/** The error a failed step ends the workflow with: `cause` is what the step threw. */
export class StepFailedError extends RuntimeError {
  constructor(
    readonly step: string,
    error: string,
    options?: { cause?: unknown },
  ) {
    super(`Step '${step}' failed: ${error}`, options);
  }
}

interface Outcome {
  result: StepResult;
  /** False when `canSkip` let the step be skipped. */
  ran: boolean;
  /** What the step threw, kept as the `cause` of the workflow's error. */
  thrown?: unknown;
}

export class Orchestrator<C extends BaseStepContext = BaseStepContext> {
  readonly #registry: StepRegistry<C>;
  readonly #context: C;
  readonly #options: OrchestratorOptions<C>;

  /** The third argument is the options, or (as before) just the progress callback. */
  constructor(registry: StepRegistry<C>, context: C, options?: OrchestratorOptions<C> | ProgressCallback) {
    this.#registry = registry;
    this.#context = context;
    this.#options = typeof options === 'function' ? { onProgress: options } : (options ?? {});
  }

  async execute(): Promise<OrchestratorResult> {
    const context = this.#context;
    const hooks = this.#options.hooks ?? {};
    const signal = this.#options.signal ?? context.signal;
    this.#declareProportions();
    const totalWeight = this.#registry.totalWeight;
    const executed: Array<[BaseStep<C>, StepResult]> = [];
    let completed = 0;
    try {
      for (const step of this.#registry.getSteps()) {
        context.currentStep = step.name;
        if (signal.aborted) {
          await hooks.onStopped?.(step, context);
          await this.#rollback(executed);
          throw stopError(signal, step.name);
        }
        const outcome = await this.#run(step, hooks);
        context.stepResults.push(outcome.result);
        if (outcome.ran) executed.push([step, outcome.result]);
        if (!outcome.result.success) {
          // A step that gave up because of the stop is stopped, not failed.
          if (signal.aborted || isRunStopped(outcome.thrown)) {
            await hooks.onStopped?.(step, context);
            await this.#rollback(executed);
            throw isRunStopped(outcome.thrown) ? outcome.thrown : stopError(signal, step.name);
          }
          const error = outcome.result.error ?? 'unknown error';
          await hooks.onStepFailed?.(step, outcome.thrown ?? error, context);
          await this.#rollback(executed);
          throw new StepFailedError(step.name, error, { cause: outcome.thrown });
        }
        await hooks.onStepComplete?.(step, outcome.result, context);
        completed += step.progressWeight;
        if (totalWeight > 0) this.#options.onProgress?.(Math.trunc((completed / totalWeight) * 100), 100);
      }
      return { success: true, steps_executed: executed.length, steps_total: this.#registry.length };
    } finally {
      context.currentStep = null;
    }
  }

  /** Step proportions become the job's progress weights, unless progress has already started. */
  #declareProportions(): void {
    declareProportions(this.#context.runtimeCtx.logger, this.#registry.getStepProportions());
  }

  /** Skips or executes the step; whatever it throws or wrongly returns becomes a failed result. */
  async #run(step: BaseStep<C>, hooks: StepHooks<C>): Promise<Outcome> {
    try {
      if (await step.canSkip(this.#context)) return { result: new StepResult({ skipped: true }), ran: false };
      await hooks.onStepStart?.(step, this.#context);
      const result: unknown = await step.execute(this.#context);
      if (!(result instanceof StepResult)) throw new TypeError(`StepResult expected, got ${typeof result}`);
      return { result, ran: true };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { result: new StepResult({ success: false, error }), ran: true, thrown: err };
    }
  }

  /**
   * Best effort: a rollback that throws is recorded in `context.errors` (and reported to
   * `onRollbackError`) and the rest still run; then the context's rollback actions, newest first.
   */
  async #rollback(executed: Array<[BaseStep<C>, StepResult]>): Promise<void> {
    const context = this.#context;
    const report = this.#options.hooks?.onRollbackError;
    for (const [step, result] of executed.toReversed()) {
      context.currentStep = step.name;
      try {
        await step.rollback(context, result);
      } catch (err) {
        context.errors.push(`Rollback failed for step '${step.name}'`);
        report?.(err, step, context);
      }
    }
    context.currentStep = null;
    for (const action of context.rollbackActions.toReversed()) {
      try {
        await action();
      } catch (err) {
        context.errors.push('Rollback action failed');
        report?.(err, null, context);
      }
    }
  }
}

function stopError(signal: AbortSignal, step: string): RunStoppedError {
  return new RunStoppedError(`The run was stopped at step '${step}'`, { step }, { cause: signal.reason });
}
