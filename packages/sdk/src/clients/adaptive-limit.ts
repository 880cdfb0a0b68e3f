/**
 * An adaptive concurrency limit for the operations that fan out requests (ToTask, bulk uploads,
 * batch annotation, URL downloads): AIMD, as TCP finds its window. The right number of requests
 * in flight depends on the platform's latency and load, which no fixed default knows: 4 leaves
 * most of a remote platform's throughput unused, 32 queues up on a local one and pushes a loaded
 * one into 503s.
 *
 * Each window of completions (at least one per slot, and at least `MIN_WINDOW`) is judged as a
 * whole, so one slow request does not move the limit:
 * - the server said it is overloaded (429, 503, 502, 504) or a request timed out → the limit
 *   halves, at once, and once per window (the requests already in flight when it halved may
 *   report the same congestion again);
 * - the window's median latency is `LATENCY_TOLERANCE` times the lowest median seen → requests are
 *   queueing somewhere and more of them only add latency: the limit shrinks by a fifth;
 * - otherwise, while throughput rises, the limit grows: doubling at first (slow start, until
 *   throughput stops rising or the first decrease), then one slot per window.
 * It stays within [min, max]; `max` is the user's explicit concurrency when they give one.
 *
 * One object per operation: nothing is shared between runs. The clock is injectable so tests
 * drive it with synthetic completions and no timing.
 */

/** How a unit of work ended, for the limit. */
export type LoadOutcome = 'ok' | 'overload' | 'error';

export interface AdaptiveLimitOptions {
  /** The cap: the user's explicit concurrency, else the operation's default maximum. */
  max: number;
  /** The floor; default 1. */
  min?: number;
  /** The limit at the start; default 4 (within [min, max]). */
  initial?: number;
  /** Milliseconds, monotonic; default `performance.now`. */
  now?: () => number;
}

export const DEFAULT_INITIAL_LIMIT = 4;
/** Completions a window needs at least, so its median and rate mean something. */
export const MIN_WINDOW = 8;
/** A window's median latency this many times the lowest seen counts as queueing. */
export const LATENCY_TOLERANCE = 4;
const OVERLOAD_DECREASE = 0.5;
const LATENCY_DECREASE = 0.8;

/** Statuses by which a server says it is overloaded, or a gateway that it cannot reach it. */
const OVERLOAD_STATUSES = new Set([429, 502, 503, 504]);

/**
 * Whether `err` says the server is overloaded: an overload status (the clients' errors carry
 * `statusCode`, others `status`) or a timeout (`ClientTimeoutError` is 408, `AbortSignal.timeout`
 * throws `TimeoutError`). Checked along the `cause` chain, as the actions wrap client errors.
 */
export function isOverload(err: unknown): boolean {
  let e: any = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++, e = e.cause) {
    const status = e.statusCode ?? e.status;
    if (typeof status === 'number' && (OVERLOAD_STATUSES.has(status) || status === 408)) return true;
    if (e.name === 'TimeoutError') return true;
  }
  return false;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export class AdaptiveLimit {
  readonly min: number;
  readonly max: number;
  private value: number;
  private readonly now: () => number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private slowStart = true;
  private completions = 0;
  /** Overload reports before this many completions are the congestion already acted on. */
  private overloadQuietUntil = 0;
  private windowStart: number;
  private windowCount = 0;
  private windowLatencies: number[] = [];
  private minLatency = Number.POSITIVE_INFINITY;
  private lastThroughput: number | null = null;

  constructor(options: AdaptiveLimitOptions) {
    this.max = Math.max(1, Math.floor(options.max));
    this.min = Math.min(this.max, Math.max(1, Math.floor(options.min ?? 1)));
    this.value = this.clamp(options.initial ?? DEFAULT_INITIAL_LIMIT);
    this.now = options.now ?? (() => performance.now());
    this.windowStart = this.now();
  }

  /** How many may run at once now. */
  get limit(): number {
    return Math.floor(this.value);
  }

  /** How many are running now. */
  get inFlight(): number {
    return this.active;
  }

  /** Waits for a slot. Each `acquire` is followed by one `release`. */
  acquire(): Promise<void> {
    if (this.active < this.limit && this.waiting.length === 0) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /**
   * Frees a slot. With `latencyMs` and `outcome`, the work it ran counts as a completion;
   * without, it did nothing (the caller found no work left) and the limit learns nothing.
   */
  release(latencyMs?: number, outcome: LoadOutcome = 'ok'): void {
    this.active--;
    if (latencyMs !== undefined) this.record(latencyMs, outcome);
    else this.pump();
  }

  /** Runs `fn` in a slot, timing it; a thrown overload (`isOverload`) counts as one. */
  async run<R>(fn: () => Promise<R>): Promise<R> {
    await this.acquire();
    const start = this.now();
    let outcome: LoadOutcome = 'ok';
    try {
      return await fn();
    } catch (err) {
      outcome = isOverload(err) ? 'overload' : 'error';
      throw err;
    } finally {
      this.release(this.now() - start, outcome);
    }
  }

  /**
   * The server said it is overloaded (a retried 503, a 429), though the work may still succeed:
   * halve, once for the congestion the requests now in flight are part of.
   */
  readonly overloaded = (): void => {
    if (this.completions < this.overloadQuietUntil) return;
    this.value = this.clamp(this.value * OVERLOAD_DECREASE);
    this.slowStart = false;
    this.overloadQuietUntil = this.completions + this.active;
    this.newWindow();
  };

  /** One completed unit of work: its latency and how it ended. */
  record(latencyMs: number, outcome: LoadOutcome): void {
    this.completions++;
    if (outcome === 'overload') {
      this.overloaded();
      this.pump(); // a slot may have freed, though the limit shrank
      return;
    }
    this.windowCount++;
    // A failure the server answered quickly (a 404) says nothing of its queue: rate only.
    if (outcome === 'ok') this.windowLatencies.push(latencyMs);
    if (this.windowCount >= Math.max(this.limit, MIN_WINDOW)) this.endWindow();
    this.pump();
  }

  private endWindow(): void {
    const elapsed = Math.max(this.now() - this.windowStart, 1e-3);
    const throughput = this.windowCount / elapsed;
    const latency = this.windowLatencies.length > 0 ? median(this.windowLatencies) : null;
    if (latency !== null) this.minLatency = Math.min(this.minLatency, latency);
    if (latency !== null && latency > this.minLatency * LATENCY_TOLERANCE) {
      this.value = this.clamp(this.value * LATENCY_DECREASE);
      this.slowStart = false;
    } else if (this.lastThroughput === null || throughput > this.lastThroughput) {
      this.value = this.clamp(this.slowStart ? this.value * 2 : this.value + 1);
    } else {
      this.slowStart = false; // throughput stopped rising: hold
    }
    this.lastThroughput = throughput;
    this.newWindow();
  }

  private newWindow(): void {
    this.windowStart = this.now();
    this.windowCount = 0;
    this.windowLatencies = [];
  }

  private clamp(value: number): number {
    return Math.min(this.max, Math.max(this.min, value));
  }

  /** Starts waiters while there are free slots (the limit may have grown). */
  private pump(): void {
    while (this.waiting.length > 0 && this.active < this.limit) {
      this.active++;
      this.waiting.shift()!();
    }
  }
}
