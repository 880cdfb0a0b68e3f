/** Export (plugins.md §14): BaseExportAction, BaseExporter, and the built-in dataset export. */
export { BaseExportAction, type ExportResult } from './action.ts';
export {
  DATA_FILE_METRICS,
  EXPORT_PROGRESS_CATEGORY,
  ExportContext,
  type ExportCounts,
  type ExportErrorList,
  type ExportParams,
  exportParamsSchema,
  NO_RESULTS_MESSAGE,
  ORIGINAL_FILE_METRICS,
} from './context.ts';
export {
  ClassDiscovery,
  COCO_FILE,
  configuredClasses,
  DATASET_FORMATS,
  DatasetExportAction,
  DatasetExporter,
  type DatasetExportParams,
  type DatasetFormat,
  datasetExportParamsSchema,
  MAX_DISCOVERED_CLASSES,
} from './dataset.ts';
export {
  BaseExporter,
  DEFAULT_EXPORT_CONCURRENCY,
  ERROR_FILE_LIST,
  type ExporterOptions,
  type ExportStatus,
  type ExportSummary,
  JSON_DIR,
  ORIGIN_FILES_DIR,
  READ_AHEAD_ITEMS,
} from './exporter.ts';
export { IMAGE_HEAD_BYTES, type ImageSize, imageSizeOf } from './image-size.ts';
export { readAhead } from './read-ahead.ts';
export {
  EXPORT_TARGETS,
  type ExportFile,
  type ExportItem,
  type ExportTarget,
  exportItem,
  listTarget,
  primaryFile,
} from './targets.ts';
