/**
 * The rows of one table this server read or wrote lately, so that reading a record again (a task
 * and its data unit, each time a client asks) is not a query. The server is its database's only
 * writer (the collections' cached counts assume it too), and every write of a row goes through its
 * collection, which tells the cache: a row is kept only when no write could have changed it since.
 *
 * - A write marks its row in flight and forgets it; when it ends it keeps what the database
 *   returned only if no other write of that row overlapped it (the last to finish may not be the
 *   last applied) and the table was not cleared meanwhile.
 * - A read keeps what it found only if no write of the table at all happened while it ran.
 * - Rows are kept as JSON text: each reader parses its own copy, so no caller can change the cache.
 * - Bounded by the size of that text; the least recently used rows go first.
 */
export type RowId = number | string;

export interface CachedRow {
  tenant: string;
  doc: Record<string, unknown>;
}

/** Text kept per table at most (characters of JSON); a row longer than a sixteenth is not kept. */
const MAX_CHARS = 8 * 1024 * 1024;

interface Entry {
  tenant: string;
  json: string;
}

/** A write in progress: how many writes of the row run now, and whether any overlapped. */
interface InFlight {
  count: number;
  overlapped: boolean;
}

export class RowCache {
  readonly #rows = new Map<RowId, Entry>();
  readonly #inFlight = new Map<RowId, InFlight>();
  #chars = 0;
  /** Bumped when the table is emptied: writes that started before must not refill it. */
  #epoch = 0;
  /** Bumped by every write: a read that saw it change keeps nothing. */
  #writes = 0;

  constructor(private readonly key: (id: RowId) => RowId) {}

  /** The row with this id as last known (a fresh copy), or undefined when not kept. */
  get(id: RowId): CachedRow | undefined {
    const k = this.key(id);
    const entry = this.#rows.get(k);
    if (!entry) return undefined;
    // Most recently used last: eviction takes from the front.
    this.#rows.delete(k);
    this.#rows.set(k, entry);
    return { tenant: entry.tenant, doc: JSON.parse(entry.json) };
  }

  /**
   * Before a read: a token that says, when it ends, whether what it found may be kept (-1: never,
   * as a write running now may land before or after the read).
   */
  readStarted(): number {
    return this.#inFlight.size > 0 ? -1 : this.#writes;
  }

  /** After a read that started at `token`: keeps its rows unless a write ran meanwhile. */
  readEnded(token: number, rows: Array<{ id: RowId; tenant: string; doc: Record<string, unknown> }>): void {
    if (token < 0 || token !== this.#writes) return;
    for (const r of rows) this.#keep(r.id, r.tenant, r.doc);
  }

  /** Before a write of `ids`: they are forgotten and marked in flight. */
  writeStarted(ids: RowId[]): { epoch: number; ids: RowId[] } {
    this.#writes++;
    const keys = ids.map(this.key);
    for (const k of keys) {
      this.#forget(k);
      const running = this.#inFlight.get(k);
      if (running) {
        running.count++;
        running.overlapped = true;
      } else this.#inFlight.set(k, { count: 1, overlapped: false });
    }
    return { epoch: this.#epoch, ids: keys };
  }

  /**
   * After a write: keeps the rows it returned (none for a delete or a failed write) when no other
   * write of the same row overlapped it and the table was not cleared meanwhile.
   */
  writeEnded(
    write: { epoch: number; ids: RowId[] },
    rows: Array<{ id: RowId; tenant: string; doc: Record<string, unknown> }>,
  ): void {
    const alone = new Set<RowId>();
    for (const k of write.ids) {
      const running = this.#inFlight.get(k);
      if (!running) continue;
      running.count--;
      if (running.count === 0) {
        this.#inFlight.delete(k);
        if (!running.overlapped) alone.add(k);
      }
    }
    if (write.epoch !== this.#epoch) return;
    for (const r of rows) {
      const k = this.key(r.id);
      if (alone.has(k)) this.#keep(k, r.tenant, r.doc);
    }
  }

  /** Rows created by one statement: new ids, no write of them can be in flight. */
  created(rows: Array<{ id: RowId; tenant: string; doc: Record<string, unknown> }>, epoch: number): void {
    if (epoch !== this.#epoch) return;
    for (const r of rows) if (!this.#inFlight.has(this.key(r.id))) this.#keep(r.id, r.tenant, r.doc);
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** The table was emptied (or many rows changed at once): nothing kept is valid. */
  clear(): void {
    this.#epoch++;
    this.#writes++;
    this.#rows.clear();
    this.#chars = 0;
  }

  #keep(id: RowId, tenant: string, doc: Record<string, unknown>): void {
    const k = this.key(id);
    this.#forget(k);
    const json = JSON.stringify(doc);
    if (json.length > MAX_CHARS / 16) return;
    this.#rows.set(k, { tenant, json });
    this.#chars += json.length;
    for (const [old, entry] of this.#rows) {
      if (this.#chars <= MAX_CHARS) break;
      this.#rows.delete(old);
      this.#chars -= entry.json.length;
    }
  }

  #forget(k: RowId): void {
    const entry = this.#rows.get(k);
    if (!entry) return;
    this.#rows.delete(k);
    this.#chars -= entry.json.length;
  }
}
