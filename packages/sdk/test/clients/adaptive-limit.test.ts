/**
 * The adaptive concurrency limit (AIMD) driven by synthetic completions on a fake clock: no
 * timing, no server. Its use by ToTask against a platform that answers 503 under load is
 * test/actions/to-task-adaptive.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  AdaptiveLimit,
  isOverload,
  LATENCY_TOLERANCE,
  MIN_WINDOW,
} from '../../src/clients/adaptive-limit.ts';
import { ClientTimeoutError, NotFoundError, RateLimitError, ServerError } from '../../src/clients/errors.ts';

/** A limit on a clock that only moves when the test says. */
function limitOnClock(options: { max: number; min?: number; initial?: number }) {
  let t = 0;
  const limit = new AdaptiveLimit({ ...options, now: () => t });
  /** One full window: its completions `latency` ms each, at `rate` completions per ms. */
  const window = (opts: { latency: number; rate: number; outcome?: 'ok' | 'error' }) => {
    const n = Math.max(limit.limit, MIN_WINDOW);
    for (let i = 0; i < n; i++) {
      t += 1 / opts.rate;
      limit.record(opts.latency, opts.outcome ?? 'ok');
    }
  };
  return { limit, window };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('AdaptiveLimit', () => {
  it('starts at 4 and doubles while throughput rises (slow start), up to its cap', () => {
    const { limit, window } = limitOnClock({ max: 20 });
    expect(limit.limit).toBe(4);
    const limits = [];
    for (const rate of [1, 2, 4, 8]) {
      window({ latency: 10, rate });
      limits.push(limit.limit);
    }
    expect(limits).toEqual([8, 16, 20, 20]);
  });

  it('after slow start, grows one slot per window while throughput rises and holds when it does not', () => {
    const { limit, window } = limitOnClock({ max: 32 });
    window({ latency: 10, rate: 1 }); // the first window has nothing to compare with: 4 → 8
    window({ latency: 10, rate: 1 }); // no more throughput at 8: hold, slow start is over
    expect(limit.limit).toBe(8);
    const limits = [];
    for (const rate of [2, 3, 2.5, 2.5, 4]) {
      window({ latency: 10, rate });
      limits.push(limit.limit);
    }
    expect(limits).toEqual([9, 10, 10, 10, 11]);
  });

  it('shrinks by a fifth while the median latency is well above the lowest seen, then grows again', () => {
    const { limit, window } = limitOnClock({ max: 32, initial: 16 });
    window({ latency: 10, rate: 1 }); // lowest median 10 ms; 16 → 32
    expect(limit.limit).toBe(32);
    const queued = 10 * LATENCY_TOLERANCE + 1;
    const limits = [];
    for (let i = 0; i < 3; i++) {
      window({ latency: queued, rate: 1 });
      limits.push(limit.limit);
    }
    expect(limits).toEqual([25, 20, 16]);
    // Latency back near the minimum and throughput rising: one slot per window, no more doubling.
    window({ latency: 12, rate: 2 });
    expect(limit.limit).toBe(17);
    // Latency within the tolerance is not queueing: it does not shrink the limit.
    window({ latency: 10 * LATENCY_TOLERANCE, rate: 3 });
    expect(limit.limit).toBe(18);
  });

  it('halves on an overload, once for the requests already in flight, and never goes below 1', async () => {
    const { limit } = limitOnClock({ max: 32, initial: 16 });
    for (let i = 0; i < 16; i++) await limit.acquire();
    limit.overloaded();
    expect(limit.limit).toBe(8);
    // The other 15 requests of that moment report the same congestion: no further decrease.
    limit.overloaded();
    for (let i = 0; i < 15; i++) limit.release(50, 'overload');
    expect(limit.limit).toBe(8);
    // The 16th: the in-flight ones are done; a new report is new congestion.
    limit.release(50, 'ok');
    const limits = [];
    for (let i = 0; i < 5; i++) {
      limit.overloaded();
      limits.push(limit.limit);
    }
    expect(limits).toEqual([4, 2, 1, 1, 1]);
  });

  it('never exceeds an explicit cap, nor goes below its floor', () => {
    const capped = limitOnClock({ max: 3 });
    expect(capped.limit.limit).toBe(3);
    for (const rate of [1, 2, 3]) capped.window({ latency: 10, rate });
    expect(capped.limit.limit).toBe(3);
    const floored = limitOnClock({ max: 32, min: 2 });
    for (let i = 0; i < 4; i++) floored.limit.overloaded();
    expect(floored.limit.limit).toBe(2);
  });

  it('does not take the latency of failed work as the minimum', () => {
    const { limit, window } = limitOnClock({ max: 32 });
    window({ latency: 100, rate: 1 }); // 4 → 8, lowest median 100 ms
    window({ latency: 1, rate: 2, outcome: 'error' }); // fast 404s: throughput only → 16
    expect(limit.limit).toBe(16);
    window({ latency: 200, rate: 3 }); // 200 ms is 2× the real minimum: not queueing
    expect(limit.limit).toBe(32);
  });

  it('lets at most `limit` run at once and starts waiters when a slot frees or the limit grows', async () => {
    const { limit, window } = limitOnClock({ max: 32, initial: 2 });
    let started = 0;
    const waiters = Array.from({ length: 5 }, () => limit.acquire().then(() => started++));
    await flush();
    expect([started, limit.inFlight]).toEqual([2, 2]);
    limit.release(); // no work done: a slot, and nothing learnt
    await flush();
    expect([started, limit.inFlight, limit.limit]).toEqual([3, 2, 2]);
    window({ latency: 10, rate: 1 }); // a window with rising throughput: 2 → 4, both waiters start
    await flush();
    expect([started, limit.inFlight, limit.limit]).toEqual([5, 4, 4]);
    for (let i = 0; i < 4; i++) limit.release();
    await Promise.all(waiters);
    expect(limit.inFlight).toBe(0);
  });

  it('run() times the work and counts a thrown overload as one', async () => {
    const { limit } = limitOnClock({ max: 32, initial: 8 });
    await expect(limit.run(async () => 'done')).resolves.toBe('done');
    const overload = new RateLimitError(429, 'slow down');
    await expect(limit.run(() => Promise.reject(overload))).rejects.toBe(overload);
    expect(limit.limit).toBe(4);
    await expect(limit.run(() => Promise.reject(new NotFoundError(404, 'gone')))).rejects.toThrow('gone');
    expect([limit.limit, limit.inFlight]).toEqual([4, 0]);
  });
});

describe('isOverload', () => {
  it('is a 429, 502, 503 or 504 answer, or a timeout, also as the cause of another error', () => {
    expect(isOverload(new ServerError(503, 'busy'))).toBe(true);
    expect(isOverload(new RateLimitError(429, 'slow down'))).toBe(true);
    expect(isOverload(new ClientTimeoutError('Backend read timeout (>15s)'))).toBe(true);
    expect(isOverload(Object.assign(new Error('Upload failed with HTTP 503'), { status: 503 }))).toBe(true);
    expect(isOverload(new DOMException('The operation timed out.', 'TimeoutError'))).toBe(true);
    expect(isOverload(new Error('wrapped', { cause: new ServerError(502, 'bad gateway') }))).toBe(true);
    expect(isOverload(new ServerError(500, 'bug'))).toBe(false);
    expect(isOverload(new NotFoundError(404, 'gone'))).toBe(false);
    expect(isOverload(new TypeError('fetch failed'))).toBe(false);
    expect(isOverload(undefined)).toBe(false);
  });
});
