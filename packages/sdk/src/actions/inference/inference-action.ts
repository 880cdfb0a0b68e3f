/**
 * Batch inference (inference.md §1): `BaseInferenceAction` with model helpers over the backend
 * client, and the `InferenceContext` its steps share in step mode.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { downloadAndExtractModel } from '../../archive/model-archive.ts';
import type { BackendClient } from '../../clients/backend/index.ts';
import type { Model } from '../../clients/backend/models.ts';
import { BaseAction } from '../../plugins/action.ts';
import type { PluginCategory } from '../../plugins/enums.ts';
import { RuntimeError } from '../../plugins/errors.ts';
import { BaseStepContext, type StepRuntimeContext } from '../../plugins/steps/index.ts';

export const INFERENCE_PROGRESS = {
  MODEL_LOAD: 'model_load',
  INFERENCE: 'inference',
  POSTPROCESS: 'postprocess',
} as const;

export const NO_CLIENT_MESSAGE =
  'No client in context. Either provide a client via RuntimeContext or override the helper methods (loadModel, getModel).';

export type InferenceRecord = Record<string, unknown>;

/** A model's metadata plus the local directory its artifacts were placed in. */
export type LoadedModel = Model & { path: string };

/** The model id of inference params: `model_id`, else `model`, else null. */
function modelIdOf(params: Record<string, unknown>): number | null {
  const id = params.model_id ?? params.model ?? null;
  if (id === null || id === undefined) return null;
  const n = typeof id === 'number' ? id : Number(id);
  return Number.isFinite(n) ? n : null;
}

/** The state shared by the steps of a step-mode inference run. */
export class InferenceContext extends BaseStepContext {
  params: Record<string, unknown>;
  modelId: number | null;
  /** Model info from the backend. */
  model: Model | null = null;
  /** Local directory of the downloaded model. */
  modelPath: string | null = null;
  requests: InferenceRecord[] = [];
  results: InferenceRecord[] = [];
  batchSize = 1;
  processedCount = 0;

  constructor(runtimeCtx: StepRuntimeContext, params: Record<string, unknown> = {}) {
    super(runtimeCtx);
    this.params = params;
    this.modelId = modelIdOf(params);
  }
}

export abstract class BaseInferenceAction<
  P = Record<string, unknown>,
  R = unknown,
  C extends InferenceContext = InferenceContext,
> extends BaseAction<P, R, C> {
  static override category: PluginCategory = 'neural_net';
  readonly progress = INFERENCE_PROGRESS;

  override get client(): BackendClient {
    if (!this.ctx.client) throw new RuntimeError(NO_CLIENT_MESSAGE);
    return this.ctx.client;
  }

  /** The model's metadata; `file` is its download URL. */
  async getModel(modelId: number): Promise<Model> {
    return this.client.getModel(modelId);
  }

  /** Temp folders `downloadModel` made during this run: removed when the run ends. */
  readonly #modelDirs: string[] = [];

  /**
   * Downloads and extracts the model's file; returns the directory it is in: `outputDir`, kept, or
   * a new `synapse_model_` temp folder, removed when the run ends (a model weighs megabytes to
   * gigabytes, and every run would leave one behind).
   */
  async downloadModel(modelId: number, outputDir?: string): Promise<string> {
    const model = await this.getModel(modelId);
    if (!model.file) throw new Error(`Model ${modelId} has no file URL`);
    let dir: string;
    if (outputDir !== undefined) {
      dir = resolve(outputDir);
      await mkdir(dir, { recursive: true });
    } else {
      dir = await mkdtemp(join(tmpdir(), 'synapse_model_'));
      this.#modelDirs.push(dir);
    }
    return downloadAndExtractModel(model.file, dir);
  }

  override async run(): Promise<R> {
    try {
      return await super.run();
    } finally {
      const dirs = this.#modelDirs.splice(0);
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }).catch(() => {})));
    }
  }

  /** The model's metadata with `path`, the local directory of its artifacts. */
  async loadModel(modelId: number): Promise<LoadedModel> {
    const model = await this.getModel(modelId);
    return { ...model, path: await this.downloadModel(modelId) };
  }

  /** Runs the model on the inputs; override it. */
  infer(_model: unknown, _inputs: InferenceRecord[]): Promise<InferenceRecord[]> | InferenceRecord[] {
    throw new Error('Override infer() to implement inference logic.');
  }

  override createContext(): C {
    return new InferenceContext(this.ctx, (this.params ?? {}) as Record<string, unknown>) as C;
  }

  protected override getStepResultExtras(context: C): Record<string, unknown> {
    return { processed_count: context.processedCount, results: context.results };
  }
}
