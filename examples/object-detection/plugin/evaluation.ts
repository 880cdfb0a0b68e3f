/**
 * `test`: runs the detector over a ground-truth dataset version (events whose data are bbox objects
 * in the task-object format) and reports precision, recall and mAP@0.5 as metrics.
 */
import { BaseInferenceAction, type GroundTruthEvent, isObject, z } from 'synapse-sdk';
import { Detector } from './detector.ts';
import { type EvaluatedImage, evaluateDetections, type LabelledBox } from './evaluate.ts';
import { loadImage } from './image.ts';
import { detectOptions, modelConfig } from './options.ts';

const Params = z.object({
  model: z.int().positive().describe('Id of the registered model'),
  ground_truth_dataset_version: z.int().positive().describe('The labelled set'),
  confidence_threshold: z.number().min(0).max(1).default(0.5).describe('For precision and recall'),
  model_config: z.looseObject({}).optional().describe('runtime: onnx or tfjs (default: the fastest)'),
});

/** The event's image: its primary file, else its first file with a URL. */
function imageUrl(event: GroundTruthEvent): string | null {
  const files = Object.values(event.files ?? {}).filter(isObject);
  const file = files.find((f) => f.is_primary && f.url) ?? files.find((f) => f.url);
  return typeof file?.url === 'string' ? file.url : null;
}

function truthBoxes(event: GroundTruthEvent): LabelledBox[] {
  const objects = Array.isArray(event.data?.objects) ? event.data.objects : [];
  return objects
    .filter(
      (o: any) => isObject(o) && o.type === 'bbox' && Number.isInteger(o.class_id) && isObject(o.coordinates),
    )
    .map((o: any) => ({ classId: o.class_id, box: o.coordinates }));
}

export class Evaluation extends BaseInferenceAction<z.infer<typeof Params>> {
  static override actionName = 'test';
  static override paramsSchema = Params;
  static override progressCategories = { model_load: { proportion: 10 }, test: { proportion: 90 } };

  override async execute() {
    const { model, ground_truth_dataset_version: version, confidence_threshold } = this.params;
    this.setProgress(0, 1, this.progress.MODEL_LOAD);
    const { runtime } = modelConfig(this.params);
    const detector = await Detector.load((await this.loadModel(model)).path, { runtime });
    this.setProgress(1, 1, this.progress.MODEL_LOAD);
    // Every prediction counts for mAP, so detect at a low threshold and cut later for precision/recall.
    const options = { ...detectOptions({}), confidenceThreshold: 0.05 };
    try {
      const events = await this.client.listGroundTruthEvents(
        { ground_truth_dataset_versions: version },
        { listAll: true },
      );
      const images: EvaluatedImage[] = [];
      let skipped = 0;
      for await (const event of events) {
        const url = imageUrl(event);
        const image = url ? await loadImage(url).catch((err: Error) => err) : new Error('no image file');
        if (image instanceof Error) {
          skipped++;
          this.ctx.logger.warning(`Ground truth event ${event.id} skipped: ${image.message}`);
        } else {
          const predicted = (await detector.detect(image, options)).map((d) => ({
            classId: d.classId,
            confidence: d.confidence,
            box: d.box,
          }));
          images.push({ truth: truthBoxes(event), predicted });
        }
        this.setProgress(images.length + skipped, events.count, 'test');
      }
      // A hit overlaps its truth box by IoU >= 0.5 (what "mAP@0.5" names).
      const metrics = evaluateDetections(images, {
        iouThreshold: 0.5,
        confidenceThreshold: confidence_threshold,
      });
      const { precision, recall, map_50 } = metrics;
      this.setMetrics({ precision, recall, map_50 }, 'test');
      return { images: images.length, skipped, runtime: detector.runtime, ...metrics };
    } finally {
      await detector.dispose();
    }
  }
}
