/**
 * Fault injection for tests (off unless the server is started with `faults: true`): the next N
 * matching requests answer an error status, or hang before answering.
 */
export interface Fault {
  /** Answer with this status (e.g. 503)... */
  status?: number;
  /** ...or hold the request this long (ms) before handling it normally. */
  hang_ms?: number;
  /** How many requests it applies to; default 1. */
  count?: number;
  /**
   * Only while more than this many requests are being handled (this one included): a platform
   * that answers `status` (503) under load. Each request it answers counts against `count`.
   */
  max_in_flight?: number;
  /** Only requests whose path contains this string. */
  path?: string;
  /** Optional response body and headers for `status`. */
  body?: unknown;
  headers?: Record<string, string>;
}

export class Faults {
  private queue: Array<Fault & { remaining: number }> = [];

  add(fault: Fault): void {
    this.queue.push({ ...fault, remaining: fault.count ?? 1 });
  }

  /** Faults still pending, with how many requests each will still hit. */
  pending(): Array<Fault & { remaining: number }> {
    return this.queue.map((f) => ({ ...f }));
  }

  clear(): void {
    this.queue = [];
  }

  /** Takes the fault for this request path, if any; `inFlight` counts the requests being handled. */
  take(path: string, inFlight = 0): Fault | null {
    const fault = this.queue.find(
      (f) =>
        (!f.path || path.includes(f.path)) && (f.max_in_flight === undefined || inFlight > f.max_in_flight),
    );
    if (!fault) return null;
    fault.remaining--;
    if (fault.remaining <= 0) this.queue.splice(this.queue.indexOf(fault), 1);
    return fault;
  }
}
