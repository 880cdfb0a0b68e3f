/** Ready-made steps (plugins.md §8.4): logging and timing wrappers, and a validation step. */
import { BaseStep, type BaseStepContext } from './base.ts';
import { StepResult } from './result.ts';

const seconds = (since: number, digits: number) =>
  Number(((performance.now() - since) / 1000).toFixed(digits));

/** Passes everything but `execute` through to the wrapped step. */
abstract class StepWrapper<C extends BaseStepContext> extends BaseStep<C> {
  constructor(protected readonly step: BaseStep<C>) {
    super();
  }

  override get progressWeight(): number {
    return this.step.progressWeight;
  }

  override get progressProportion(): number {
    return this.step.progressProportion;
  }

  override canSkip(ctx: C): boolean | Promise<boolean> {
    return this.step.canSkip(ctx);
  }

  override rollback(ctx: C, result: StepResult): void | Promise<void> {
    return this.step.rollback(ctx, result);
  }
}

/** Logs `step_start`, `step_end` (elapsed seconds, 3 dp) and `step_rollback` events around the step. */
export class LoggingStep<C extends BaseStepContext = BaseStepContext> extends StepWrapper<C> {
  get name(): string {
    return `logged_${this.step.name}`;
  }

  async execute(ctx: C): Promise<StepResult> {
    const step = this.step.name;
    ctx.log('step_start', { step });
    const start = performance.now();
    let result: StepResult | undefined;
    try {
      result = await this.step.execute(ctx);
      return result;
    } finally {
      ctx.log('step_end', {
        step,
        elapsed: seconds(start, 3),
        success: result?.success ?? false,
        skipped: result?.skipped ?? false,
      });
    }
  }

  override async rollback(ctx: C, result: StepResult): Promise<void> {
    ctx.log('step_rollback', { step: this.step.name });
    await this.step.rollback(ctx, result);
  }
}

/** Adds `data.duration_seconds` (6 dp) to the step's result. */
export class TimingStep<C extends BaseStepContext = BaseStepContext> extends StepWrapper<C> {
  get name(): string {
    return `timed_${this.step.name}`;
  }

  async execute(ctx: C): Promise<StepResult> {
    const start = performance.now();
    const result = await this.step.execute(ctx);
    if (result instanceof StepResult) result.data = { ...result.data, duration_seconds: seconds(start, 6) };
    return result;
  }
}

/** `[ok, error?]` from a check of the context. */
export type Validator<C> = (ctx: C) => [ok: boolean, error?: string] | Promise<[ok: boolean, error?: string]>;

/** A step that fails the workflow when its validator says no. */
export class ValidationStep<C extends BaseStepContext = BaseStepContext> extends BaseStep<C> {
  readonly #validator: Validator<C>;
  readonly #name: string;
  readonly #progressWeight: number;

  constructor(validator: Validator<C>, name = 'validate', progressWeight = 0.05) {
    super();
    this.#validator = validator;
    this.#name = name;
    this.#progressWeight = progressWeight;
  }

  get name(): string {
    return this.#name;
  }

  get progressWeight(): number {
    return this.#progressWeight;
  }

  async execute(ctx: C): Promise<StepResult> {
    const [ok, error] = await this.#validator(ctx);
    return ok ? new StepResult() : new StepResult({ success: false, error: error ?? 'Validation failed' });
  }
}
