/**
 * The SDK's dataset export with one knob of its own: `min_confidence` leaves out a detector's
 * boxes below it (pre-annotations carry `properties.confidence`; hand-drawn boxes have none and
 * are kept). Everything else — targets, filters, formats, the folder, the error list, progress
 * and metrics — is the SDK's.
 */
import {
  DatasetExportAction,
  DatasetExporter,
  datasetExportParamsSchema,
  type ExportItem,
  isObject,
  z,
} from 'synapse-sdk';

const params = datasetExportParamsSchema.extend({
  /** Boxes whose `properties.confidence` is below this are left out (0: keep all). */
  min_confidence: z.number().min(0).max(1).default(0),
});

class ConfidentExporter extends DatasetExporter {
  override beforeConvert(item: ExportItem): ExportItem {
    const min = (this.params as z.infer<typeof params>).min_confidence;
    if (min <= 0 || !isObject(item.data) || !Array.isArray(item.data.objects)) return item;
    const kept = item.data.objects.filter((o) => {
      const confidence = isObject(o) && isObject(o.properties) ? o.properties.confidence : undefined;
      return typeof confidence !== 'number' || confidence >= min;
    });
    return { ...item, data: { ...item.data, objects: kept } };
  }
}

export class ExportCoco extends DatasetExportAction {
  static override paramsSchema = params;
  static override exporter = ConfidentExporter;
}
