/**
 * The COCO object detector: a CenterNet (MobileNetV3) network run on the CPU by ONNX Runtime when
 * it is installed, else by TensorFlow.js with its WebAssembly backend. Loads from a model directory
 * (the registered model's extracted archive: the graph's JSON, its weight files, the ONNX
 * conversion and `labels.json`) and returns boxes in the image's pixels.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RgbImage, resizeBilinear } from './image.ts';
import { LABELS_FILE, type Network, ONNX_FILE, ROW, RUNTIMES, type RuntimeName } from './network.ts';
import { importOnnxRuntime, loadOnnxNetwork } from './network-onnx.ts';
import { loadTfjsNetwork } from './network-tfjs.ts';

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

export interface LoadOptions {
  /** Which runtime runs the network; by default the fastest one available (see `RUNTIMES`). */
  runtime?: RuntimeName;
  /** ONNX Runtime's threads per inference (default 1: see `OnnxOptions`). */
  threads?: number;
}

/** The runtime to use for the model of `dir`: the one asked for, else the fastest available. */
async function chooseRuntime(dir: string, asked: RuntimeName | undefined): Promise<RuntimeName> {
  if (asked !== undefined && !RUNTIMES.includes(asked))
    throw new Error(`Unknown runtime ${JSON.stringify(asked)} (expected one of ${RUNTIMES.join(', ')})`);
  const hasOnnx = existsSync(join(dir, ONNX_FILE));
  if (asked === 'onnx' && !hasOnnx)
    throw new Error(`The model has no ${ONNX_FILE}: register it again from this version of the plugin`);
  if (asked) return asked;
  return hasOnnx && (await importOnnxRuntime()) ? 'onnx' : 'tfjs';
}

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
    private readonly network: Network,
    readonly labels: string[],
  ) {}

  /** Loads the model of `dir` (a registered model's extracted archive). */
  static async load(dir: string, options: LoadOptions = {}): Promise<Detector> {
    const labels = JSON.parse(await readFile(join(dir, LABELS_FILE), 'utf8')) as string[];
    const runtime = await chooseRuntime(dir, options.runtime);
    const network =
      runtime === 'onnx'
        ? await loadOnnxNetwork(dir, { threads: options.threads })
        : await loadTfjsNetwork(dir);
    return new Detector(network, labels);
  }

  /** The runtime that runs the network. */
  get runtime(): RuntimeName {
    return this.network.runtime;
  }

  /** The objects of one image, best first. */
  async detect(image: RgbImage, options: DetectOptions = DEFAULT_DETECT_OPTIONS): Promise<Detection[]> {
    const { width, height } = image;
    const size = this.network.inputSize;
    const rows = await this.network.run(resizeBilinear(image, size));

    const sx = width / size;
    const sy = height / size;
    const candidates: Detection[] = [];
    for (let row = 0; row + ROW <= rows.length; row += ROW) {
      const [x1, y1, x2, y2, score, index] = rows.subarray(row, row + ROW);
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

  dispose(): Promise<void> {
    return this.network.dispose();
  }
}
