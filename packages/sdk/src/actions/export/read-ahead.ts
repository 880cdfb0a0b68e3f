/**
 * Reads an async iterable ahead of its consumer, at most `size` items: a paginated listing fetches
 * its next page while the items of the current one are being exported, instead of the export
 * waiting for each page in turn. Memory stays bounded by `size` (about a page) whatever the total.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, size: number): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const buffer: T[] = [];
  let finished = false;
  let stopped = false;
  let failure: { error: unknown } | null = null;
  // The consumer waiting for an item, the producer waiting for room: at most one of each.
  let itemReady: (() => void) | null = null;
  let roomReady: (() => void) | null = null;
  const wake = (which: 'item' | 'room') => {
    const resolve = which === 'item' ? itemReady : roomReady;
    if (which === 'item') itemReady = null;
    else roomReady = null;
    resolve?.();
  };
  const producer = (async () => {
    try {
      while (!stopped) {
        if (buffer.length >= size) {
          await new Promise<void>((resolve) => {
            roomReady = resolve;
          });
          continue;
        }
        const next = await iterator.next();
        if (next.done) break;
        buffer.push(next.value);
        wake('item');
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      wake('item');
    }
  })();
  try {
    for (;;) {
      if (buffer.length > 0) {
        const item = buffer.shift() as T;
        wake('room');
        yield item;
      } else if (finished) {
        if (failure) throw (failure as { error: unknown }).error;
        return;
      } else {
        await new Promise<void>((resolve) => {
          itemReady = resolve;
        });
      }
    }
  } finally {
    // The consumer stopped early (a stop, a failure): end the producer and the source.
    stopped = true;
    wake('room');
    await producer;
    if (!failure) await iterator.return?.();
  }
}
