/**
 * A push parser for multipart/form-data bodies whose file part is large: the chunked-upload
 * route's 50 MiB parts. The general multipart plugin (busboy) costs several stream hops and
 * allocations per socket read, which made the devserver the slow side of an upload; here each
 * socket read is searched once for the delimiter and its file bytes are handed on as slices of
 * that same buffer, never copied. Only what the route needs: text fields and file parts, each
 * with its name; part headers and field values are bounded.
 */
import { badRequest } from './errors.ts';

export interface FormHandlers {
  field(name: string, value: string): void;
  /** A file part starts; data for it follows through `fileData`. */
  fileStart(name: string, filename: string): void;
  /** The next bytes of the current file part: a view of the socket's buffer, not a copy. */
  fileData(data: Buffer): void;
}

const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
const HEADERS_END = Buffer.from('\r\n\r\n');
const MAX_HEADERS = 16 * 1024;
const MAX_FIELD = 64 * 1024;

/** The boundary of a `multipart/form-data; boundary=...` content type (RFC 2046: 1-70 chars). */
export function formBoundary(contentType: string | undefined): string {
  const m = /^multipart\/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(
    contentType ?? '',
  );
  if (!m) throw badRequest({ detail: 'Multipart form parse error - Invalid boundary in multipart: None' });
  return (m[1] ?? m[2])!;
}

const invalid = (why: string) => badRequest({ detail: `Multipart form parse error - ${why}` });

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'field' | 'file' | 'done';

export class FormStreamParser {
  /** `\r\n--boundary`: the body is read as if it began with CRLF, so the first one matches too. */
  readonly #delimiter: Buffer;
  readonly #on: FormHandlers;
  #state: State = 'preamble';
  /** Bytes held back between reads: a possible delimiter prefix, or a part's headers/field so far. */
  #held: Buffer = CRLF;
  #name = '';

  constructor(boundary: string, handlers: FormHandlers) {
    this.#delimiter = Buffer.from(`\r\n--${boundary}`);
    this.#on = handlers;
  }

  push(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0 && this.#state !== 'done') data = this.#step(data);
  }

  /** The body ended: anything short of the closing delimiter is a truncated body. */
  end(): void {
    if (this.#state !== 'done') throw invalid('Unexpected end of form');
  }

  /** Consumes a prefix of `data` in the current state and returns the rest. */
  #step(data: Buffer): Buffer {
    switch (this.#state) {
      case 'preamble':
      case 'field':
      case 'file':
        return this.#content(data);
      case 'afterDelimiter': {
        const have = this.#hold(data, 2);
        if (!have) return data.subarray(data.length);
        const [next, rest] = have;
        if (next[0] === 0x2d && next[1] === 0x2d) {
          this.#state = 'done'; // the epilogue after `--` is ignored
        } else if (next[0] === 0x0d && next[1] === 0x0a) {
          this.#state = 'headers';
        } else {
          throw invalid('Malformed part delimiter');
        }
        return rest;
      }
      case 'headers':
        return this.#headers(data);
      default:
        return data.subarray(data.length);
    }
  }

  /** Collects exactly `n` bytes across reads; returns them and the rest, or null for "need more". */
  #hold(data: Buffer, n: number): [Buffer, Buffer] | null {
    const joined = this.#held.length ? Buffer.concat([this.#held, data]) : data;
    if (joined.length < n) {
      this.#held = Buffer.from(joined);
      return null;
    }
    this.#held = EMPTY;
    return [joined.subarray(0, n), joined.subarray(n)];
  }

  #headers(data: Buffer): Buffer {
    const joined = this.#held.length ? Buffer.concat([this.#held, data]) : data;
    const end = joined.indexOf(HEADERS_END);
    if (end === -1) {
      if (joined.length > MAX_HEADERS) throw invalid('Part headers too large');
      this.#held = Buffer.from(joined);
      return data.subarray(data.length);
    }
    if (end > MAX_HEADERS) throw invalid('Part headers too large');
    this.#held = EMPTY;
    const disposition = /^content-disposition:\s*form-data\s*;(.*)$/im.exec(
      joined.subarray(0, end).toString('latin1'),
    );
    const param = (key: string) =>
      new RegExp(`;\\s*${key}="([^"]*)"`, 'i').exec(`;${disposition?.[1] ?? ''}`)?.[1];
    const name = param('name');
    if (name === undefined) throw invalid('Part without a Content-Disposition name');
    this.#name = Buffer.from(name, 'latin1').toString('utf8');
    const filename = param('filename');
    if (filename === undefined) {
      this.#state = 'field';
    } else {
      this.#state = 'file';
      this.#on.fileStart(this.#name, Buffer.from(filename, 'latin1').toString('utf8'));
    }
    return joined.subarray(end + HEADERS_END.length);
  }

  /**
   * Part content (or the preamble) up to the next delimiter. A file's bytes go on as slices of
   * `data`; only a tail that could be the start of a delimiter is held back (rarely more than
   * nothing in binary data), so there is no per-read copy.
   */
  #content(data: Buffer): Buffer {
    const delimiter = this.#delimiter;
    const held = this.#held;
    if (held.length) {
      // The held bytes are a delimiter's start (a boundary holds no CR, so only at their
      // first byte): this read either finishes that delimiter or shows they were content.
      const rest = delimiter.subarray(held.length);
      const seen = data.subarray(0, rest.length);
      if (seen.equals(rest.subarray(0, seen.length))) {
        if (seen.length < rest.length) {
          this.#held = Buffer.concat([held, seen]);
          return data.subarray(data.length);
        }
        this.#held = EMPTY;
        return this.#partEnd(data.subarray(rest.length));
      }
      this.#held = EMPTY;
      this.#emit(held);
    }
    const at = data.indexOf(delimiter);
    if (at !== -1) {
      this.#emit(data.subarray(0, at));
      return this.#partEnd(data.subarray(at + delimiter.length));
    }
    const keep = heldTail(data, delimiter);
    this.#emit(data.subarray(0, data.length - keep));
    if (keep) this.#held = Buffer.from(data.subarray(data.length - keep));
    return data.subarray(data.length);
  }

  #fieldValue: Buffer[] = [];
  #fieldSize = 0;

  #emit(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.#state === 'file') {
      this.#on.fileData(bytes);
    } else if (this.#state === 'field') {
      this.#fieldSize += bytes.length;
      if (this.#fieldSize > MAX_FIELD) throw invalid(`Field "${this.#name}" too large`);
      this.#fieldValue.push(Buffer.from(bytes));
    }
  }

  #partEnd(rest: Buffer): Buffer {
    if (this.#state === 'field') this.#on.field(this.#name, Buffer.concat(this.#fieldValue).toString('utf8'));
    this.#fieldValue = [];
    this.#fieldSize = 0;
    this.#state = 'afterDelimiter';
    return rest;
  }
}

/** How many trailing bytes of `data` are a proper prefix of `delimiter` (0 almost always). */
function heldTail(data: Buffer, delimiter: Buffer): number {
  const start = Math.max(0, data.length - delimiter.length + 1);
  for (let at = data.indexOf(0x0d, start); at !== -1; at = data.indexOf(0x0d, at + 1)) {
    if (data.subarray(at).equals(delimiter.subarray(0, data.length - at))) return data.length - at;
  }
  return 0;
}
