/** Helpers shared by the clients that run many requests at once (downloads, bulk uploads). */

/** A tiny semaphore: at most `limit` callers run `fn` at once. */
export function limiter(limit: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <R>(fn: () => Promise<R>): Promise<R> => {
    // A finishing caller hands its slot straight to the next waiter, so none can slip in between.
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** `value`, or a `RangeError` naming the option when it is not an integer >= 1 (batch sizes, workers). */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
