/**
 * Helpers shared by the clients that run many requests at once (downloads, bulk uploads); their
 * concurrency itself is an `AdaptiveLimit` (adaptive-limit.ts).
 */

/** `value`, or a `RangeError` naming the option when it is not an integer >= 1 (batch sizes, workers). */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
