/**
 * What runs the detector's network: a runtime that takes the resized picture and returns the
 * detections head. The detector does everything around it (decode, resize, thresholds, NMS) once,
 * whichever runtime runs the network in between.
 */

/** The TensorFlow.js graph of a model directory; its weights are the files its manifest names. */
export const MODEL_FILE = 'centernet.json';
/** The same network converted to ONNX (scripts/convert-onnx.sh), for ONNX Runtime. */
export const ONNX_FILE = 'centernet.onnx';
export const LABELS_FILE = 'labels.json';

/** Fastest first: the default is the first one that is installed and has its file in the model. */
export const RUNTIMES = ['onnx', 'tfjs'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export interface Network {
  readonly runtime: RuntimeName;
  /** The network takes `inputSize` × `inputSize` RGB pictures. */
  readonly inputSize: number;
  /**
   * One picture (`inputSize`² × 3 floats, 0-255, row by row) to the detections head: rows of x1,
   * y1, x2, y2 (input pixels), score, class index.
   */
  run(pixels: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** The detections head's row: x1, y1, x2, y2, score, class index. */
export const ROW = 6;
