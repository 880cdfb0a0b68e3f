import { DatasetExportAction, DatasetExporter, type ExportItem, isObject } from 'synapse-sdk';

/**
 * Your exporter: the SDK's, which writes the dataset in the run's `format` (COCO by default;
 * `yolo`, `voc` or `platform`). Override its hooks to shape what is exported: `beforeConvert`,
 * `convertData`, `afterConvert`, `saveAsJson`, `saveOriginalFile`, `additionalFileSaving`.
 */
export class Exporter extends DatasetExporter {
  /** Leaves out a detector's boxes below the run's `extra_params.min_confidence` (default: keep all). */
  override beforeConvert(item: ExportItem): ExportItem {
    const min = Number(this.params.extra_params?.min_confidence ?? 0);
    if (!isObject(item.data) || !Array.isArray(item.data.objects) || min <= 0) return item;
    const objects = item.data.objects.filter(
      (o) => !isObject(o) || !isObject(o.properties) || Number(o.properties.confidence ?? 1) >= min,
    );
    return { ...item, data: { ...item.data, objects } };
  }
}

/**
 * Exports a target's records (`task`, `assignment` or `ground_truth`, with `filter`) to the
 * storage `storage`, in the folder `name` (`name(1)`, ... when it exists).
 */
export class ExportAction extends DatasetExportAction {
  static override exporter = Exporter;
}
