/** readAhead: a bounded buffer between a listing and the export, that ends its source when stopped. */
import { describe, expect, it } from 'vitest';
import { readAhead } from '../../src/actions/export/read-ahead.ts';

/** A source of `n` numbers that records how far it was read and whether it was closed. */
function source(n: number, failAt = -1) {
  const state = { produced: 0, closed: false };
  async function* gen() {
    try {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error(`item ${i} is broken`);
        state.produced++;
        yield i;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, items: gen() };
}

describe('readAhead', () => {
  it('yields every item in order, never more than `size` ahead of the consumer', async () => {
    const { state, items } = source(500);
    const seen: number[] = [];
    let maxAhead = 0;
    for await (const item of readAhead(items, 10)) {
      seen.push(item);
      // Give the producer time to fill the buffer.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      maxAhead = Math.max(maxAhead, state.produced - seen.length);
    }
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(maxAhead).toBeGreaterThan(1);
    // The buffer, plus the one item the producer holds while it waits for room.
    expect(maxAhead).toBeLessThanOrEqual(11);
  });

  it("passes the source's error to the consumer after the items before it", async () => {
    const { items } = source(50, 20);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const item of readAhead(items, 10)) seen.push(item);
      })(),
    ).rejects.toThrow('item 20 is broken');
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('ends its source when the consumer stops early', async () => {
    const { state, items } = source(1000);
    for await (const item of readAhead(items, 10)) if (item === 3) break;
    expect(state.closed).toBe(true);
    expect(state.produced).toBeLessThan(20);
  });
});
