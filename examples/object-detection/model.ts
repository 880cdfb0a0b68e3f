/**
 * The detector's model as a platform model: the CenterNet graph and weights that ship inside the
 * `@vladmandic/human` package, the same network converted to ONNX (`models/centernet.onnx`, made by
 * `scripts/convert-onnx.sh`) and the COCO labels, zipped and uploaded with the chunked upload.
 * Serving then loads it like any user model (`getModel` / `downloadModel`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import type { BackendClient, Model } from 'synapse-sdk';
import { packagedPath } from './packaged.ts';
import { LABELS_FILE, MODEL_FILE, ONNX_FILE, RUNTIMES } from './plugin/network.ts';

export const MODEL_NAME = 'CenterNet MobileNetV3 (COCO)';

/** The ONNX conversion of the packaged graph, committed (see scripts/convert-onnx.sh). */
export const ONNX_MODEL_PATH = join(import.meta.dirname, 'models', ONNX_FILE);

/** The 80 COCO classes in the model's output order: class_id = index + 1. */
export const COCO_LABELS = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
  'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
  'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
  'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
  'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant',
  'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
  'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
  'teddy bear', 'hair drier', 'toothbrush',
]; // biome-ignore format: a table

/** Writes the model archive (graph, weights, ONNX conversion, labels) to `path` and returns it. */
export async function buildModelArchive(path: string): Promise<string> {
  const source = packagedPath('models');
  const graph = await readFile(join(source, MODEL_FILE));
  const { weightsManifest } = JSON.parse(graph.toString('utf8')) as {
    weightsManifest: Array<{ paths: string[] }>;
  };
  const files: Record<string, Uint8Array> = {
    [MODEL_FILE]: graph,
    [ONNX_FILE]: await readFile(ONNX_MODEL_PATH),
    [LABELS_FILE]: strToU8(JSON.stringify(COCO_LABELS)),
  };
  for (const p of weightsManifest.flatMap((g) => g.paths)) files[p] = await readFile(join(source, p));
  // Weights do not compress: store them, so extraction is a copy.
  await writeFile(path, zipSync(files, { level: 0 }));
  return path;
}

/**
 * The registered model of this name, or a new one from the packaged files. A model registered
 * before it carried the ONNX conversion is not reused: it would run on the slower runtime only.
 */
export async function registerModel(
  client: BackendClient,
  workDir: string,
  extra: { plugin?: number; project?: number } = {},
): Promise<Model> {
  const [existing] = await client.listModels({ name: MODEL_NAME });
  const found = existing.find(
    (m) =>
      m.name === MODEL_NAME &&
      m.file &&
      Array.isArray(m.configuration.runtimes) &&
      RUNTIMES.every((r) => (m.configuration.runtimes as unknown[]).includes(r)),
  );
  if (found) return found;
  const archive = await buildModelArchive(join(workDir, 'centernet-coco.zip'));
  return client.createModel({
    name: MODEL_NAME,
    description:
      'COCO object detector (80 classes), 512×512 input, TensorFlow.js graph model and its ONNX conversion',
    model_type: 'object_detection',
    category: 'neural_net',
    configuration: {
      framework: 'tfjs',
      runtimes: [...RUNTIMES],
      input_size: 512,
      labels: COCO_LABELS.length,
    },
    file: archive,
    ...extra,
  });
}
