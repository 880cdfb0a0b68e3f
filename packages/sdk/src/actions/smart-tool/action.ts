/**
 * `BaseAutoLabelAction` (plugins.md §14 "Smart tool"): a smart tool's `auto_label` task turns the
 * tool's input into a model's input (`handleInput`), runs the model through the platform
 * (`runInference`: the neural-net plugin's `inference` action) and turns its output into
 * annotations (`handleOutput`). The three phases are steps on the framework's Orchestrator, each
 * reporting progress under its own category, so a failure names the phase it happened in.
 */
import { z } from 'zod';
import { ENV, envValue } from '../../environment.ts';
import { BaseAction } from '../../plugins/action.ts';
import type { PluginCategory } from '../../plugins/enums.ts';
import { RuntimeError } from '../../plugins/errors.ts';
import {
  BaseStep,
  BaseStepContext,
  type OrchestratorResult,
  StepFailedError,
  type StepRegistry,
  StepResult,
  type StepRuntimeContext,
} from '../../plugins/steps/index.ts';

/** The progress categories, in the order the phases run. */
export const AUTO_LABEL_PROGRESS = {
  INPUT_TRANSFORM: 'input_transform',
  INFERENCE: 'inference',
  OUTPUT_TRANSFORM: 'output_transform',
} as const;

/**
 * `{plugin, version, model_id?, method = 'inference', ...extra}`: the neural-net plugin and release
 * that infer, the model they load, and whatever the tool sends (kept, for `handleInput`). `plugin`
 * and `version` are optional here because an action that overrides `runInference()` needs neither;
 * the default inference asks for them.
 */
export const autoLabelParamsSchema = z.looseObject({
  plugin: z.string().min(1).optional().describe('Neural-net plugin code that runs the inference'),
  version: z.string().min(1).optional().describe('Release version of that plugin'),
  model_id: z.number().int().positive().nullish().describe('Model the inference loads'),
  method: z.string().min(1).default('inference').describe('Sent to the inference as params.method'),
});

export type AutoLabelParams = z.infer<typeof autoLabelParamsSchema>;

export const autoLabelResultSchema = z
  .looseObject({
    annotations: z.array(z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AutoLabelResult' });

export interface AutoLabelResult {
  annotations: unknown[];
  metadata: Record<string, unknown>;
  [key: string]: unknown;
}

type Data = Record<string, unknown>;

/** The values passed between the phases of one run. */
export class AutoLabelContext extends BaseStepContext {
  modelInput: Data = {};
  modelOutput: unknown = null;
  output: unknown = null;

  constructor(
    runtimeCtx: StepRuntimeContext,
    readonly input: Data,
  ) {
    super(runtimeCtx);
  }
}

/** The action's three hooks, as the steps call them. */
interface AutoLabelHooks {
  handleInput(input: Data): Data | undefined | Promise<Data | undefined>;
  runInference(modelInput: Data): unknown;
  handleOutput(output: unknown): unknown;
}

/** One phase: reports `(n, 3)` under its category as it starts (as the platform's SDK does). */
abstract class PhaseStep extends BaseStep<AutoLabelContext> {
  constructor(
    protected readonly hooks: AutoLabelHooks,
    private readonly index: number,
  ) {
    super();
  }

  get progressWeight() {
    return 1 / 3;
  }

  async execute(ctx: AutoLabelContext): Promise<StepResult> {
    ctx.setProgress(this.index, 3);
    await this.run(ctx);
    return new StepResult();
  }

  protected abstract run(ctx: AutoLabelContext): Promise<void>;
}

class InputTransformStep extends PhaseStep {
  get name() {
    return AUTO_LABEL_PROGRESS.INPUT_TRANSFORM;
  }
  protected async run(ctx: AutoLabelContext) {
    ctx.modelInput = (await this.hooks.handleInput(ctx.input)) ?? ctx.input;
  }
}

class InferenceStep extends PhaseStep {
  get name() {
    return AUTO_LABEL_PROGRESS.INFERENCE;
  }
  protected async run(ctx: AutoLabelContext) {
    ctx.modelOutput = await this.hooks.runInference(ctx.modelInput);
  }
}

class OutputTransformStep extends PhaseStep {
  get name() {
    return AUTO_LABEL_PROGRESS.OUTPUT_TRANSFORM;
  }
  protected async run(ctx: AutoLabelContext) {
    ctx.output = (await this.hooks.handleOutput(ctx.modelOutput)) ?? ctx.modelOutput;
  }
}

export class BaseAutoLabelAction<P extends AutoLabelParams = AutoLabelParams> extends BaseAction<
  P,
  AutoLabelResult,
  AutoLabelContext
> {
  static override actionName = 'auto_label';
  static override category: PluginCategory = 'smart_tool';
  static override paramsSchema: z.ZodType = autoLabelParamsSchema;
  static override resultSchema = autoLabelResultSchema;

  readonly progress = AUTO_LABEL_PROGRESS;

  /** Smart-tool input → model input. Returning `undefined` keeps the input (the params) as it is. */
  handleInput(_input: Data): Data | undefined | Promise<Data | undefined> {
    return undefined;
  }

  /** Model output → `{annotations, metadata}`. Returning `undefined` keeps the output as it is. */
  handleOutput(_output: unknown): unknown {
    return undefined;
  }

  /**
   * Runs the neural-net plugin's `inference` action on the platform:
   * `runPlugin(plugin, {action: 'inference', version, params: {...modelInput, method}})`, on the
   * agent the params name (`agent`), else the run's own (`SYNAPSE_AGENT_ID`); the params'
   * `model_id` selects the model unless the model input names one (`model`). Override it for any
   * other inference (an external API, a model in this process).
   */
  async runInference(modelInput: Data): Promise<unknown> {
    const { plugin, version, method } = this.params;
    if (!plugin || !version) throw new Error('params.plugin and params.version are required for inference.');
    const agent = this.#agent();
    const model = this.params.model_id ?? undefined;
    const params = {
      ...(model !== undefined && !('model' in modelInput) ? { model } : {}),
      ...modelInput,
      method,
    };
    try {
      return await this.client.runPlugin(plugin, { agent, action: 'inference', version, params });
    } catch (err) {
      throw new RuntimeError(
        `Inference failed: ${(err as Error)?.message ?? String(err)}. Override runInference() to implement custom inference.`,
        { cause: err },
      );
    }
  }

  #agent(): number {
    const given =
      (this.params as Data).agent ?? envValue(this.env.toDict() as Record<string, string>, ENV.agentId);
    const agent = Number(given);
    if (!Number.isInteger(agent) || agent < 1) {
      throw new Error(
        `No agent to run the inference on: give params.agent or set ${ENV.agentId.name} (got ${JSON.stringify(given ?? null)}).`,
      );
    }
    return agent;
  }

  override createContext(): AutoLabelContext {
    // The tool's input is the params as validated (unknown keys kept), as a plain object.
    return new AutoLabelContext(this.ctx, { ...(this.params as Data) });
  }

  override setupSteps(registry: StepRegistry<AutoLabelContext>): void {
    const hooks: AutoLabelHooks = {
      handleInput: (input) => this.handleInput(input),
      runInference: (input) => this.runInference(input),
      handleOutput: (output) => this.handleOutput(output),
    };
    registry.register(new InputTransformStep(hooks, 1));
    registry.register(new InferenceStep(hooks, 2));
    registry.register(new OutputTransformStep(hooks, 3));
  }

  /** Each phase reports its own category; the orchestrator's overall percentage adds nothing. */
  protected override onStepProgress(): void {}

  /** The output, with `annotations: []` and `metadata: {}` when it lacks them. */
  protected override stepResult(_summary: OrchestratorResult, context: AutoLabelContext): AutoLabelResult {
    const output = context.output;
    const fields = output !== null && typeof output === 'object' && !Array.isArray(output) ? output : {};
    return { annotations: [], metadata: {}, ...(fields as Data) };
  }

  /** A phase's own error is the run's error (not the orchestrator's "Step ... failed" wrapper). */
  override async run(): Promise<AutoLabelResult> {
    try {
      return await super.run();
    } catch (err) {
      if (err instanceof StepFailedError && err.cause) throw err.cause;
      throw err;
    }
  }
}
