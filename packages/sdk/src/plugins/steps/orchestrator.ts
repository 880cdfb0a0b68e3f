/**
 * Orchestrator (plugins.md §8.4): runs a workflow's steps in order with weighted progress; on a
 * failure it rolls back every step that ran, the failed one included, newest first (README D31).
 */
import { RuntimeError } from '../errors.ts';
import { declareProportions } from '../logging/job.ts';
import type { BaseStep, BaseStepContext } from './base.ts';
import type { StepRegistry } from './registry.ts';
import { StepResult } from './result.ts';

export type ProgressCallback = (current: number, total: number) => void;

export interface OrchestratorResult {
  success: true;
  steps_executed: number;
  steps_total: number;
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
  readonly #progressCallback: ProgressCallback | undefined;

  constructor(registry: StepRegistry<C>, context: C, progressCallback?: ProgressCallback) {
    this.#registry = registry;
    this.#context = context;
    this.#progressCallback = progressCallback;
  }

  async execute(): Promise<OrchestratorResult> {
    const context = this.#context;
    this.#declareProportions();
    const totalWeight = this.#registry.totalWeight;
    const executed: Array<[BaseStep<C>, StepResult]> = [];
    let completed = 0;
    try {
      for (const step of this.#registry.getSteps()) {
        context.currentStep = step.name;
        const outcome = await this.#run(step);
        context.stepResults.push(outcome.result);
        if (outcome.ran) executed.push([step, outcome.result]);
        if (!outcome.result.success) {
          await this.#rollback(executed);
          const error = outcome.result.error ?? 'unknown error';
          throw new RuntimeError(`Step '${step.name}' failed: ${error}`, { cause: outcome.thrown });
        }
        completed += step.progressWeight;
        if (totalWeight > 0) this.#progressCallback?.(Math.trunc((completed / totalWeight) * 100), 100);
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
  async #run(step: BaseStep<C>): Promise<Outcome> {
    try {
      if (await step.canSkip(this.#context)) return { result: new StepResult({ skipped: true }), ran: false };
      const result: unknown = await step.execute(this.#context);
      if (!(result instanceof StepResult)) throw new TypeError(`StepResult expected, got ${typeof result}`);
      return { result, ran: true };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { result: new StepResult({ success: false, error }), ran: true, thrown: err };
    }
  }

  /** Best effort: a rollback that throws is recorded in `context.errors` and the rest still run. */
  async #rollback(executed: Array<[BaseStep<C>, StepResult]>): Promise<void> {
    for (const [step, result] of executed.toReversed()) {
      this.#context.currentStep = step.name;
      try {
        await step.rollback(this.#context, result);
      } catch {
        this.#context.errors.push(`Rollback failed for step '${step.name}'`);
      }
    }
  }
}
