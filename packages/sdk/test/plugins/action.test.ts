import { describe, expect, it } from 'vitest';
import {
  BaseAction,
  BaseStep,
  ConsoleLogger,
  defineAction,
  dispatchAction,
  PluginValidationError,
  RuntimeContext,
  RuntimeError,
  StepResult,
  z,
} from '../../src/index.ts';

/** A console logger writing into an array, to read what a person would see. */
function capture() {
  const lines: string[] = [];
  const stream = { write: (s: string) => lines.push(...s.split('\n').filter(Boolean)), isTTY: false };
  return { lines, ctx: new RuntimeContext({ logger: new ConsoleLogger({ stream: stream as any }) }) };
}

const Params = z.object({
  name: z.string(),
  epochs: z.number().int().min(1).default(3),
  options: z.object({ lr: z.number() }),
  tags: z.array(z.string()).optional(),
});

class Train extends BaseAction<z.infer<typeof Params>> {
  static override actionName = 'train';
  static override paramsSchema = Params;
  static override resultSchema = z.object({ epochs: z.number() }).describe('TrainResult');

  override execute() {
    return { epochs: this.params.epochs };
  }
}

describe('BaseAction.dispatch', () => {
  it('validates params with defaults and runs execute', async () => {
    const { ctx } = capture();
    expect(await Train.dispatch({ name: 'a', options: { lr: 0.1 } }, ctx)).toEqual({ epochs: 3 });
    expect(ctx.actionName).toBe('train');
  });

  it('lists every invalid field in one error, in the platform wording', async () => {
    const err: any = await Train.dispatch(
      { epochs: 'x', options: { lr: 'fast' }, tags: [1] },
      capture().ctx,
    ).catch((e: any) => e);
    expect(err).toBeInstanceOf(PluginValidationError);
    expect(err.message).toBe(
      'Parameter validation failed: name: Field required; epochs: Input should be a valid number; ' +
        'options.lr: Input should be a valid number; tags.0: Input should be a valid string',
    );
    expect(err.details.params).toEqual({
      name: ['Field required'],
      epochs: ['Input should be a valid number'],
      'options.lr': ['Input should be a valid number'],
      'tags.0': ['Input should be a valid string'],
    });
  });

  it('reports refinement messages and whole-object errors under non_field_errors', async () => {
    const schema = z.object({ a: z.number(), b: z.number() }).refine((v) => v.a < v.b, 'a must be below b');
    class Range extends BaseAction {
      static override paramsSchema = schema;
      override execute() {
        return 'ok';
      }
    }
    const err: any = await Range.dispatch({ a: 2, b: 1 }, capture().ctx).catch((e: any) => e);
    expect(err.message).toBe('Parameter validation failed: non_field_errors: a must be below b');
  });

  it('builds a schema from the validation context when paramsSchema is a function', async () => {
    class Needs extends BaseAction<{ project: number }> {
      static override paramsSchema = ({ client }: { client: unknown }) =>
        z.object({ project: z.number().refine(() => client !== null, 'No backend to check the project') });
      override execute() {
        return this.params.project;
      }
    }
    const err: any = await Needs.dispatch({ project: 1 }, capture().ctx).catch((e: any) => e);
    expect(err.message).toBe('Parameter validation failed: project: No backend to check the project');
  });

  it('warns, without failing, when the result does not match resultSchema', async () => {
    class Bad extends BaseAction {
      static override resultSchema = z.object({ epochs: z.number() }).describe('TrainResult');
      override execute() {
        return { epochs: 'many' };
      }
    }
    class Scalar extends BaseAction {
      static override resultSchema = z.object({ epochs: z.number() }).describe('TrainResult');
      override execute() {
        return 5;
      }
    }
    const { lines, ctx } = capture();
    expect(await Bad.dispatch({}, ctx)).toEqual({ epochs: 'many' });
    expect(await Scalar.dispatch({}, ctx)).toBe(5);
    expect(lines[0]).toMatch(/^WARNING: Result validation warning for TrainResult: /);
    expect(lines[1]).toBe('WARNING: Result type mismatch: expected TrainResult or dict, got number');
  });

  it('says how to provide a backend client when an action needs one', async () => {
    class Online extends BaseAction {
      override execute() {
        return this.client.listModels();
      }
    }
    const err: any = await Online.dispatch({}, capture().ctx).catch((e: any) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe('No backend client in context. Provide one via RuntimeContext.');
  });
});

describe('step-based actions', () => {
  const order: string[] = [];
  class Step extends BaseStep {
    constructor(
      private readonly id: string,
      private readonly fail = false,
    ) {
      super();
    }
    get name() {
      return this.id;
    }
    get progressWeight() {
      return 0.5;
    }
    execute() {
      order.push(`run ${this.id}`);
      if (this.fail) throw new Error('disk full');
      return new StepResult({ data: { id: this.id } });
    }
    override rollback() {
      order.push(`undo ${this.id}`);
    }
  }

  it('runs the registered steps with weighted progress and merges the extras', async () => {
    class Pipeline extends BaseAction {
      protected override stepProgressCategory = 'overall';
      override setupSteps(registry: any) {
        registry.register(new Step('fetch'));
        registry.register(new Step('convert'));
      }
      protected override getStepResultExtras() {
        return { converted: 2 };
      }
    }
    const { lines, ctx } = capture();
    order.length = 0;
    expect(await Pipeline.dispatch({}, ctx)).toEqual({
      success: true,
      steps_executed: 2,
      steps_total: 2,
      converted: 2,
    });
    expect(order).toEqual(['run fetch', 'run convert']);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^INFO: \[overall\] Progress: 50\.0% \(50\/100\) \| ETA: [\d.]+s$/);
    expect(lines[1]).toMatch(/^INFO: \[overall\] Progress: 100\.0% \(100\/100\) \| ETA: 0s$/);
  });

  it('rolls back executed steps including the failed one, newest first, and names the step', async () => {
    class Failing extends BaseAction {
      override setupSteps(registry: any) {
        registry.register(new Step('a'));
        registry.register(new Step('b', true));
        registry.register(new Step('c'));
      }
    }
    order.length = 0;
    await expect(Failing.dispatch({}, capture().ctx)).rejects.toThrow("Step 'b' failed: disk full");
    expect(order).toEqual(['run a', 'run b', 'undo b', 'undo a']);
  });
});

describe('function actions', () => {
  it('validates defineAction params and calls plain functions as they are', async () => {
    const greet = defineAction(
      { name: 'greet', params: z.object({ who: z.string() }) },
      (p: { who: string }) => `hi ${p.who}`,
    );
    expect(await dispatchAction(greet, { who: 'Ann' }, capture().ctx)).toBe('hi Ann');
    await expect(dispatchAction(greet, {}, capture().ctx)).rejects.toThrow(
      'Parameter validation failed: who: Field required',
    );
    expect(await dispatchAction((p: { n: number }) => p.n * 2, { n: 4 }, capture().ctx)).toBe(8);
    await expect(dispatchAction(42, {}, capture().ctx)).rejects.toThrow(TypeError);
  });
});
