/** The detection metrics on hand-made cases whose answers are known. */
import { describe, expect, it } from 'vitest';
import { evaluateDetections } from '../plugin/evaluate.ts';

const box = (x: number, y: number, width = 10, height = 10) => ({ x, y, width, height });
const person = (x: number, y: number) => ({ classId: 1, box: box(x, y) });

describe('evaluateDetections', () => {
  it('scores perfect predictions 1', () => {
    const m = evaluateDetections([
      {
        truth: [person(0, 0), person(50, 50)],
        predicted: [
          { ...person(0, 0), confidence: 0.9 },
          { ...person(50, 50), confidence: 0.8 },
        ],
      },
    ]);
    expect(m).toMatchObject({
      precision: 1,
      recall: 1,
      map_50: 1,
      true_positives: 2,
      false_positives: 0,
      false_negatives: 0,
    });
  });

  it('counts a miss, a false alarm, a wrong class and a duplicate', () => {
    const m = evaluateDetections([
      {
        truth: [person(0, 0), person(50, 50), person(100, 100)],
        predicted: [
          { ...person(1, 1), confidence: 0.9 }, // hit (IoU 0.68)
          { ...person(0, 0), confidence: 0.7 }, // duplicate of a matched box: false alarm
          { classId: 2, box: box(50, 50), confidence: 0.8 }, // right place, wrong class
          { ...person(200, 200), confidence: 0.6 }, // nothing there
          { ...person(100, 100), confidence: 0.3 }, // a hit, under the precision threshold
        ],
      },
    ]);
    expect(m).toMatchObject({
      true_positives: 1,
      false_positives: 3,
      false_negatives: 2,
      precision: 0.25,
      recall: 0.3333,
    });
    // Ranked person hits: T F F T over 3 truths → precision envelope 1 (r=1/3), 0.5 (r=2/3): AP = 1/3 + 1/6.
    expect(m.ap_per_class).toEqual({ 1: 0.5 });
    expect(m.map_50).toBe(0.5);
  });

  it('matches a box to the best-overlapping truth only once', () => {
    const m = evaluateDetections(
      [
        {
          truth: [person(0, 0), person(4, 0)],
          predicted: [
            { ...person(4, 0), confidence: 0.9 },
            { ...person(1, 0), confidence: 0.8 },
          ],
        },
      ],
      { confidenceThreshold: 0 },
    );
    expect(m).toMatchObject({ true_positives: 2, false_positives: 0, recall: 1 });
  });
});
