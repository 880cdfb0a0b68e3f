/**
 * Actions (plugins.md §4): a class with typed params and a `RuntimeContext`, run either as one
 * `execute()` or as a step workflow (`setupSteps`), or a function made with `defineAction`.
 */
import type { ZodType } from 'zod';
import type { AgentClient } from '../clients/agent/index.ts';
import type { BackendClient } from '../clients/backend/index.ts';
import type { RuntimeContext } from './context.ts';
import type { LogLevel, MessageContext, PluginCategory } from './enums.ts';
import type { PluginEnvironment } from './environment.ts';
import { RuntimeError } from './errors.ts';
import { declareProportions } from './logging/job.ts';
import { validateParams } from './params.ts';
import {
  BaseStepContext,
  Orchestrator,
  type OrchestratorResult,
  type StepHooks,
  StepRegistry,
} from './steps/index.ts';

export interface SchemaContext {
  client: BackendClient | null;
  env: PluginEnvironment;
  action: ActionClass;
}

export type ParamsSchema = ZodType | ((v: SchemaContext) => ZodType);

export interface ActionClass<A extends BaseAction<any, any, any> = BaseAction<any, any, any>> {
  new (params: any, ctx: RuntimeContext): A;
  actionName: string;
  category: PluginCategory;
  inputType?: string;
  outputType?: string;
  paramsSchema?: ParamsSchema;
  resultSchema?: ZodType;
  progressCategories?: Record<string, { proportion: number }>;
  metricsCategories?: Record<string, Record<string, number>>;
  stoppable?: boolean;
  dispatch(rawParams: unknown, ctx: RuntimeContext): Promise<unknown>;
}

/**
 * Marks action classes across module instances: a plugin may load its own copy of the SDK (its
 * own node_modules, or a loader's separate module graph), where `instanceof BaseAction` fails.
 * A class whose instances are not runs but that runs as an action through its own static
 * `dispatch` (a serve deployment: its instances are replicas) carries it too, so this layer
 * runs it without knowing what it is.
 */
export const ACTION_MARK = Symbol.for('synapse-sdk.action');

export abstract class BaseAction<
  P = Record<string, unknown>,
  R = unknown,
  C extends BaseStepContext = BaseStepContext,
> {
  static readonly [ACTION_MARK] = true;
  static actionName: string;
  static category: PluginCategory;
  static inputType?: string;
  static outputType?: string;
  static paramsSchema?: ParamsSchema;
  static resultSchema?: ZodType;
  static progressCategories?: Record<string, { proportion: number }>;
  static metricsCategories?: Record<string, Record<string, number>>;
  /**
   * The action ends by itself soon after `ctx.signal` aborts (it checks it between units of work),
   * so a stopped job waits for it to end cleanly; any other action's job process exits at once.
   */
  static stoppable?: boolean;

  /** The progress category the orchestrator reports overall step progress under. */
  protected stepProgressCategory?: string;

  constructor(
    readonly params: P,
    readonly ctx: RuntimeContext,
  ) {}

  /** The work of a simple action. Step-based actions register steps instead. */
  execute(): Promise<R> | R {
    throw new Error(`${this.constructor.name} must implement execute() or setupSteps()`);
  }

  /** Registers the steps of a step-based action; leave undefined for a simple one. */
  setupSteps?(registry: StepRegistry<C>): void;

  /** The context shared by the steps of one run. */
  createContext(): C {
    return new BaseStepContext(this.ctx) as C;
  }

  /** Extra fields merged into a step workflow's result. */
  protected getStepResultExtras(_context: C): Record<string, unknown> {
    return {};
  }

  async run(): Promise<R> {
    const registry = new StepRegistry<C>();
    this.setupSteps?.(registry);
    if (!registry.hasSteps()) return this.execute();
    const context = this.createContext();
    const orchestrator = new Orchestrator(registry, context, {
      onProgress: (current, total) => this.onStepProgress(current, total),
      hooks: this.stepHooks(context),
      signal: this.ctx.signal,
    });
    return this.stepResult(await orchestrator.execute(), context);
  }

  /** Observers of the steps (e.g. a message per step); none by default. */
  protected stepHooks(_context: C): StepHooks<C> {
    return {};
  }

  /** Overall step progress (0..100 by the steps' weights), reported under `stepProgressCategory`. */
  protected onStepProgress(current: number, total: number): void {
    this.setProgress(current, total, this.stepProgressCategory);
  }

  /** The result of a completed workflow: the orchestrator's summary plus `getStepResultExtras`. */
  protected stepResult(result: OrchestratorResult, context: C): R {
    return { ...result, ...this.getStepResultExtras(context) } as R;
  }

  /** Validates the params, runs the action, and checks the result against `resultSchema` (warning only). */
  static async dispatch(this: ActionClass, rawParams: unknown, ctx: RuntimeContext): Promise<unknown> {
    const schema =
      typeof this.paramsSchema === 'function'
        ? this.paramsSchema({ client: ctx.client, env: ctx.env, action: this })
        : this.paramsSchema;
    const warn = (message: string) => ctx.logger.warning(message);
    const params = schema ? await validateParams(schema, rawParams ?? {}, { warn }) : (rawParams ?? {});
    if (this.progressCategories) {
      const entries = Object.entries(this.progressCategories).map(([k, v]) => [k, v.proportion]);
      declareProportions(ctx.logger, Object.fromEntries(entries));
    }
    ctx.actionName ??= this.actionName ?? null;
    const result = await new this(params, ctx).run();
    if (this.resultSchema) checkResult(this.resultSchema, result, ctx);
    return result;
  }

  // Helpers delegating to the context.
  get logger() {
    return this.ctx.logger;
  }
  get env() {
    return this.ctx.env;
  }
  get jobId() {
    return this.ctx.jobId;
  }
  get client(): BackendClient {
    if (!this.ctx.client)
      throw new RuntimeError('No backend client in context. Provide one via RuntimeContext.');
    return this.ctx.client;
  }
  get agentClient(): AgentClient | null {
    return this.ctx.agentClient;
  }
  log(event: string, data?: Record<string, unknown>, file?: string): void {
    this.ctx.log(event, data, file);
  }
  setProgress(current: number, total: number, category?: string): void {
    this.ctx.setProgress(current, total, category);
  }
  setProgressFailed(category?: string): void {
    this.ctx.setProgressFailed(category);
  }
  setMetrics(value: Record<string, unknown>, category?: string): void {
    this.ctx.setMetrics(value, category);
  }
  logMetric(category: string, key: string, value: number, metrics?: Record<string, unknown>): void {
    this.ctx.logMetric(category, key, value, metrics);
  }
  logVisualization(
    category: string,
    group: string,
    index: number,
    image: string,
    meta?: Record<string, unknown>,
  ): void {
    this.ctx.logVisualization(category, group, index, image, meta);
  }
  logMessage(content: string, context?: MessageContext): void {
    this.ctx.logMessage(content, context);
  }
  logMessageWithCode(code: string, args?: unknown[] | Record<string, unknown>, level?: MessageContext): void {
    this.ctx.logMessageWithCode(code, args, level);
  }
  logDevEvent(message: string, data?: Record<string, unknown>, level?: LogLevel): void {
    this.ctx.logDevEvent(message, data, level);
  }
  endLog(): void {
    this.ctx.endLog();
  }
}

function checkResult(schema: ZodType, result: unknown, ctx: RuntimeContext): void {
  const name = (schema.meta?.() as { id?: string } | undefined)?.id ?? schema.description ?? 'ResultSchema';
  if (result === null || typeof result !== 'object') {
    ctx.logger.warning(`Result type mismatch: expected ${name} or dict, got ${typeof result}`);
    return;
  }
  const parsed = schema.safeParse(result);
  if (!parsed.success) {
    ctx.logger.warning(
      `Result validation warning for ${name}: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
}

export interface ActionMeta {
  name: string;
  description?: string;
  params?: ZodType;
  result?: ZodType;
  category?: PluginCategory;
  /** As `BaseAction.stoppable`: the function ends by itself once `ctx.signal` aborts. */
  stoppable?: boolean;
}

export type FunctionAction<P = any, R = unknown> = ((params: P, ctx: RuntimeContext) => R | Promise<R>) & {
  actionMeta: ActionMeta;
};

/** A function action: the function plus the metadata discovery and executors read. */
export function defineAction<P, R>(
  meta: ActionMeta,
  fn: (params: P, ctx: RuntimeContext) => R | Promise<R>,
): FunctionAction<P, R> {
  return Object.assign((params: P, ctx: RuntimeContext) => fn(params, ctx), { actionMeta: meta });
}

export function isActionClass(value: unknown): value is ActionClass {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[ACTION_MARK] === true;
}

export function isFunctionAction(value: unknown): value is FunctionAction {
  return typeof value === 'function' && 'actionMeta' in value;
}

/** Whether an action export declares that it ends by itself on a stop (`stoppable`). */
export function isStoppable(target: unknown): boolean {
  if (isActionClass(target)) return target.stoppable === true;
  return isFunctionAction(target) && target.actionMeta.stoppable === true;
}

/** Runs any action export: a BaseAction class, a defineAction function, or a plain `(params, ctx)` function. */
export async function dispatchAction(
  target: unknown,
  rawParams: unknown,
  ctx: RuntimeContext,
): Promise<unknown> {
  // Every action class says how it runs (a serve deployment's `dispatch` calls its deployed app,
  // inference.md §6), so this layer needs to know no kind of action above it.
  if (isActionClass(target)) return target.dispatch(rawParams, ctx);
  if (isFunctionAction(target)) {
    const { params: schema, name } = target.actionMeta;
    ctx.actionName ??= name;
    const warn = (message: string) => ctx.logger.warning(message);
    return target(schema ? await validateParams(schema, rawParams ?? {}, { warn }) : (rawParams ?? {}), ctx);
  }
  if (typeof target === 'function') return target(rawParams ?? {}, ctx);
  throw new TypeError(
    'Not an action: expected a BaseAction subclass, a defineAction() function or a function',
  );
}
