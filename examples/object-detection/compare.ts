/**
 * Whether two runs found the same objects: the runtimes' kernels round floats differently, so a
 * confidence may move by a thousandth and a box edge by a pixel, and near-equal candidates may
 * swap places. Each detection is matched to one of the other run's, of the same class, with
 * nearly the same confidence and box.
 */
import { type Detection, iou } from './plugin/detector.ts';

export interface Tolerance {
  /** Largest difference of confidence. */
  confidence: number;
  /** Smallest IoU of the two boxes. */
  iou: number;
  /** Detections this close to the run's threshold may be missing from the other run. */
  margin: number;
  threshold: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { confidence: 0.005, iou: 0.9, margin: 0.005, threshold: 0 };

/** The detections of `a` (above the margin) without a counterpart in `b`. */
function unmatchedIn(a: Detection[], b: Detection[], t: Tolerance): Detection[] {
  const taken = new Set<Detection>();
  const missing: Detection[] = [];
  for (const d of a) {
    const match = b.find(
      (o) =>
        !taken.has(o) &&
        o.classId === d.classId &&
        Math.abs(o.confidence - d.confidence) <= t.confidence &&
        iou(o.box, d.box) >= t.iou,
    );
    if (match) taken.add(match);
    else if (d.confidence >= t.threshold + t.margin) missing.push(d);
  }
  return missing;
}

/** Detections of either run with no counterpart in the other: empty when they found the same. */
export function differingDetections(
  a: Detection[],
  b: Detection[],
  tolerance: Partial<Tolerance> = {},
): { onlyInA: Detection[]; onlyInB: Detection[] } {
  const t = { ...DEFAULT_TOLERANCE, ...tolerance };
  return { onlyInA: unmatchedIn(a, b, t), onlyInB: unmatchedIn(b, a, t) };
}
