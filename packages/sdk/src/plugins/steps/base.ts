/**
 * A step of a workflow (plugins.md §8.2) and the context its steps share (§8.3): inside a step,
 * progress and metrics without a category are recorded under the step's name.
 */
import type { MessageContext } from '../enums.ts';
import type { BaseLogger } from '../logging/base.ts';
import type { StepResult } from './result.ts';

/** The parts of the action's `RuntimeContext` (§5) that steps use. */
export interface StepRuntimeContext {
  logger: BaseLogger;
  log(event: string, data?: Record<string, unknown>, file?: string): void;
  logMessage(content: string, context?: MessageContext): void;
  setProgress(current: number, total: number, category?: string): void;
  setMetrics(value: Record<string, unknown>, category?: string): void;
  /** Aborted when the run is asked to stop; long steps check it between units of work. */
  readonly signal?: AbortSignal;
}

export class BaseStepContext {
  readonly runtimeCtx: StepRuntimeContext;
  stepResults: StepResult[] = [];
  errors: string[] = [];
  /** The step being run (set by the orchestrator), or null outside a step. */
  currentStep: string | null = null;
  /**
   * Undo callbacks registered while steps run (e.g. by a converter), run newest first after the
   * steps' own rollbacks when the workflow fails or stops.
   */
  rollbackActions: Array<() => unknown> = [];
  #signal: AbortSignal | undefined;

  constructor(runtimeCtx: StepRuntimeContext) {
    this.runtimeCtx = runtimeCtx;
  }

  /** The run's stop signal (never aborted when the runtime context has none). */
  get signal(): AbortSignal {
    this.#signal ??= this.runtimeCtx.signal ?? new AbortController().signal;
    return this.#signal;
  }

  log(event: string, data: Record<string, unknown> = {}, file?: string): void {
    this.runtimeCtx.log(event, data, file);
  }

  logMessage(content: string, context?: MessageContext): void {
    this.runtimeCtx.logMessage(content, context);
  }

  setProgress(current: number, total: number, category?: string): void {
    this.runtimeCtx.setProgress(current, total, category || this.#stepCategory());
  }

  setMetrics(value: Record<string, unknown>, category?: string): void {
    this.runtimeCtx.setMetrics(value, category || this.#stepCategory());
  }

  #stepCategory(): string {
    if (this.currentStep === null) {
      throw new Error('category must be provided when not executing within a step (currentStep is null)');
    }
    return this.currentStep;
  }
}

export abstract class BaseStep<C extends BaseStepContext = BaseStepContext> {
  /** Unique within the workflow; also the progress/metrics category inside the step. */
  abstract get name(): string;

  /** Relative weight (0..1) of this step within the workflow's progress. */
  abstract get progressWeight(): number;

  /** Share (0..100) of job-wide progress; 0 means not declared. */
  get progressProportion(): number {
    return 0;
  }

  abstract execute(ctx: C): StepResult | Promise<StepResult>;

  canSkip(_ctx: C): boolean | Promise<boolean> {
    return false;
  }

  /** Undoes the step after a failure in the workflow (best effort). */
  rollback(_ctx: C, _result: StepResult): void | Promise<void> {}
}
