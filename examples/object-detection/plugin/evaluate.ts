/**
 * Detection metrics over a labelled set: precision and recall at a confidence threshold, and
 * mAP@0.5 (per-class average precision, all-point interpolation, averaged over the classes
 * that have ground truth).
 */
import { type Box, iou } from './detector.ts';

export interface LabelledBox {
  classId: number;
  box: Box;
}
export interface ScoredBox extends LabelledBox {
  confidence: number;
}
export interface EvaluatedImage {
  truth: LabelledBox[];
  predicted: ScoredBox[];
}
export interface DetectionMetrics {
  precision: number;
  recall: number;
  map_50: number;
  true_positives: number;
  false_positives: number;
  false_negatives: number;
  /** Average precision per class id with ground truth. */
  ap_per_class: Record<string, number>;
}

/** Marks each prediction (best first) as a hit of the best-overlapping unmatched truth box of its class. */
function match(images: EvaluatedImage[], iouThreshold: number) {
  const matched: Array<{ classId: number; confidence: number; hit: boolean }> = [];
  for (const { truth, predicted } of images) {
    const taken = new Set<number>();
    for (const p of [...predicted].sort((a, b) => b.confidence - a.confidence)) {
      let best = -1;
      let bestIou = iouThreshold;
      for (const [i, t] of truth.entries()) {
        if (taken.has(i) || t.classId !== p.classId) continue;
        const overlap = iou(p.box, t.box);
        if (overlap >= bestIou) {
          best = i;
          bestIou = overlap;
        }
      }
      if (best >= 0) taken.add(best);
      matched.push({ classId: p.classId, confidence: p.confidence, hit: best >= 0 });
    }
  }
  return matched;
}

/** Area under the precision envelope of hits ranked by confidence. */
function averagePrecision(hits: boolean[], truthCount: number): number {
  const recall: number[] = [0];
  const precision: number[] = [1];
  let tp = 0;
  for (const [i, hit] of hits.entries()) {
    if (hit) tp++;
    recall.push(tp / truthCount);
    precision.push(tp / (i + 1));
  }
  for (let i = precision.length - 2; i >= 0; i--) precision[i] = Math.max(precision[i], precision[i + 1]);
  let ap = 0;
  for (let i = 1; i < recall.length; i++) ap += (recall[i] - recall[i - 1]) * precision[i];
  return ap;
}

const round = (n: number) => Math.round(n * 10000) / 10000;

export function evaluateDetections(
  images: EvaluatedImage[],
  { iouThreshold = 0.5, confidenceThreshold = 0.5 } = {},
): DetectionMetrics {
  const matched = match(images, iouThreshold);
  const truthPerClass = new Map<number, number>();
  for (const t of images.flatMap((i) => i.truth))
    truthPerClass.set(t.classId, (truthPerClass.get(t.classId) ?? 0) + 1);
  const truthTotal = [...truthPerClass.values()].reduce((a, b) => a + b, 0);

  const confident = matched.filter((m) => m.confidence >= confidenceThreshold);
  const tp = confident.filter((m) => m.hit).length;
  const fp = confident.length - tp;

  const apPerClass: Record<string, number> = {};
  for (const [classId, count] of truthPerClass) {
    const ranked = matched.filter((m) => m.classId === classId).sort((a, b) => b.confidence - a.confidence);
    apPerClass[classId] = round(
      averagePrecision(
        ranked.map((m) => m.hit),
        count,
      ),
    );
  }
  const aps = Object.values(apPerClass);
  return {
    precision: round(confident.length ? tp / confident.length : 0),
    recall: round(truthTotal ? tp / truthTotal : 0),
    map_50: round(aps.length ? aps.reduce((a, b) => a + b, 0) / aps.length : 0),
    true_positives: tp,
    false_positives: fp,
    false_negatives: truthTotal - tp,
    ap_per_class: apPerClass,
  };
}
