/**
 * BaseExportAction (plugins.md §14): exports a target's records (assignments, ground-truth events
 * or tasks) to a storage through an exporter, in six steps on the Orchestrator:
 * `initialize` (the storage, checked) → `fetch_results` (the listing, streamed) →
 * `prepare_export` (the folder `<name>`, `<name>(1)`, ...) → `convert_data` (every item, through
 * the exporter) → `save_files` (the dataset-level files and `error_file_list.json`) → `finalize`.
 */
import type { Project } from 'synapse-core';
import { isObject } from 'synapse-core';
import { originRule, parseHostRules } from '../../clients/safe-fetch/index.ts';
import { ENV } from '../../environment.ts';
import { BaseAction, type ParamsSchema } from '../../plugins/action.ts';
import type { RuntimeContext } from '../../plugins/context.ts';
import type { PluginCategory } from '../../plugins/enums.ts';
import { RuntimeError } from '../../plugins/errors.ts';
import {
  BaseStep,
  type OrchestratorResult,
  type StepHooks,
  type StepRegistry,
  StepResult,
} from '../../plugins/steps/index.ts';
import { readWorkingConfig } from '../../plugins/working-config.ts';
import { openStorage, type StorageProvider, storagePath } from '../../storage/index.ts';
import {
  DATA_FILE_METRICS,
  EXPORT_PROGRESS_CATEGORY,
  ExportContext,
  type ExportParams,
  exportParamsSchema,
  NO_RESULTS_MESSAGE,
  ORIGINAL_FILE_METRICS,
} from './context.ts';
import { BaseExporter, type ExporterOptions, type ExportSummary, errorText } from './exporter.ts';
import { type ExportItem, exportItem, listTarget } from './targets.ts';

export interface ExportResult extends Partial<OrchestratorResult> {
  exported_count: number;
  failed_count?: number;
  total_count?: number;
  output_path?: string;
}

/** Most `<name>(n)` folders tried before giving up (a bound, not a limit anyone should reach). */
const MAX_FOLDER_SUFFIX = 10_000;

export class BaseExportAction<P extends ExportParams = ExportParams> extends BaseAction<
  P,
  ExportResult,
  ExportContext<P>
> {
  static override actionName = 'export';
  static override category: PluginCategory = 'export';
  static override paramsSchema: ParamsSchema = exportParamsSchema;
  static override progressCategories = { [EXPORT_PROGRESS_CATEGORY]: { proportion: 100 } };
  static override metricsCategories = {
    [DATA_FILE_METRICS]: { stand_by: 0, success: 0, failed: 0 },
    [ORIGINAL_FILE_METRICS]: { stand_by: 0, success: 0, failed: 0 },
  };
  /** A stop ends the item loop: the items being saved finish, no new one starts. */
  static override stoppable = true;
  /**
   * Whether the records are listed with `expand=data`: the class's own answer when it sets one,
   * else the action config's `data_expand` (false: a plugin that reads each record's data itself).
   */
  static dataExpand?: boolean;

  readonly exporterOptions: ExporterOptions;
  #context: ExportContext<P> | null = null;

  constructor(params: P, ctx: RuntimeContext, options: ExporterOptions = {}) {
    super(params, ctx);
    this.exporterOptions = options;
  }

  /** The context of the current (or last) run. */
  get context(): ExportContext<P> | null {
    return this.#context;
  }

  /** The records to export, streamed, and the platform's count of them. */
  async getFilteredResults(filters: Record<string, unknown>): Promise<[AsyncIterable<ExportItem>, number]> {
    const { items, count } = await listTarget(this.client, this.params.target, filters, {
      dataExpand: this.dataExpand(),
      signal: this.ctx.signal,
    });
    async function* converted(): AsyncGenerator<ExportItem> {
      for await (const record of items) yield exportItem(record);
    }
    return [converted(), count];
  }

  /** `static dataExpand`, else `actions.<name>.data_expand` of the plugin's `./config.yaml` (default true). */
  dataExpand(): boolean {
    const own = (this.constructor as typeof BaseExportAction).dataExpand;
    if (own !== undefined) return own;
    const actions = readWorkingConfig().actions;
    const name = this.ctx.actionName ?? (this.constructor as typeof BaseExportAction).actionName;
    const config = isObject(actions) ? actions[name] : undefined;
    return !(isObject(config) && config.data_expand === false);
  }

  /** The storage `id` of the platform, opened (not yet checked). */
  async getStorage(id: number): Promise<StorageProvider> {
    return openStorage(await this.client.getStorage(id));
  }

  getProject(id: number): Promise<Project> {
    return this.client.getProject(id);
  }

  /** The project's `configuration`, or `{}`. */
  async getProjectConfiguration(id: number): Promise<Record<string, unknown>> {
    const project: unknown = await this.getProject(id);
    return isObject(project) && isObject(project.configuration) ? project.configuration : {};
  }

  /** The exporter of one run; override to export in another format. */
  createExporter(
    context: ExportContext<P>,
    items: AsyncIterable<ExportItem>,
    pathRoot: string,
  ): BaseExporter<P> {
    return new BaseExporter(context, items, pathRoot, this.params, this.exporterOptions);
  }

  override createContext(): ExportContext<P> {
    this.#context = new ExportContext(this.ctx, this.params);
    return this.#context;
  }

  override setupSteps(registry: StepRegistry<ExportContext<P>>): void {
    registry.register(new InitializeStep(this));
    registry.register(new FetchResultsStep(this));
    registry.register(new PrepareExportStep());
    registry.register(new ConvertDataStep(this));
    registry.register(new SaveFilesStep());
    registry.register(new FinalizeStep());
  }

  /** Progress on the wire is per item (`dataset_conversion`), so the step-weighted one is not sent. */
  protected override onStepProgress(_current: number, _total: number): void {}

  protected override stepHooks(): StepHooks<ExportContext<P>> {
    return {
      onStepFailed: (step, error, context) => {
        context.log('export_failed', {
          message: `Export failed at step '${step.name}': ${errorText(error)}`,
        });
        try {
          this.setProgressFailed(EXPORT_PROGRESS_CATEGORY);
        } catch {}
      },
    };
  }

  protected override stepResult(summary: OrchestratorResult, context: ExportContext<P>): ExportResult {
    if (context.empty) return { exported_count: 0 };
    return {
      ...summary,
      exported_count: context.exported,
      failed_count: context.failed,
      total_count: context.total,
      // The folder in the storage (stable, whatever holds the storage); the event says where that is.
      ...(context.outputPath !== null ? { output_path: context.outputPath } : {}),
    };
  }

  /** Where original files may come from: the backend's origin and `SYNAPSE_ALLOWED_HOSTS`. */
  downloadRules() {
    const env = this.ctx.env.has(ENV.allowedHosts.name)
      ? this.ctx.env.getStr(ENV.allowedHosts.name)
      : process.env[ENV.allowedHosts.name];
    return [originRule(this.client.baseUrl), ...parseHostRules(env, ENV.allowedHosts.name)];
  }
}

type AnyExportAction = BaseExportAction<any>;

/** Skipped once `fetch_results` found nothing. */
abstract class ExportStep extends BaseStep<ExportContext<any>> {
  override canSkip(ctx: ExportContext<any>): boolean {
    return ctx.empty && ctx.stepResults.some((r) => r.data.fetched === true);
  }
}

class InitializeStep extends BaseStep<ExportContext<any>> {
  constructor(readonly action: AnyExportAction) {
    super();
  }
  get name() {
    return 'initialize';
  }
  get progressWeight() {
    return 0.05;
  }
  async execute(ctx: ExportContext<any>): Promise<StepResult> {
    const id = ctx.params.storage;
    let storage: StorageProvider;
    try {
      storage = await this.action.getStorage(id);
    } catch (err) {
      throw new RuntimeError(`Storage with id=${id} not found: ${errorText(err)}`, { cause: err });
    }
    try {
      await storage.check();
    } catch (err) {
      await storage.close().catch(() => {});
      throw new RuntimeError(`Cannot export to ${storage.label}: ${errorText(err)}`, { cause: err });
    }
    if (!storage.writable) {
      await storage.close().catch(() => {});
      throw new RuntimeError(`Cannot export to ${storage.label}: the storage is read-only`);
    }
    ctx.storage = storage;
    ctx.downloadRules = this.action.downloadRules();
    return new StepResult({ data: { storage: storage.label } });
  }
  override async rollback(ctx: ExportContext<any>): Promise<void> {
    await ctx.storage?.close();
  }
}

class FetchResultsStep extends BaseStep<ExportContext<any>> {
  constructor(readonly action: AnyExportAction) {
    super();
  }
  get name() {
    return 'fetch_results';
  }
  get progressWeight() {
    return 0.1;
  }
  async execute(ctx: ExportContext<any>): Promise<StepResult> {
    const [items, count] = await this.action.getFilteredResults({ ...ctx.params.filter });
    if (count === 0) {
      ctx.log('export_info', { message: NO_RESULTS_MESSAGE });
      return new StepResult({ data: { fetched: true, count } });
    }
    ctx.items = items;
    ctx.count = count;
    return new StepResult({ data: { fetched: true, count } });
  }
}

class PrepareExportStep extends ExportStep {
  get name() {
    return 'prepare_export';
  }
  get progressWeight() {
    return 0.1;
  }
  async execute(ctx: ExportContext<any>): Promise<StepResult> {
    const storage = ctx.storage!;
    const base = storagePath(
      ctx.params.path ? `${ctx.params.path}/${ctx.params.name}` : ctx.params.name,
      storage.label,
    );
    for (let n = 0; n <= MAX_FOLDER_SUFFIX; n++) {
      const candidate = n === 0 ? base : `${base}(${n})`;
      if (!(await hasFiles(storage, candidate))) {
        ctx.outputPath = candidate;
        return new StepResult({ data: { output_path: candidate } });
      }
    }
    throw new RuntimeError(
      `${storage.label}: ${base} and ${MAX_FOLDER_SUFFIX} numbered folders beside it exist`,
    );
  }
}

async function hasFiles(storage: StorageProvider, folder: string): Promise<boolean> {
  for await (const _ of storage.list(folder)) return true;
  return false;
}

class ConvertDataStep extends ExportStep {
  constructor(readonly action: AnyExportAction) {
    super();
  }
  get name() {
    return 'convert_data';
  }
  get progressWeight() {
    return 0.3;
  }
  async execute(ctx: ExportContext<any>): Promise<StepResult> {
    ctx.logMessage('Converting dataset.');
    const exporter = this.action.createExporter(ctx, ctx.items!, ctx.outputPath!);
    ctx.exporter = exporter;
    await exporter.exportItemsLoop();
    return new StepResult();
  }
  override async rollback(ctx: ExportContext<any>): Promise<void> {
    await ctx.exporter?.abort();
  }
}

class SaveFilesStep extends ExportStep {
  get name() {
    return 'save_files';
  }
  get progressWeight() {
    return 0.35;
  }
  async execute(ctx: ExportContext<any>): Promise<StepResult> {
    const exporter = ctx.exporter!;
    await exporter.finish();
    const summary: ExportSummary = exporter.summary();
    ctx.exported = summary.exported_count;
    ctx.failed = summary.failed_count;
    ctx.total = summary.total_count;
    return new StepResult({ data: { ...summary } });
  }
}

class FinalizeStep extends BaseStep<ExportContext<any>> {
  get name() {
    return 'finalize';
  }
  get progressWeight() {
    return 0.1;
  }
  async execute(ctx: ExportContext<any>): Promise<StepResult> {
    if (ctx.empty) {
      await ctx.storage?.close();
      return new StepResult({ data: { exported_count: 0 } });
    }
    const where = ctx.storage!.locate(ctx.outputPath!);
    ctx.log('export_completed', {
      message: `Exported ${ctx.exported} of ${ctx.total} items to ${where}`,
      exported_count: ctx.exported,
      failed_count: ctx.failed,
      total_count: ctx.total,
      output_path: ctx.outputPath,
      location: where,
    });
    await ctx.storage!.close();
    return new StepResult();
  }
}
