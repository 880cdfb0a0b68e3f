/**
 * `batch_inference` (a job): the detector over many images. Images are read `batch_size` at a time,
 * the next batch while the current one runs; an image that cannot be read or decoded fails alone.
 */
import { BaseInferenceAction, z } from 'synapse-sdk';
import { Detector } from './detector.ts';
import { loadImage, type RgbImage } from './image.ts';
import { cpuFallbackWarning, detectOptions, modelConfig } from './options.ts';
import { type TaskObject, toTaskObjects } from './task-objects.ts';

const Params = z
  .object({
    model: z.int().positive().describe('Id of the registered model'),
    inputs: z
      .array(z.object({ image_path: z.string().min(1) }).loose())
      .min(1)
      .describe('Images by URL or local path'),
  })
  .loose(); // detection params (confidence_threshold, model_config, ...) are checked by detectOptions

type Params = z.infer<typeof Params>;

export type BatchResult =
  | { image_path: string; objects: TaskObject[] }
  | { image_path: string; error: string };

export class BatchInference extends BaseInferenceAction<Params> {
  static override actionName = 'batch_inference';
  static override paramsSchema = Params;
  static override progressCategories = {
    model_load: { proportion: 10 },
    inference: { proportion: 90 },
  };

  override async execute() {
    const { device, runtime } = modelConfig(this.params);
    const warning = cpuFallbackWarning(device);
    if (warning) this.ctx.logger.warning(warning);

    this.setProgress(0, 1, this.progress.MODEL_LOAD);
    const detector = await Detector.load((await this.loadModel(this.params.model)).path, { runtime });
    this.setProgress(1, 1, this.progress.MODEL_LOAD);
    try {
      const results = await this.infer(detector, this.params.inputs);
      const failed = results.filter((r) => 'error' in r).length;
      return { processed_count: results.length - failed, failed_count: failed, results };
    } finally {
      await detector.dispose();
    }
  }

  override async infer(detector: Detector, inputs: Array<{ image_path: string }>): Promise<BatchResult[]> {
    const options = detectOptions(this.params);
    const { batchSize } = modelConfig(this.params);
    const read = (start: number) =>
      inputs.slice(start, start + batchSize).map((input) =>
        loadImage(input.image_path).then(
          (image): RgbImage | Error => image,
          (err: Error) => err,
        ),
      );
    const results: BatchResult[] = [];
    let failed = 0;
    let next = read(0);
    for (let start = 0; start < inputs.length; start += batchSize) {
      const batch = next;
      next = read(start + batchSize); // prefetch: the next images download while these run
      for (const [i, pending] of batch.entries()) {
        const imagePath = inputs[start + i].image_path;
        const image = await pending;
        if (image instanceof Error) {
          failed++;
          results.push({ image_path: imagePath, error: `Cannot read the image: ${image.message}` });
        } else {
          results.push({ image_path: imagePath, ...toTaskObjects(await detector.detect(image, options)) });
        }
        this.setProgress(results.length, inputs.length, this.progress.INFERENCE);
      }
      this.setMetrics({ total: inputs.length, success: results.length - failed, failed }, 'inference');
    }
    return results;
  }
}
