/**
 * The COCO object detector: a CenterNet (MobileNetV3) TensorFlow.js graph model run on the CPU with
 * the WebAssembly backend. Loads from a model directory (the registered model's extracted archive:
 * the graph's JSON, its weight files and `labels.json`) and returns boxes in the image's pixels.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { type GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from './image.ts';

/** The graph of a model directory; its weights are the files its manifest names. */
export const MODEL_FILE = 'centernet.json';
export const LABELS_FILE = 'labels.json';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Detection {
  /** 1-based COCO class (1 = person), as `class_filter` names them. */
  classId: number;
  label: string;
  confidence: number;
  box: Box;
}

export interface DetectOptions {
  confidenceThreshold: number;
  /** Boxes of one class overlapping more than this (IoU) with a better one are dropped. */
  nmsThreshold: number;
  /** Class ids to keep; null keeps all. */
  classFilter: number[] | null;
  /** Boxes whose shorter side is below this many pixels are dropped. */
  minObjectSize: number;
  maxObjects: number;
}

export const DEFAULT_DETECT_OPTIONS: DetectOptions = {
  confidenceThreshold: 0.5,
  nmsThreshold: 0.5,
  classFilter: null,
  minObjectSize: 0,
  maxObjects: 100,
};

let backend: Promise<void> | null = null;

/** One WebAssembly backend per process (TensorFlow.js keeps its engine global). */
function useWasmBackend(): Promise<void> {
  backend ??= (async () => {
    const wasm = createRequire(import.meta.url).resolve(
      '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
    );
    setWasmPaths(`${dirname(wasm)}/`);
    if (!(await tf.setBackend('wasm')))
      throw new Error('The WebAssembly backend of TensorFlow.js failed to start');
    await tf.ready();
  })();
  return backend;
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  signature?: { inputs?: Record<string, TensorInfo>; outputs?: Record<string, TensorInfo> };
}
interface TensorInfo {
  name: string;
  tensorShape?: { dim?: Array<{ size: string }> };
}
const dims = (t: TensorInfo) => (t.tensorShape?.dim ?? []).map((d) => Number(d.size));

/** Intersection over union of two boxes. */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Greedy non-maximum suppression per class over detections sorted by confidence. */
function suppress(sorted: Detection[], threshold: number): Detection[] {
  const kept: Detection[] = [];
  for (const d of sorted) {
    const overlaps = kept.some((k) => k.classId === d.classId && iou(k.box, d.box) > threshold);
    if (!overlaps) kept.push(d);
  }
  return kept;
}

export class Detector {
  private constructor(
    private readonly model: GraphModel,
    readonly labels: string[],
    private readonly inputSize: number,
    private readonly output: string,
  ) {}

  /** Loads the model of `dir` (a registered model's extracted archive). */
  static async load(dir: string): Promise<Detector> {
    await useWasmBackend();
    const json = JSON.parse(await readFile(join(dir, MODEL_FILE), 'utf8')) as ModelJson;
    const labels = JSON.parse(await readFile(join(dir, LABELS_FILE), 'utf8')) as string[];
    const weights = await Promise.all(
      json.weightsManifest.flatMap((group) => group.paths).map((p) => readFile(join(dir, p))),
    );
    const data = Buffer.concat(weights);
    const input = Object.values(json.signature?.inputs ?? {})[0];
    // The detections head: [1, N, 6] rows of x1, y1, x2, y2 (input pixels), score, class index.
    const output = Object.values(json.signature?.outputs ?? {}).find((t) => {
      const d = dims(t);
      return d.length === 3 && d[2] === 6;
    });
    if (!input || !output) throw new Error(`${MODEL_FILE} has no [1, N, 6] detections output`);
    const model = await loadGraphModel({
      load: async () => ({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      }),
    });
    return new Detector(model, labels, dims(input)[1], output.name);
  }

  /** The objects of one image, best first. */
  async detect(image: RgbImage, options: DetectOptions = DEFAULT_DETECT_OPTIONS): Promise<Detection[]> {
    const { width, height } = image;
    const size = this.inputSize;
    const result = tf.tidy(() => {
      const pixels = tf.cast(tf.tensor4d(image.data, [1, height, width, 3], 'int32'), 'float32');
      return this.model.execute(tf.image.resizeBilinear(pixels as tf.Tensor4D, [size, size]), this.output);
    }) as tf.Tensor;
    const rows = (await result.array()) as number[][][];
    result.dispose();

    const sx = width / size;
    const sy = height / size;
    const candidates: Detection[] = [];
    for (const [x1, y1, x2, y2, score, index] of rows[0]) {
      const classId = index + 1;
      if (!(score >= options.confidenceThreshold) || !Number.isInteger(index)) continue;
      if (options.classFilter && !options.classFilter.includes(classId)) continue;
      const x = Math.max(0, x1 * sx);
      const y = Math.max(0, y1 * sy);
      const box = {
        x: Math.round(x),
        y: Math.round(y),
        width: Math.round(Math.min(width, x2 * sx) - x),
        height: Math.round(Math.min(height, y2 * sy) - y),
      };
      if (Math.min(box.width, box.height) < Math.max(1, options.minObjectSize)) continue;
      const label = this.labels[index] ?? `class ${classId}`;
      candidates.push({ classId, label, confidence: Math.round(score * 1000) / 1000, box });
    }
    candidates.sort((a, b) => b.confidence - a.confidence);
    return suppress(candidates, options.nmsThreshold).slice(0, options.maxObjects);
  }

  dispose(): void {
    this.model.dispose();
  }
}
