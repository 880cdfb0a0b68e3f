import { describe, expect, it } from 'vitest';
import { RuntimeContext } from '../../src/plugins/context.ts';
import { RunStoppedError, RuntimeError } from '../../src/plugins/errors.ts';
import { BaseLogger, type LoggerRecord } from '../../src/plugins/logging/index.ts';
import {
  BaseStep,
  BaseStepContext,
  LoggingStep,
  Orchestrator,
  StepFailedError,
  StepRegistry,
  StepResult,
  TimingStep,
  ValidationStep,
} from '../../src/plugins/steps/index.ts';

/** A logger that keeps what it is handed. */
class RecordingLogger extends BaseLogger {
  records: LoggerRecord[] = [];
  protected override write(record: LoggerRecord): void {
    this.records.push(record);
  }

  events(): Array<[string, Record<string, unknown>]> {
    return this.records.flatMap((r) =>
      r.kind === 'log' ? [[r.event, r.data] as [string, Record<string, unknown>]] : [],
    );
  }
}

interface StepOptions {
  weight?: number;
  proportion?: number;
  run?: (ctx: BaseStepContext) => unknown;
  skip?: boolean;
  rollback?: (ctx: BaseStepContext, result: StepResult) => void;
}

/** A step whose behaviour is given inline; `journal` records what ran and what rolled back. */
class Step extends BaseStep {
  constructor(
    readonly id: string,
    readonly journal: string[],
    readonly opts: StepOptions = {},
  ) {
    super();
  }
  get name() {
    return this.id;
  }
  get progressWeight() {
    return this.opts.weight ?? 0.1;
  }
  override get progressProportion() {
    return this.opts.proportion ?? 0;
  }
  execute(ctx: BaseStepContext): StepResult {
    this.journal.push(`run ${this.id}`);
    return (this.opts.run ? this.opts.run(ctx) : new StepResult({ data: { id: this.id } })) as StepResult;
  }
  override canSkip() {
    return this.opts.skip ?? false;
  }
  override rollback(ctx: BaseStepContext, result: StepResult) {
    this.journal.push(`rollback ${this.id}`);
    this.opts.rollback?.(ctx, result);
  }
}

function setup() {
  const logger = new RecordingLogger();
  const context = new BaseStepContext(new RuntimeContext({ logger }));
  const journal: string[] = [];
  const registry = new StepRegistry();
  const progress: Array<[number, number]> = [];
  const orchestrator = new Orchestrator(registry, context, (c, t) => progress.push([c, t]));
  return { logger, context, journal, registry, progress, orchestrator };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: Error) => e,
  );
}

describe('StepRegistry', () => {
  it('registers, inserts, unregisters and reports weights and proportions', () => {
    const journal: string[] = [];
    const registry = new StepRegistry();
    expect(registry.hasSteps()).toBe(false);
    registry.register(new Step('a', journal, { weight: 0.2, proportion: 20 }));
    registry.register(new Step('c', journal, { weight: 0.3 }));
    registry.insertAfter('a', new Step('b', journal, { weight: 0.4, proportion: 50 }));
    registry.insertBefore('a', new Step('start', journal, { weight: 0.1 }));
    expect(registry.getSteps().map((s) => s.name)).toEqual(['start', 'a', 'b', 'c']);
    expect(registry.length).toBe(4);
    expect(registry.totalWeight).toBeCloseTo(1.0);
    expect(registry.getStepProportions()).toEqual({ a: 20, b: 50 });

    registry.unregister('b');
    registry.unregister('absent');
    expect(registry.getSteps().map((s) => s.name)).toEqual(['start', 'a', 'c']);
    registry.getSteps().pop();
    expect(registry.length).toBe(3);
    expect(() => registry.insertAfter('zzz', new Step('x', journal))).toThrow(
      new Error("Step 'zzz' not found"),
    );
    expect(() => registry.insertBefore('b', new Step('x', journal))).toThrow("Step 'b' not found");
  });
});

describe('BaseStepContext', () => {
  it('records progress and metrics under the current step unless a category is given', () => {
    const { logger, context } = setup();
    expect(() => context.setProgress(1, 2)).toThrow(
      new Error('category must be provided when not executing within a step (currentStep is null)'),
    );
    expect(() => context.setMetrics({ a: 1 })).toThrow('category must be provided when not executing');
    context.setProgress(1, 2, 'explicit');
    context.currentStep = 'load';
    context.setProgress(1, 4);
    context.setMetrics({ files: 3 });
    context.setMetrics({ other: 1 }, 'elsewhere');
    context.log('loaded', { n: 3 });
    context.logMessage('Loaded.', 'success');
    expect(Object.keys(logger.getProgress()!.record.steps)).toEqual(['explicit', 'load']);
    expect(logger.getMetrics().record.steps).toEqual({ load: { files: 3 }, elsewhere: { other: 1 } });
    expect(logger.events()).toEqual([
      ['loaded', { n: 3 }],
      ['message', { context: 'success', content: 'Loaded.' }],
    ]);
  });
});

describe('Orchestrator', () => {
  it('runs the steps in order with weighted progress and returns the summary', async () => {
    const { context, journal, registry, progress, orchestrator, logger } = setup();
    const seen: Array<string | null> = [];
    registry.register(new Step('a', journal, { weight: 0.2 }));
    registry.register(new Step('b', journal, { weight: 0.3, skip: true }));
    registry.register(
      new Step('c', journal, {
        weight: 0.5,
        run: (ctx) => {
          seen.push(ctx.currentStep);
          ctx.setProgress(1, 2);
          return new StepResult();
        },
      }),
    );
    expect(await orchestrator.execute()).toEqual({ success: true, steps_executed: 2, steps_total: 3 });
    expect(journal).toEqual(['run a', 'run c']);
    expect(progress).toEqual([
      [20, 100],
      [50, 100],
      [100, 100],
    ]);
    expect(seen).toEqual(['c']);
    expect(logger.getProgress()!.record.steps.c.percent).toBe(50);
    expect(context.stepResults.map((r) => [r.success, r.skipped])).toEqual([
      [true, false],
      [true, true],
      [true, false],
    ]);
    expect(context.currentStep).toBeNull();
  });

  it('truncates progress to whole percents and reports none when every weight is 0', async () => {
    const weighted = setup();
    for (const id of ['a', 'b', 'c'])
      weighted.registry.register(new Step(id, weighted.journal, { weight: 1 }));
    await weighted.orchestrator.execute();
    expect(weighted.progress).toEqual([
      [33, 100],
      [66, 100],
      [100, 100],
    ]);

    const weightless = setup();
    weightless.registry.register(new Step('a', weightless.journal, { weight: 0 }));
    await weightless.orchestrator.execute();
    expect(weightless.progress).toEqual([]);
  });

  it('rolls back every executed step, the failed one included, newest first', async () => {
    const { context, journal, registry, progress, orchestrator } = setup();
    const cause = new Error('disk full');
    registry.register(new Step('a', journal, { weight: 0.5 }));
    registry.register(new Step('skipped', journal, { skip: true }));
    registry.register(new Step('b', journal, { weight: 0.5 }));
    registry.register(
      new Step('c', journal, {
        run: () => {
          throw cause;
        },
      }),
    );
    registry.register(new Step('d', journal));
    const err = await failure(orchestrator.execute());
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe("Step 'c' failed: disk full");
    expect(err.cause).toBe(cause);
    expect(journal).toEqual(['run a', 'run b', 'run c', 'rollback c', 'rollback b', 'rollback a']);
    expect(progress.length).toBe(3);
    expect(context.stepResults.at(-1)).toMatchObject({ success: false, error: 'disk full' });
    expect(context.currentStep).toBeNull();
    expect(context.errors).toEqual([]);
  });

  it('passes each step its own result when rolling back, and keeps going past a failing rollback', async () => {
    const { context, journal, registry, orchestrator } = setup();
    const rolledBack: Array<[string | null, unknown]> = [];
    const keep = (ctx: BaseStepContext, result: StepResult) =>
      rolledBack.push([ctx.currentStep, result.rollbackData]);
    registry.register(
      new Step('a', journal, {
        run: () => new StepResult({ rollbackData: { temp: '/tmp/a' } }),
        rollback: keep,
      }),
    );
    registry.register(
      new Step('b', journal, {
        rollback: () => {
          throw new Error('cannot undo');
        },
      }),
    );
    registry.register(
      new Step('c', journal, { run: () => new StepResult({ success: false, error: 'bad input' }) }),
    );
    const err = await failure(orchestrator.execute());
    expect(err.message).toBe("Step 'c' failed: bad input");
    expect(journal).toEqual(['run a', 'run b', 'run c', 'rollback c', 'rollback b', 'rollback a']);
    expect(context.errors).toEqual(["Rollback failed for step 'b'"]);
    expect(rolledBack).toEqual([['a', { temp: '/tmp/a' }]]);
  });

  it('fails a step that does not return a StepResult', async () => {
    for (const [value, type] of [
      [{ success: true }, 'object'],
      [undefined, 'undefined'],
      ['ok', 'string'],
    ] as const) {
      const { journal, registry, orchestrator } = setup();
      registry.register(new Step('odd', journal, { run: () => value }));
      const err = await failure(orchestrator.execute());
      expect(err.message).toBe(`Step 'odd' failed: StepResult expected, got ${type}`);
      expect(err.cause).toBeInstanceOf(TypeError);
      expect(journal).toEqual(['run odd', 'rollback odd']);
    }
  });
});

describe('step wrappers', () => {
  it('LoggingStep logs start, end and rollback around the wrapped step', async () => {
    const { logger, journal, registry, orchestrator } = setup();
    const inner = new Step('load', journal, { weight: 0.7, proportion: 30 });
    const logged = new LoggingStep(inner);
    expect([logged.name, logged.progressWeight, logged.progressProportion]).toEqual(['logged_load', 0.7, 30]);
    registry.register(logged);
    registry.register(
      new Step('fail', journal, { run: () => new StepResult({ success: false, error: 'x' }) }),
    );
    await failure(orchestrator.execute());
    const events = logger.events();
    expect(events.map(([event]) => event)).toEqual(['step_start', 'step_end', 'step_rollback']);
    expect(events[0][1]).toEqual({ step: 'load' });
    expect(events[1][1]).toEqual({
      step: 'load',
      elapsed: expect.any(Number),
      success: true,
      skipped: false,
    });
    expect(String(events[1][1].elapsed)).toMatch(/^\d+(\.\d{1,3})?$/);
    expect(events[2][1]).toEqual({ step: 'load' });
    expect(journal).toEqual(['run load', 'run fail', 'rollback fail', 'rollback load']);
  });

  it('LoggingStep logs the end of a step that throws', async () => {
    const { logger, journal } = setup();
    const logged = new LoggingStep(
      new Step('boom', journal, {
        run: () => {
          throw new Error('boom');
        },
      }),
    );
    const context = new BaseStepContext(new RuntimeContext({ logger }));
    await expect(logged.execute(context)).rejects.toThrow('boom');
    expect(logger.events()[1]).toEqual([
      'step_end',
      { step: 'boom', elapsed: expect.any(Number), success: false, skipped: false },
    ]);
  });

  it('TimingStep adds the duration to the result data', async () => {
    const { journal, registry, orchestrator, context } = setup();
    const timed = new TimingStep(
      new Step('work', journal, {
        run: () => {
          const until = Date.now() + 5;
          while (Date.now() < until);
          return new StepResult({ data: { files: 2 } });
        },
      }),
    );
    expect(timed.name).toBe('timed_work');
    registry.register(timed);
    await orchestrator.execute();
    const { data } = context.stepResults[0];
    expect(data.files).toBe(2);
    expect(data.duration_seconds).toBeGreaterThanOrEqual(0.004);
    expect(String(data.duration_seconds)).toMatch(/^\d+(\.\d{1,6})?$/);
  });

  it('ValidationStep passes or fails the workflow with the validator message', async () => {
    const ok = new ValidationStep(() => [true]);
    expect([ok.name, ok.progressWeight]).toEqual(['validate', 0.05]);
    const passing = setup();
    passing.registry.register(ok);
    expect(await passing.orchestrator.execute()).toMatchObject({ success: true, steps_executed: 1 });

    const failing = setup();
    failing.registry.register(
      new ValidationStep(async (ctx) => [ctx.errors.length > 0, 'No files to upload'], 'check', 0.2),
    );
    const err = await failure(failing.orchestrator.execute());
    expect(err.message).toBe("Step 'check' failed: No files to upload");
  });
});

describe('Orchestrator: hooks, rollback actions and stops (#13 items 5, 9)', () => {
  /** The hooks write into the journal, so their order against the steps shows. */
  const hooks = (journal: string[]) => ({
    onStepStart: (step: BaseStep) => void journal.push(`start ${step.name}`),
    onStepComplete: (step: BaseStep) => void journal.push(`done ${step.name}`),
    onStepFailed: (step: BaseStep, error: unknown) => void journal.push(`failed ${step.name}: ${error}`),
    onStopped: (step: BaseStep) => void journal.push(`stopped at ${step.name}`),
    onRollbackError: (error: unknown, step: BaseStep | null) =>
      void journal.push(`rollback error ${step?.name ?? 'action'}: ${(error as Error).message}`),
  });

  it('reports each step, then on a failure the rollbacks and the rollback actions, newest first', async () => {
    const journal: string[] = [];
    const context = new BaseStepContext(new RuntimeContext());
    const registry = new StepRegistry();
    const boom = new Error('boom');
    registry.register(
      new Step('a', journal, {
        run: (ctx) => {
          ctx.rollbackActions.push(() => journal.push('undo 1'));
          ctx.rollbackActions.push(() => {
            throw new Error('undo 2 broke');
          });
          return new StepResult();
        },
        rollback: () => {
          throw new Error('a broke');
        },
      }),
    );
    registry.register(
      new Step('b', journal, {
        run: () => {
          throw boom;
        },
      }),
    );
    registry.register(new Step('c', journal));
    const err = await failure(new Orchestrator(registry, context, { hooks: hooks(journal) }).execute());
    expect(err).toBeInstanceOf(StepFailedError);
    expect([err.message, err.cause, (err as StepFailedError).step]).toEqual([
      "Step 'b' failed: boom",
      boom,
      'b',
    ]);
    expect(journal).toEqual([
      'start a',
      'run a',
      'done a',
      'start b',
      'run b',
      'failed b: Error: boom',
      'rollback b',
      'rollback a',
      'rollback error a: a broke',
      'rollback error action: undo 2 broke',
      'undo 1',
    ]);
    expect(context.errors).toEqual(["Rollback failed for step 'a'", 'Rollback action failed']);
  });

  it('stops between steps when the signal aborts: no further step runs, the ones that ran roll back', async () => {
    const journal: string[] = [];
    const stop = new AbortController();
    const context = new BaseStepContext(new RuntimeContext({ signal: stop.signal }));
    const registry = new StepRegistry();
    const progress: number[] = [];
    registry.register(new Step('a', journal, { weight: 0.25 }));
    registry.register(
      new Step('b', journal, {
        weight: 0.25,
        run: () => {
          stop.abort(new Error('user pressed stop'));
          return new StepResult();
        },
      }),
    );
    registry.register(new Step('c', journal, { weight: 0.5 }));
    const orchestrator = new Orchestrator(registry, context, {
      hooks: hooks(journal),
      onProgress: (current) => progress.push(current),
    });
    const err = await failure(orchestrator.execute());
    expect(err).toBeInstanceOf(RunStoppedError);
    expect(err.message).toBe("The run was stopped at step 'c'");
    expect(err.cause).toEqual(new Error('user pressed stop'));
    expect(journal).toEqual([
      'start a',
      'run a',
      'done a',
      'start b',
      'run b',
      'done b',
      'stopped at c',
      'rollback b',
      'rollback a',
    ]);
    expect(progress).toEqual([25, 50]);
  });

  it('a step that ends with a RunStoppedError is stopped, not failed', async () => {
    const journal: string[] = [];
    const context = new BaseStepContext(new RuntimeContext());
    const registry = new StepRegistry();
    const stopped = new RunStoppedError('stopped after 3 of 9 items');
    registry.register(
      new Step('a', journal, {
        run: () => {
          throw stopped;
        },
      }),
    );
    const err = await failure(new Orchestrator(registry, context, { hooks: hooks(journal) }).execute());
    expect(err).toBe(stopped);
    expect(journal).toEqual(['start a', 'run a', 'stopped at a', 'rollback a']);
  });
});
