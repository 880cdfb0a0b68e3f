/**
 * The `inference` serve deployment: one image per request (`image_path`, as ToTask sends it) with
 * the detection params of `pre_processor_params`; answers in the task-object format. The model is
 * the request's multiplexed model, loaded once per replica.
 */
import { BaseServeDeployment, type Model, ServeRequestError } from 'synapse-sdk';
import { Detector } from './detector.ts';
import { loadImage } from './image.ts';
import { cpuFallbackWarning, detectOptions, modelConfig } from './options.ts';
import { toTaskObjects } from './task-objects.ts';

export class ObjectDetector extends BaseServeDeployment {
  /** Warned once per replica, not per request. */
  #warned = new Set<string>();

  protected override _getModel(info: Model & { path: string }): Promise<Detector> {
    return Detector.load(info.path);
  }

  override async infer(body: unknown) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ServeRequestError('Request body must be a JSON object', 400);
    }
    const params = body as Record<string, unknown>;
    if (typeof params.image_path !== 'string' || params.image_path === '') {
      throw new ServeRequestError('image_path is required (the URL of the image)', 400);
    }
    let options: ReturnType<typeof detectOptions>;
    let device: string;
    try {
      options = detectOptions(params);
      device = modelConfig(params).device;
    } catch (err) {
      throw new ServeRequestError((err as Error).message, 400);
    }
    const warning = cpuFallbackWarning(device);
    if (warning && !this.#warned.has(device)) {
      this.#warned.add(device);
      console.warn(`WARNING: ${warning}`);
    }
    const detector = (await this.getModel()) as Detector;
    const image = await loadImage(params.image_path).catch((err: Error) => {
      throw new ServeRequestError(`Cannot read the image: ${err.message}`, 422);
    });
    return toTaskObjects(await detector.detect(image, options));
  }
}
