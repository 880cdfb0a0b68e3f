/**
 * The `http` provider (also `https`), read-only: files under a base URL, as the platform's Python
 * SDK reads them (`base_url`, `timeout` in seconds, `headers`). Only files are read; a web server
 * has no listing, so `list` fails with `unsupported`. Headers and credentials in the URL are sent,
 * never shown: messages and `locate` name the URL without them.
 */
import { type Readable, Transform } from 'node:stream';
import { Agent, type Dispatcher, request } from 'undici';
import { redactUrl } from '../clients/safe-fetch/index.ts';
import {
  redactedCause,
  type StorageEntry,
  StorageError,
  type StorageProvider,
  storagePath,
} from './provider.ts';

export interface HttpStorageOptions {
  baseUrl: string;
  /** Sent with every request (an `Authorization` header, say); never shown. */
  headers?: Record<string, string>;
  /** Connecting, and each wait for headers or body data, in seconds (default 30). */
  timeoutSeconds?: number;
  /** The largest file read, in bytes (default 16 GiB). */
  maxBytes?: number;
}

const MAX_REDIRECTS = 5;

export class HttpStorage implements StorageProvider {
  readonly writable = false;
  readonly #base: URL;
  readonly #headers: Record<string, string>;
  readonly #secrets: string[];
  readonly #maxBytes: number;
  readonly #agent: Agent;

  constructor(
    options: HttpStorageOptions,
    readonly label: string,
  ) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new StorageError(`${label}: configuration.base_url is not a URL`, 'invalid');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new StorageError(
        `${label}: configuration.base_url must start with http:// or https://`,
        'invalid',
      );
    const headers = { ...options.headers };
    const secrets: string[] = [];
    // Credentials in the URL travel as a header instead: the URL is shown, the header is not.
    if (base.username || base.password) {
      const user = decodeURIComponent(base.username);
      const password = decodeURIComponent(base.password);
      secrets.push(password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      base.username = '';
      base.password = '';
    }
    if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
    base.hash = '';
    this.#base = base;
    this.#headers = headers;
    // A header's value and its parts (`Bearer <token>`), masked wherever a library repeats them.
    this.#secrets = [
      ...secrets,
      ...Object.values(headers).flatMap((value) => [value, ...value.split(/\s+/)]),
    ];
    this.#maxBytes = options.maxBytes ?? 16 * 1024 ** 3;
    const ms = (options.timeoutSeconds ?? 30) * 1000;
    this.#agent = new Agent({ connect: { timeout: ms }, headersTimeout: ms, bodyTimeout: ms });
  }

  async check(): Promise<void> {
    // Any answer but a refusal proves the server is there: a base URL need not be a page itself.
    const res = await this.#request('HEAD', '');
    res.body.resume();
    if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode >= 500)
      throw this.#status(res.statusCode, '');
  }

  async write(path: string): Promise<void> {
    throw this.#readOnly(path);
  }

  async read(path: string): Promise<Readable> {
    const res = await this.#request('GET', path);
    if (res.statusCode !== 200) {
      res.body.resume();
      throw this.#status(res.statusCode, path);
    }
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && length > this.#maxBytes) {
      // Dropped unread: the connection is closed rather than drained of a body too large.
      res.body.on('error', () => {}).destroy();
      throw new StorageError(`${this.label}: ${path} is larger than ${this.#maxBytes} bytes`, 'invalid');
    }
    // Counted as it streams too: a server may send no length, or more than it announced.
    let seen = 0;
    const limit = this.#maxBytes;
    const label = this.label;
    const body = res.body;
    const bounded = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        if (seen > limit)
          done(new StorageError(`${label}: ${path} is larger than ${limit} bytes`, 'invalid'));
        else done(null, chunk);
      },
    });
    body.on('error', (err) => bounded.destroy(this.#network(err, path)));
    // A reader that stops early, or a body too large, ends the response (and its connection) too.
    bounded.on('close', () => body.destroy());
    return body.pipe(bounded);
  }

  async exists(path: string): Promise<boolean> {
    if (storagePath(path, this.label) === '') return false;
    const res = await this.#request('HEAD', path);
    res.body.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404 || res.statusCode === 410) return false;
    throw this.#status(res.statusCode, path);
  }

  // biome-ignore lint/correctness/useYield: it only fails, and is an iterable like the others
  async *list(prefix: string): AsyncIterable<StorageEntry> {
    storagePath(prefix, this.label);
    throw new StorageError(`${this.label}: an HTTP storage cannot list its files`, 'unsupported');
  }

  async remove(path: string): Promise<void> {
    throw this.#readOnly(path);
  }

  locate(path: string): string {
    return redactUrl(this.#url(path));
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** The URL of `path` under the base, each segment percent-encoded. */
  #url(path: string): URL {
    const relative = storagePath(path, this.label);
    const url = new URL(relative.split('/').map(encodeURIComponent).join('/'), this.#base);
    return url;
  }

  /** One request, redirects followed while they stay under the base URL. */
  async #request(method: 'GET' | 'HEAD', path: string): Promise<Dispatcher.ResponseData> {
    let url = this.#url(path);
    for (let hop = 0; ; hop++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, { method, headers: this.#headers, dispatcher: this.#agent });
      } catch (err) {
        throw this.#network(err, path);
      }
      const location = res.headers.location;
      if (res.statusCode < 300 || res.statusCode >= 400 || typeof location !== 'string') return res;
      res.body.resume();
      const next = new URL(location, url);
      // The headers (credentials) go to the base's server only, and paths stay in the root.
      if (next.origin !== this.#base.origin || !next.pathname.startsWith(this.#base.pathname))
        throw new StorageError(
          `${this.label}: ${path} redirects out of the storage's base URL`,
          'unsafe_path',
        );
      if (hop >= MAX_REDIRECTS)
        throw new StorageError(
          `${this.label}: ${path} redirects more than ${MAX_REDIRECTS} times`,
          'invalid',
        );
      url = next;
    }
  }

  #status(status: number, path: string): StorageError {
    const what = path ? path : 'its base URL';
    if (status === 401 || status === 403)
      return new StorageError(`${this.label}: the server refused access to ${what} (${status})`, 'refused');
    if (status === 404 || status === 410)
      return new StorageError(`${this.label}: no file ${path}`, 'not_found');
    if (status >= 500)
      return new StorageError(`${this.label}: the server failed on ${what} (${status})`, 'unreachable');
    return new StorageError(`${this.label}: the server answered ${status} for ${what}`, 'invalid');
  }

  #network(err: unknown, path: string): StorageError {
    if (err instanceof StorageError) return err;
    const cause = redactedCause(err, this.#secrets);
    const code = (err as { code?: unknown }).code;
    return new StorageError(
      `${this.label}: ${redactUrl(this.#base)} could not be reached${typeof code === 'string' ? ` (${code})` : ''}${path ? ` for ${path}` : ''}`,
      'unreachable',
      { cause },
    );
  }

  #readOnly(path: string): StorageError {
    return new StorageError(
      `${this.label}: an HTTP storage is read-only (cannot change ${path})`,
      'read_only',
    );
  }
}
