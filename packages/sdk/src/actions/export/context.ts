/** The params of an export and the context its steps and its exporter share (plugins.md §14). */
import { z } from 'zod';
import type { BackendClient } from '../../clients/backend/index.ts';
import type { HostRule } from '../../clients/safe-fetch/index.ts';
import type { RuntimeContext } from '../../plugins/context.ts';
import { BaseStepContext } from '../../plugins/steps/index.ts';
import type { StorageProvider } from '../../storage/index.ts';
import { EXPORT_TARGETS, type ExportItem } from './targets.ts';

/** The per-item progress category of an export (plugins.md §6.7). */
export const EXPORT_PROGRESS_CATEGORY = 'dataset_conversion';
/** The metrics categories, each `{stand_by, success, failed}`: the data files and the original files. */
export const DATA_FILE_METRICS = 'data_file';
export const ORIGINAL_FILE_METRICS = 'original_file';

export const NO_RESULTS_MESSAGE = 'No results found for export';

/** One name of a folder: what the export's folder (`<name>`, `<name>(1)`, ...) is called. */
const folderName = z
  .string()
  .trim()
  .min(1, 'name must not be blank')
  .max(200)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  .refine((s) => !/[/\\\u0000-\u001f]/.test(s) && s !== '.' && s !== '..', {
    message: 'name must be one folder name (no /, \\ or control characters)',
  });

export const exportParamsSchema = z.object({
  /** The export's folder in the storage. */
  name: folderName,
  description: z.string().optional(),
  /** The storage written to (`getStorage(id)`). */
  storage: z.number().int().positive(),
  /** What is exported. */
  target: z.enum(EXPORT_TARGETS),
  /** The listing's filters as the platform takes them (`project`, `ground_truth_dataset_version`, ...). */
  filter: z.record(z.string(), z.unknown()).default({}),
  /** A folder in the storage the export folder goes in; default its root. */
  path: z.string().default(''),
  /** Also copy each item's original file (its data unit's primary file). */
  save_original_file: z.boolean().default(true),
  extra_params: z.record(z.string(), z.unknown()).optional(),
});

export type ExportParams = z.infer<typeof exportParamsSchema>;

export interface ExportCounts {
  stand_by: number;
  success: number;
  failed: number;
}

/** `error_file_list.json`: `[file name, error]` pairs of the data files and the original files. */
export interface ExportErrorList {
  json_file_name: Array<[string, string]>;
  origin_file_name: Array<[string, string]>;
}

/** What the steps after `convert_data` need of the run's exporter. */
export interface ExporterRun {
  finish(): Promise<void>;
  /** Ends what the run left open (a file being streamed, scratch files) after a failure or a stop. */
  abort(): Promise<void>;
  summary(): { exported_count: number; failed_count: number; total_count: number };
}

export class ExportContext<P extends ExportParams = ExportParams> extends BaseStepContext {
  readonly run: RuntimeContext;
  readonly params: P;
  client: BackendClient | null;
  storage: StorageProvider | null = null;
  /** The listing of `fetch_results`: streamed once, by the exporter. */
  items: AsyncIterable<ExportItem> | null = null;
  /** The platform's count of the listing (what progress is measured against). */
  count = 0;
  /** The export's folder in the storage (`<path>/<name>` or `<name>(n)`). */
  outputPath: string | null = null;
  /** Where the original files may be downloaded from (the backend's origin, allowed hosts). */
  downloadRules: HostRule[] = [];
  /** The exporter `convert_data` ran; `save_files` finishes it. */
  exporter: ExporterRun | null = null;
  exported = 0;
  failed = 0;
  total = 0;

  constructor(run: RuntimeContext, params: P) {
    super(run);
    this.run = run;
    this.params = params;
    this.client = run.client;
  }

  /** No records matched: the steps after `fetch_results` are skipped. */
  get empty(): boolean {
    return this.items === null;
  }
}
